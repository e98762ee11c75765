//! A request's input as a worker receives it: in the body, or kept as an artifact in a store
//! the worker shares with its caller.

use actix_web::http::StatusCode;
use doctown_common::{Artifact, JobId};
use doctown_contracts::{BadField, Received, Sent};
use doctown_storage::{Store, get_json};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// The value of `artifact`, which the request named in `field`, read from `store`; a 422
/// `storage_failed` (saying to share the caller's store) when it cannot be read, so the caller
/// can send the input inline instead.
pub async fn read_artifact<T: DeserializeOwned>(
    store: &dyn Store,
    artifact: &Artifact,
    field: &str,
) -> Result<T, ApiError> {
    get_json(store, artifact).await.map_err(|err| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "storage_failed",
            format!(
                "{err}; give this worker the storage its caller writes to (the same DOCTOWN_S3_* \
                 bucket or DOCTOWN_STORAGE_DIR), or send the input inline"
            ),
        )
        .with_field(field)
    })
}

/// The job (a new one when the request names none) and the input a request gave, read from
/// `store` when it was stored there; a 400 naming a missing field, a 422 naming one given
/// twice or an artifact that cannot be read.
pub async fn receive<T: DeserializeOwned>(
    received: Received<T>,
    store: &dyn Store,
) -> Result<(JobId, T), ApiError> {
    let (job_id, sent) = received.map_err(|bad| {
        let (status, code) = match bad {
            BadField::Missing(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            BadField::Doubled(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
        };
        ApiError::new(status, code, bad.to_string()).with_field(bad.field())
    })?;
    let input = match sent {
        Sent::Inline(input) => input,
        Sent::Stored(artifact) => read_artifact(store, &artifact, "input").await?,
    };
    Ok((job_id.unwrap_or_else(JobId::generate), input))
}
