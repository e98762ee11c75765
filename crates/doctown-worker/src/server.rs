//! The server every worker runs: health and ping, the worker's routes, CORS, JSON errors, and a
//! graceful shutdown.

use std::io::IsTerminal;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::error::QueryPayloadError;
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{App, HttpResponse, HttpServer, ResponseError, web};
use doctown_events::ErrorInfo;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::error::{ApiError, json_payload_error};
use crate::settings::ServeSettings;

/// Who the worker is, as `/health` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// The binary's name, such as `doctown-ingest`.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
    /// The request body limit when the settings give none.
    pub default_max_body_bytes: usize,
    /// The address listened on when the settings give none.
    pub default_bind: IpAddr,
}

impl Identity {
    /// Every interface: what a worker in a container needs.
    pub const ALL_INTERFACES: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
    /// This machine only.
    pub const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
}

/// Whether the worker can take work: `/ping` answers 200 once ready, 204 (RunPod's
/// "initializing") before. It also holds what `/health` reports beyond name and version (the
/// model and device of the embedding worker, say).
#[derive(Debug, Clone, Default)]
pub struct Readiness(
    Arc<AtomicBool>,
    Arc<std::sync::Mutex<serde_json::Map<String, serde_json::Value>>>,
);

impl Readiness {
    /// Ready from the start, for workers with nothing to load.
    pub fn ready() -> Self {
        let readiness = Self::default();
        readiness.set_ready();
        readiness
    }

    /// Marks the worker ready.
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether it is.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Adds `key: value` to what `/health` reports.
    pub fn set_detail(&self, key: &str, value: serde_json::Value) {
        if let Ok(mut details) = self.1.lock() {
            details.insert(key.to_owned(), value);
        }
    }

    fn details(&self) -> serde_json::Map<String, serde_json::Value> {
        self.1.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

/// The worker's jobs: the shutdown that cancels them all (on SIGTERM or Ctrl-C), and how their
/// streams are kept alive.
#[derive(Debug, Clone)]
pub struct Jobs {
    shutdown: CancellationToken,
    keep_alive: Duration,
}

impl Jobs {
    /// Jobs whose idle streams send a keep-alive after `keep_alive` of silence.
    pub fn new(keep_alive: Duration) -> Self {
        Self {
            shutdown: CancellationToken::new(),
            keep_alive,
        }
    }

    /// A token for one job: cancelled at shutdown, or on its own when its client goes away.
    pub fn job_token(&self) -> CancellationToken {
        self.shutdown.child_token()
    }

    /// How long a stream stays silent before a keep-alive.
    pub fn keep_alive(&self) -> Duration {
        self.keep_alive
    }

    /// Whether shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    /// Why a cancelled job stopped, for its failed completion.
    pub fn reason(&self) -> ErrorInfo {
        if self.is_shutting_down() {
            ErrorInfo::new(
                "shutting_down",
                "the worker is shutting down; submit the job again",
            )
        } else {
            ErrorInfo::new("cancelled", "the client disconnected; the job was stopped")
        }
    }

    /// Begins the shutdown.
    pub fn shut_down(&self) {
        self.shutdown.cancel();
    }
}

/// What the built-in routes read.
#[derive(Debug, Clone)]
struct Status {
    identity: Identity,
    readiness: Readiness,
}

/// Logs to stderr, at `info` unless `RUST_LOG` says otherwise.
pub fn init_logging() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// Runs the worker's server on this thread until SIGTERM or Ctrl-C (see [`serve`]); gives the
/// process's exit code, having printed why when it could not serve.
pub fn run<F>(
    identity: Identity,
    settings: &ServeSettings,
    readiness: Readiness,
    routes: F,
) -> std::process::ExitCode
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    run_with_stop(identity, settings, readiness, routes, || async {})
}

/// [`run`], with `stopping` awaited first when a stop is asked for, while every stream is still
/// open: what it sends them (a job's last events, say) reaches them before they are ended.
pub fn run_with_stop<F, S, Fut>(
    identity: Identity,
    settings: &ServeSettings,
    readiness: Readiness,
    routes: F,
    stopping: S,
) -> std::process::ExitCode
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    S: FnOnce() -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let served = serve(identity, settings, readiness, routes, stopping);
    match actix_web::rt::System::new().block_on(served) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A runtime with one thread of its own, for work that must not wait on the HTTP threads (an
/// ingest job's downloads, the embedding batcher).
pub fn background_runtime(name: &str) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(name)
        .enable_all()
        .build()
}

/// Serves `routes` with the built-in ones until SIGTERM or Ctrl-C, then shuts down gracefully:
/// running jobs are cancelled (and end with a failed completion), no new connection is taken,
/// and streams still open get the grace period to finish. Handlers reach the jobs as
/// `web::Data<Jobs>`.
async fn serve<F, S, Fut>(
    identity: Identity,
    settings: &ServeSettings,
    readiness: Readiness,
    routes: F,
    stopping: S,
) -> std::io::Result<()>
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    S: FnOnce() -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let status = web::Data::new(Status {
        identity,
        readiness,
    });
    let body_limit = settings
        .max_body_bytes
        .unwrap_or(identity.default_max_body_bytes);
    let bind = settings.address(identity.default_bind);
    let origins = settings.cors_origins.clone();
    let jobs = Jobs::new(settings.keep_alive());
    let app_jobs = web::Data::new(jobs.clone());
    let app_status = status.clone();
    let main = HttpServer::new(move || {
        App::new()
            .wrap(cors(&origins))
            // Outermost, so that it also sees what CORS refuses.
            .wrap(ErrorHandlers::new().default_handler(json_errors))
            .app_data(app_status.clone())
            .app_data(app_jobs.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(body_limit)
                    .error_handler(json_payload_error),
            )
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .configure(status_routes)
            .configure(routes.clone())
            .default_service(web::to(not_found))
    })
    .workers(settings.http_workers.max(1))
    .disable_signals()
    .shutdown_timeout(settings.shutdown_grace_secs)
    .bind((bind, settings.port))
    .map_err(|err| cannot_listen(bind, settings.port, "PORT", err))?;
    // Before "listening on", which is what a supervisor (or a test) waits for.
    warn_if_reachable(bind);
    for address in main.addrs() {
        tracing::info!(worker = identity.name, "listening on http://{address}");
    }
    let main = main.run();
    let mut handles = vec![main.handle()];
    let mut servers = vec![main];
    if let Some(port) = settings.health_port {
        let health_status = status.clone();
        let health = HttpServer::new(move || {
            App::new()
                .app_data(health_status.clone())
                .configure(status_routes)
                .default_service(web::to(not_found))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(settings.shutdown_grace_secs)
        .bind((bind, port))
        .map_err(|err| cannot_listen(bind, port, "PORT_HEALTH", err))?;
        for address in health.addrs() {
            tracing::info!(worker = identity.name, "health on http://{address}");
        }
        let health = health.run();
        handles.push(health.handle());
        servers.push(health);
    }
    actix_web::rt::spawn(async move {
        stop_signal().await;
        tracing::info!("shutting down: ending running jobs, then closing");
        stopping().await;
        jobs.shut_down();
        for handle in handles {
            handle.stop(true).await;
        }
    });
    for result in futures_util::future::join_all(servers).await {
        result?;
    }
    Ok(())
}

/// A bind failure that says which setting to change.
fn cannot_listen(bind: IpAddr, port: u16, variable: &str, err: std::io::Error) -> std::io::Error {
    std::io::Error::new(
        err.kind(),
        format!("cannot listen on {bind}:{port}: {err}; set {variable} to a free port"),
    )
}

/// Says so when other machines can reach the server: Doctown has no authentication yet, so
/// whoever reaches it can submit jobs and read every job.
fn warn_if_reachable(bind: IpAddr) {
    if !bind.is_loopback() {
        tracing::warn!(
            "bound to {bind}, which other machines can reach, and Doctown has no \
             authentication yet: anyone who can connect can submit jobs and read every job and \
             docpack; set DOCTOWN_BIND=127.0.0.1 (--bind) to serve this machine only, or put the \
             server behind a proxy that authenticates"
        );
    }
}

/// Resolves on SIGTERM (how containers are stopped) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(err) => {
                tracing::warn!(%err, "cannot listen for SIGTERM; only Ctrl-C stops the worker");
                tokio::signal::ctrl_c().await.ok();
            }
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.ok();
}

/// CORS for `origins` (`*` for any); none configured means no cross-origin access.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods(["GET", "POST", "DELETE", "OPTIONS"])
        .allowed_headers(["content-type", "authorization", "last-event-id"])
        .max_age(3600);
    for origin in origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

/// Turns an error answer that is not JSON (actix's own, such as a refused CORS preflight) into
/// the JSON body every error has, keeping its status and its words.
fn json_errors<B>(response: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>>
where
    B: MessageBody + 'static,
{
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    Ok(ErrorHandlerResponse::Future(Box::pin(async move {
        let status = response.status();
        let (request, answer) = response.into_parts();
        let said = actix_web::body::to_bytes(answer.into_body())
            .await
            .map(|body| String::from_utf8_lossy(&body).trim().to_owned())
            .unwrap_or_default();
        let reason = status.canonical_reason().unwrap_or("error");
        let code = reason.to_ascii_lowercase().replace([' ', '-'], "_");
        let message = if said.is_empty() {
            reason.to_owned()
        } else {
            said
        };
        let error = ApiError::new(status, &code, message).error_response();
        Ok(ServiceResponse::new(request, error).map_into_right_body())
    })))
}

/// Answers a query string that does not fit the route's parameters.
fn query_error(err: QueryPayloadError, _: &actix_web::HttpRequest) -> actix_web::Error {
    let reason = match &err {
        QueryPayloadError::Deserialize(inner) => inner.to_string(),
        other => other.to_string(),
    };
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_query",
        format!("the query string is not valid: {reason}; see the API's description of this route"),
    )
    .into()
}

/// `GET /health` and `GET /ping`.
fn status_routes(config: &mut web::ServiceConfig) {
    config
        .route("/health", web::get().to(health))
        .route("/ping", web::get().to(ping));
}

async fn health(status: web::Data<Status>) -> HttpResponse {
    let mut body = serde_json::Map::new();
    body.insert("status".into(), json!("ok"));
    body.insert("worker".into(), json!(status.identity.name));
    body.insert("version".into(), json!(status.identity.version));
    body.insert("ready".into(), json!(status.readiness.is_ready()));
    body.extend(status.readiness.details());
    HttpResponse::Ok().json(body)
}

async fn ping(status: web::Data<Status>) -> HttpResponse {
    if status.readiness.is_ready() {
        HttpResponse::Ok().json(json!({ "status": "ready" }))
    } else {
        HttpResponse::NoContent().finish()
    }
}

/// The JSON 404 of a path no route serves.
pub async fn not_found(request: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route for {} {}; see GET /health",
            request.method(),
            request.path()
        ),
    ))
}
