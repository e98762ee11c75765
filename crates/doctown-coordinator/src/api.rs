//! The REST + SSE API (actix-web), beside the health and ping every Doctown server answers:
//! jobs submitted, listed, read and cancelled; a job's events streamed from its first, resuming
//! after `Last-Event-ID`; its docpack downloaded.

use std::sync::Arc;

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use doctown_common::JobId;
use doctown_events::Envelope;
use doctown_storage::{StorageError, verified};
use doctown_worker::{ApiError, Jobs, ValidJson, attachment, event_stream};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use crate::engine::{CancelError, Engine, SubmitError};
use crate::events::ends_job;
use crate::queue::Queue;
use crate::store::{JobStore, StoreError};

/// Jobs per page of `GET /jobs` unless `limit` says otherwise, and at most.
const PAGE: u32 = 20;
const PAGE_MAX: u32 = 100;

/// Events read from the store at once when a stream replays.
const REPLAY_PAGE: u32 = 500;

/// The API's routes: method, path and handler, in one table that `configure` serves and the
/// OpenAPI document (`docs/openapi.json`) is checked against.
fn routes<Q: Queue + 'static, S: JobStore>() -> Vec<(Method, &'static str, actix_web::Route)> {
    vec![
        (Method::POST, "/jobs", web::route().to(submit::<Q, S>)),
        (Method::GET, "/jobs", web::route().to(list::<Q, S>)),
        (Method::GET, "/jobs/{job_id}", web::route().to(show::<Q, S>)),
        (
            Method::DELETE,
            "/jobs/{job_id}",
            web::route().to(cancel::<Q, S>),
        ),
        (
            Method::GET,
            "/jobs/{job_id}/events",
            // Compressed when the client accepts it; each event is flushed as it is sent.
            web::route()
                .to(events::<Q, S>)
                .wrap(actix_web::middleware::Compress::default()),
        ),
        (
            Method::GET,
            "/jobs/{job_id}/docpack",
            web::route().to(docpack::<Q, S>),
        ),
    ]
}

/// Adds the API's routes for `engine`.
pub fn configure<Q: Queue + 'static, S: JobStore>(
    engine: Arc<Engine<Q, S>>,
    config: &mut web::ServiceConfig,
) {
    config.app_data(web::Data::from(engine));
    for (method, path, route) in routes::<Q, S>() {
        config.route(path, route.method(method));
    }
}

fn unavailable(err: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        err.to_string(),
    )
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        unavailable(err)
    }
}

fn storage_failed(err: StorageError) -> ApiError {
    ApiError::new(StatusCode::BAD_GATEWAY, "storage_failed", err.to_string())
}

fn parse_job_id(id: &str) -> Result<JobId, ApiError> {
    id.parse().map_err(|err| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("`{id}` is not a job id ({err}); job ids are the UUIDs POST /jobs gives"),
        )
    })
}

fn no_job(job_id: JobId) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("there is no job {job_id}; see GET /jobs"),
    )
}

/// The body of `POST /jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitRequest {
    /// A GitHub repository URL.
    repo_url: String,
    /// A branch, tag or commit overriding the URL's.
    #[serde(default)]
    git_ref: Option<String>,
}

/// `POST /jobs`: 202 with where to follow the job.
async fn submit<Q: Queue + 'static, S: JobStore>(
    engine: web::Data<Engine<Q, S>>,
    ValidJson(body): ValidJson<SubmitRequest>,
) -> Result<HttpResponse, ApiError> {
    let job = engine
        .submit(&body.repo_url, body.git_ref.as_deref())
        .await
        .map_err(|err| match err {
            SubmitError::Invalid(invalid) => {
                ApiError::invalid_field(invalid.field, invalid.message)
            }
            other => unavailable(other),
        })?;
    let status_url = format!("/jobs/{}", job.job_id);
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, status_url.clone()))
        .json(json!({
            "job_id": job.job_id,
            "status": job.status,
            "status_url": status_url,
            "events_url": format!("/jobs/{}/events", job.job_id),
        })))
}

/// The query of `GET /jobs`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    /// Jobs per page (1 to 100).
    limit: Option<u32>,
    /// The last job of the previous page.
    after: Option<String>,
}

/// `GET /jobs`: the newest first, a page at a time; `next` is the `after` of the next page.
async fn list<Q: Queue + 'static, S: JobStore>(
    engine: web::Data<Engine<Q, S>>,
    query: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let limit = query.limit.unwrap_or(PAGE);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            format!("`limit` is {limit}; give 1 to {PAGE_MAX}"),
        ));
    }
    let after = query
        .after
        .as_deref()
        .map(|id| {
            id.parse::<JobId>().map_err(|err| {
                ApiError::invalid_field("after", format!("`after` is not a job id: {err}"))
            })
        })
        .transpose()?;
    let jobs = engine.store().jobs(limit, after).await?;
    let next = (jobs.len() == limit as usize)
        .then(|| jobs.last().map(|job| job.job_id))
        .flatten();
    Ok(HttpResponse::Ok().json(json!({ "jobs": jobs, "next": next })))
}

/// A job with its docpack, as `GET /jobs/{id}` shows it.
async fn job_body(store: &impl JobStore, job_id: JobId) -> Result<serde_json::Value, ApiError> {
    let job = store.job(job_id).await?.ok_or_else(|| no_job(job_id))?;
    let docpack = store.docpack(job_id).await?;
    let mut body = serde_json::to_value(&job).map_err(unavailable)?;
    body["docpack"] = match docpack {
        Some(docpack) => json!({
            "docpack_id": docpack.docpack_id,
            "checksum": docpack.checksum,
            "size_bytes": docpack.size_bytes,
            "url": format!("/jobs/{job_id}/docpack"),
        }),
        None => serde_json::Value::Null,
    };
    Ok(body)
}

/// `GET /jobs/{id}`.
async fn show<Q: Queue + 'static, S: JobStore>(
    engine: web::Data<Engine<Q, S>>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let job_id = parse_job_id(&id)?;
    Ok(HttpResponse::Ok().json(job_body(engine.store(), job_id).await?))
}

/// `DELETE /jobs/{id}`: 202 with the cancelled job; 409 when it had ended.
async fn cancel<Q: Queue + 'static, S: JobStore>(
    engine: web::Data<Engine<Q, S>>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let job_id = parse_job_id(&id)?;
    match engine.cancel(job_id).await {
        Ok(_) => Ok(HttpResponse::Accepted().json(job_body(engine.store(), job_id).await?)),
        Err(CancelError::NotFound(_)) => Err(no_job(job_id)),
        Err(err @ CancelError::Ended(..)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "job_ended",
            err.to_string(),
        )),
        Err(CancelError::Store(err)) => Err(err.into()),
    }
}

/// The query of `GET /jobs/{id}/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resume {
    /// Start after this sequence number (what `Last-Event-ID` says, for clients that cannot
    /// set headers).
    after: Option<u64>,
}

/// `GET /jobs/{id}/events`: every event of the job in order as Server-Sent Events, from the
/// first (or after `Last-Event-ID`), then live; the stream ends after `job.completed`.
async fn events<Q: Queue + 'static, S: JobStore>(
    engine: web::Data<Engine<Q, S>>,
    jobs: web::Data<Jobs>,
    request: HttpRequest,
    id: web::Path<String>,
    query: web::Query<Resume>,
) -> Result<HttpResponse, ApiError> {
    let job_id = parse_job_id(&id)?;
    engine
        .store()
        .job(job_id)
        .await?
        .ok_or_else(|| no_job(job_id))?;
    let last_event_id = request
        .headers()
        .get("last-event-id")
        .map(|value| {
            value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_header",
                        "`Last-Event-ID` is not an event's sequence number",
                    )
                })
        })
        .transpose()?;
    let after = last_event_id.or(query.after).unwrap_or(0);
    // Watch before reading the history, so no event falls between the two.
    let live = engine.events().subscribe();
    let (sender, receiver) = mpsc::channel(256);
    let token = jobs.job_token();
    let on_disconnect = token.clone().drop_guard();
    let store = engine.store().clone();
    actix_web::rt::spawn(async move {
        if let Err(err) = follow(&store, job_id, after, live, &sender, &token).await {
            tracing::warn!(%job_id, "an event stream ended early: {err}");
        }
    });
    Ok(event_stream(receiver, on_disconnect, jobs.keep_alive()))
}

/// Sends the job's events after `after` to `sender`: the stored ones, then the live ones,
/// reading the store again whenever the live ones skip a number (a watcher fallen behind, or
/// two appends arriving out of order); ends after `job.completed` (at once when `after` is at
/// or past it), or when `stop` is cancelled (the client went away).
async fn follow(
    store: &impl JobStore,
    job_id: JobId,
    mut after: u64,
    mut live: broadcast::Receiver<Arc<Envelope>>,
    sender: &mpsc::Sender<Envelope>,
    stop: &CancellationToken,
) -> Result<(), StoreError> {
    // Sends `envelope` if it is the next; gives whether the stream is over.
    async fn send(envelope: Envelope, after: &mut u64, sender: &mpsc::Sender<Envelope>) -> bool {
        *after = envelope.sequence;
        let last = ends_job(&envelope);
        sender.send(envelope).await.is_err() || last
    }
    let mut replay = true;
    loop {
        if replay {
            loop {
                let page = store.events_after(job_id, after, REPLAY_PAGE).await?;
                let full = page.len() == REPLAY_PAGE as usize;
                for envelope in page {
                    if send(envelope, &mut after, sender).await {
                        return Ok(());
                    }
                }
                if !full {
                    break;
                }
            }
            replay = false;
            // A finished job's stream resumed at or past its end (what a browser's EventSource
            // does when it reconnects after `job.completed`) has nothing more to come.
            if store
                .stream_end(job_id)
                .await?
                .is_some_and(|end| end <= after)
            {
                return Ok(());
            }
        }
        let received = tokio::select! {
            // What was sent before a stop (an interrupted job's last events) goes out first.
            biased;
            received = live.recv() => received,
            () = stop.cancelled() => return Ok(()),
        };
        match received {
            Ok(envelope) if envelope.job_id != job_id || envelope.sequence <= after => {}
            Ok(envelope) if envelope.sequence == after + 1 => {
                if send(Envelope::clone(&envelope), &mut after, sender).await {
                    return Ok(());
                }
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => replay = true,
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        }
    }
}

/// `GET /jobs/{id}/docpack`: a redirect to a pre-signed URL when the store makes them, else
/// the file.
async fn docpack<Q: Queue + 'static, S: JobStore>(
    engine: web::Data<Engine<Q, S>>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let job_id = parse_job_id(&id)?;
    let job = engine
        .store()
        .job(job_id)
        .await?
        .ok_or_else(|| no_job(job_id))?;
    let Some(docpack) = engine.store().docpack(job_id).await? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_docpack",
            format!(
                "job {job_id} is {} and has no docpack; follow it at /jobs/{job_id}/events",
                job.status
            ),
        ));
    };
    let storage = engine.storage();
    let gone = || {
        ApiError::new(
            StatusCode::GONE,
            "docpack_gone",
            format!(
                "the docpack of job {job_id} is no longer in storage ({}); submit the job again",
                docpack.storage_key
            ),
        )
    };
    if let Some(url) = storage
        .download_url(&docpack.storage_key)
        .await
        .map_err(storage_failed)?
    {
        // The store serves the bytes; its key is their checksum, and its size is checked here.
        let size = storage
            .size(&docpack.storage_key)
            .await
            .map_err(storage_failed)?
            .ok_or_else(gone)?;
        if size != docpack.size_bytes {
            return Err(storage_failed(StorageError::Mismatch {
                key: docpack.storage_key,
                what: format!("{size} bytes instead of {}", docpack.size_bytes),
            }));
        }
        return Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, url))
            .finish());
    }
    let object = storage
        .open(&docpack.storage_key)
        .await
        .map_err(storage_failed)?
        .ok_or_else(gone)?;
    // What is sent is what the job recorded: its size checked now, its checksum as it streams.
    let object = verified(
        &docpack.storage_key,
        object,
        Some(docpack.size_bytes),
        &docpack.checksum,
    )
    .map_err(storage_failed)?;
    Ok(attachment(
        &format!("{}.docpack", docpack.docpack_id),
        "application/gzip",
        object.size,
        object.body,
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::MemoryQueue;

    #[test]
    fn the_openapi_document_describes_exactly_the_routes_served() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        let document: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut documented = BTreeSet::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if method == "parameters" {
                    continue;
                }
                assert!(
                    operation["responses"]
                        .as_object()
                        .is_some_and(|r| !r.is_empty()),
                    "{method} {path} documents no response"
                );
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        // Health and ping come with every Doctown server.
        let mut served: BTreeSet<(String, String)> = [("GET", "/health"), ("GET", "/ping")]
            .into_iter()
            .map(|(m, p)| (m.to_owned(), p.to_owned()))
            .collect();
        served.extend(
            routes::<MemoryQueue, crate::MemoryStore>()
                .into_iter()
                .map(|(method, path, _)| (method.to_string(), path.to_owned())),
        );
        assert_eq!(documented, served);
    }
}
