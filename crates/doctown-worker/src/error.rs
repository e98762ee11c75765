//! Errors as every worker answers them, and request bodies read so that a bad field is named.

use std::fmt;

use actix_web::error::JsonPayloadError;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev, web};
use futures_util::future::LocalBoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An error answer: `{"error": {"code", "message", "field"?}}` with its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    status: StatusCode,
    /// A stable snake_case code.
    pub code: String,
    /// What was wrong and what to do, in a sentence.
    pub message: String,
    /// The request field at fault, as a path (`repo_url`, `chunks[3].vector`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// An error with `status`, `code` and `message`.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_owned(),
            message: message.into(),
            field: None,
        }
    }

    /// 422: the body is well-formed but `field`'s value is refused.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).with_field(field)
    }

    /// The error, naming `field`.
    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(serde_json::json!({ "error": self }))
    }
}

/// Whether the request's `Accept` header names `media_type` (`text/event-stream`, say).
pub fn accepts(request: &HttpRequest, media_type: &str) -> bool {
    request
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains(media_type))
}

/// A JSON request body of type `T`. A body that is not JSON, too large or not sent as JSON is
/// refused with 400, 413 or 415; one of the wrong shape with 400 naming the field at fault.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let value = web::Json::<serde_json::Value>::from_request(request, payload);
        Box::pin(async move {
            let web::Json(value) = value.await?;
            if !value.is_object() {
                // serde reads a struct from an array too; every request body is an object.
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "the request body is not a JSON object; send an object with the fields this \
                     route takes",
                )
                .into());
            }
            from_value(value).map(ValidJson).map_err(Into::into)
        })
    }
}

/// Reads `value` as a `T`, naming the field at fault when it does not fit.
fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        // A missing field is reported at its parent; name the field itself.
        let missing = inner
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next())
            .map(|name| match path.as_str() {
                "." => name.to_owned(),
                parent => format!("{parent}.{name}"),
            });
        let field = missing.or((path != ".").then_some(path));
        let message = match (&field, inner.starts_with("missing field")) {
            (Some(field), true) => format!("the request has no `{field}`; it is required"),
            (Some(field), false) => format!("the request's `{field}` is not valid: {inner}"),
            (None, _) => format!("the request body is not valid: {inner}"),
        };
        let error = ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message);
        match field {
            Some(field) => error.with_field(&field),
            None => error,
        }
    })
}

/// Answers a body that could not be read as JSON, for [`web::JsonConfig::error_handler`].
pub(crate) fn json_payload_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let error = match &err {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the request body has {length} bytes, over the {limit}-byte limit; send less, or \
                 raise the server's DOCTOWN_MAX_BODY_BYTES"
            ),
        ),
        JsonPayloadError::Overflow { limit } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "the request body is over the {limit}-byte limit; send less, or raise the \
                 server's DOCTOWN_MAX_BODY_BYTES"
            ),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the request body as JSON, with `Content-Type: application/json`",
        ),
        JsonPayloadError::Deserialize(inner) | JsonPayloadError::Serialize(inner) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the request body is not valid JSON: {inner}"),
        ),
        other => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("the request body could not be read: {other}"),
        ),
    };
    error.into()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Request {
        repo_url: String,
        options: Option<Options>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Options {
        depth: u32,
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = from_value::<Request>(json!({})).unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert_eq!(err.field.as_deref(), Some("repo_url"));
        let err = from_value::<Request>(json!({"repo_url": "x", "options": {}})).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("options.depth"));
    }

    #[test]
    fn a_wrong_type_is_named_by_its_path() {
        let err = from_value::<Request>(json!({"repo_url": 3})).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("repo_url"));
        assert!(err.message.contains("invalid type: integer `3`"), "{err}");
        let err =
            from_value::<Request>(json!({"repo_url": "x", "options": {"depth": -1}})).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("options.depth"));
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let err = from_value::<Request>(json!({"repo_url": "x", "branch": "main"})).unwrap_err();
        assert!(err.message.contains("unknown field `branch`"), "{err}");
        assert_eq!(err.field.as_deref(), Some("branch"));
    }

    #[test]
    fn errors_serialize_under_one_key() {
        let err = ApiError::invalid_field("git_ref", "an empty reference");
        let body = serde_json::to_value(json!({ "error": err })).unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "invalid_field", "message": "an empty reference", "field": "git_ref"}})
        );
    }
}
