//! The language model client: async-openai against any OpenAI-compatible server, each request
//! retried (exponential backoff with jitter, `Retry-After` honoured) on 429, 5xx, refused
//! connections and timeouts, through a tower retry policy under async-openai's middleware.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::{HttpRequestFactory, ReqwestService};
use async_openai::types::chat::{
    ChatCompletionRequestUserMessageArgs, CreateChatCompletionRequestArgs,
};
use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::Response;
use tower::{BoxError, ServiceBuilder};

/// Where the model is and how it is asked.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// The API's base URL, up to and including `/v1`.
    pub base_url: String,
    /// The API key (any value for local servers that ignore it).
    pub api_key: Option<String>,
    /// The OpenAI organisation, when the key belongs to several.
    pub organization: Option<String>,
    /// The model asked for.
    pub model: String,
    /// Completion tokens at most per summary.
    pub max_output_tokens: u32,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// Attempts per summary, the first included.
    pub max_attempts: usize,
    /// The first retry's delay before jitter; each next one doubles it (at most 8 s).
    pub retry_base: Duration,
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// The text, as the model wrote it.
    pub text: String,
    /// Prompt tokens, as the server counted them.
    pub input_tokens: Option<u64>,
    /// Completion tokens, as the server counted them.
    pub output_tokens: Option<u64>,
}

/// Why a summary could not be had from the model.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct LlmError {
    message: String,
    refusal: bool,
}

impl LlmError {
    /// A failure of one request.
    pub(crate) fn failed(message: String) -> Self {
        Self {
            message,
            refusal: false,
        }
    }

    /// A failure every request would meet alike.
    fn refused(message: String) -> Self {
        Self {
            message,
            refusal: true,
        }
    }

    /// Whether every request would fail alike (the key or the model refused, nothing
    /// listening), so asking about the other symbols is pointless.
    pub fn is_refusal(&self) -> bool {
        self.refusal
    }
}

/// The longest `Retry-After` honoured; a server asking for more is retried sooner.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Retries one request while attempts remain and the failure is worth retrying.
#[derive(Debug, Clone)]
struct RetryPolicy {
    attempts_left: usize,
    retries: usize,
    backoff: ExponentialBuilder,
}

/// How long the server asked to wait (seconds form), when it did.
fn retry_after(response: &Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Whether a transport failure is worth another attempt: the attempt timed out, or the
/// connection failed or timed out.
fn transient(error: &BoxError) -> bool {
    if error.is::<tower::timeout::error::Elapsed>() {
        return true;
    }
    match error.downcast_ref::<OpenAIError>() {
        Some(OpenAIError::Reqwest(err)) => err.is_connect() || err.is_timeout(),
        _ => false,
    }
}

impl tower::retry::Policy<HttpRequestFactory, Response, BoxError> for RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        _request: &mut HttpRequestFactory,
        result: &mut Result<Response, BoxError>,
    ) -> Option<Self::Future> {
        let asked = match result {
            Ok(response)
                if response.status().as_u16() == 429 || response.status().is_server_error() =>
            {
                retry_after(response)
            }
            Err(error) if transient(error) => None,
            _ => return None,
        };
        if self.attempts_left <= 1 {
            return None;
        }
        self.attempts_left -= 1;
        let backoff = self
            .backoff
            .build()
            .nth(self.retries)
            .unwrap_or(Duration::from_secs(8));
        self.retries += 1;
        let delay = asked.map_or(backoff, |asked| asked.min(MAX_RETRY_AFTER));
        tracing::debug!(?delay, "retrying the model request");
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, request: &HttpRequestFactory) -> Option<HttpRequestFactory> {
        Some(request.clone())
    }
}

/// A client of one model.
#[derive(Debug, Clone)]
pub struct LlmClient {
    client: Client<OpenAIConfig>,
    config: LlmConfig,
}

impl LlmClient {
    /// The client `config` describes.
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let mut openai = OpenAIConfig::new().with_api_base(config.base_url.trim_end_matches('/'));
        if let Some(key) = &config.api_key {
            openai = openai.with_api_key(key);
        }
        if let Some(organization) = &config.organization {
            openai = openai.with_org_id(organization);
        }
        // The tower timeout bounds each attempt up to the answer's headers (and retries it);
        // this one bounds an answer whose body then stalls.
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(config.timeout.saturating_mul(2))
            .build()
            .map_err(|err| LlmError::failed(format!("cannot build the HTTP client: {err}")))?;
        let policy = RetryPolicy {
            attempts_left: config.max_attempts.max(1),
            retries: 0,
            backoff: ExponentialBuilder::default()
                .with_min_delay(config.retry_base)
                .with_max_delay(Duration::from_secs(8))
                .with_factor(2.0)
                .with_jitter()
                .without_max_times(),
        };
        let service = ServiceBuilder::new()
            .retry(policy)
            .timeout(config.timeout)
            .service(ReqwestService::new(http));
        let client = Client::with_config(openai).with_http_service(service);
        Ok(Self { client, config })
    }

    /// The model asked for.
    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// The most completion tokens one summary may take.
    pub fn max_output_tokens(&self) -> u32 {
        self.config.max_output_tokens
    }

    /// The model's answer to `prompt` (one user message, temperature 0), at most
    /// [`Self::max_output_tokens`] long.
    pub async fn complete(&self, prompt: &str) -> Result<Completion, LlmError> {
        self.complete_within(prompt, self.config.max_output_tokens)
            .await
    }

    /// The model's answer to `prompt`, at most `max_tokens` long.
    pub async fn complete_within(
        &self,
        prompt: &str,
        max_tokens: u32,
    ) -> Result<Completion, LlmError> {
        let invalid =
            |err: OpenAIError| LlmError::failed(format!("cannot build the request: {err}"));
        let request = CreateChatCompletionRequestArgs::default()
            .model(&self.config.model)
            .messages([ChatCompletionRequestUserMessageArgs::default()
                .content(prompt)
                .build()
                .map_err(invalid)?
                .into()])
            .max_tokens(max_tokens)
            .temperature(0.0)
            .build()
            .map_err(invalid)?;
        let response = self
            .client
            .chat()
            .create(request)
            .await
            .map_err(|err| self.explain(err))?;
        let text = response
            .choices
            .into_iter()
            .find_map(|choice| choice.message.content)
            .unwrap_or_default();
        Ok(Completion {
            text,
            input_tokens: response.usage.as_ref().map(|u| u64::from(u.prompt_tokens)),
            output_tokens: response
                .usage
                .as_ref()
                .map(|u| u64::from(u.completion_tokens)),
        })
    }

    /// What went wrong, in words that say what to check.
    fn explain(&self, err: OpenAIError) -> LlmError {
        let attempts = self.config.max_attempts.max(1);
        let base = &self.config.base_url;
        let model = &self.config.model;
        match err {
            OpenAIError::ApiError(api) if matches!(api.status_code.as_u16(), 401 | 403) => {
                LlmError::refused(format!(
                    "the model server at {base} refused the request ({}: {}); check DOCTOWN_LLM_API_KEY (and DOCTOWN_LLM_ORGANIZATION), or pass --offline",
                    api.status_code, api.api_error
                ))
            }
            OpenAIError::ApiError(api) if api.status_code.as_u16() == 404 => {
                LlmError::refused(format!(
                    "the model server at {base} answered 404 ({}): it has no model `{model}` or no chat completions there; check DOCTOWN_LLM_MODEL, and that DOCTOWN_LLM_BASE_URL ends where `/chat/completions` begins (usually `/v1`)",
                    api.api_error
                ))
            }
            OpenAIError::ApiError(api) => LlmError::failed(format!(
                "the model server at {base} answered {} ({}) after {attempts} attempt(s)",
                api.status_code, api.api_error
            )),
            OpenAIError::Boxed(boxed) if boxed.is::<tower::timeout::error::Elapsed>() => {
                LlmError::failed(format!(
                    "the model server at {base} did not answer within {} s, {attempts} time(s); raise DOCTOWN_LLM_TIMEOUT_SECS or check the server",
                    self.config.timeout.as_secs()
                ))
            }
            OpenAIError::Boxed(boxed) => match boxed.downcast::<OpenAIError>() {
                Ok(inner) => self.explain(*inner),
                Err(other) => LlmError::failed(format!("the request to {base} failed: {other}")),
            },
            OpenAIError::Reqwest(err) if err.is_connect() => LlmError::refused(format!(
                "cannot connect to the model server at {base} ({err}) after {attempts} attempt(s); start it, check DOCTOWN_LLM_BASE_URL, or pass --offline"
            )),
            OpenAIError::JSONDeserialize(err, body) => LlmError::failed(format!(
                "the model server at {base} answered something that is not a chat completion ({err}): {}",
                body.chars().take(200).collect::<String>()
            )),
            other => LlmError::failed(format!("the request to {base} failed: {other}")),
        }
    }
}
