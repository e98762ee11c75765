//! `POST /ingest`: the request, its validation, and the job streamed back.

use actix_web::{HttpResponse, web};
use doctown_common::JobId;
use doctown_contracts::ingest::IngestRequest;
use doctown_contracts::{Contract, Ingest};
use doctown_events::{EventContext, EventEmitter};
use doctown_ingest::{IngestJob, IngestSettings, run_job};
use doctown_worker::{ApiError, Jobs, ValidJson, stream_job};
use tokio::runtime::Handle;

/// The `producer_version` of every event this worker sends.
const PRODUCER: &str = concat!("doctown-ingest/", env!("CARGO_PKG_VERSION"));

/// What the worker needs for every job.
#[derive(Debug, Clone)]
pub(crate) struct IngestService {
    settings: IngestSettings,
    downloads: Handle,
}

/// The job `request` asks for, or a 422 naming the field at fault.
fn job(request: IngestRequest, settings: &IngestSettings) -> Result<(JobId, IngestJob), ApiError> {
    let job = settings
        .github_job(&request.repo_url, request.git_ref.as_deref())
        .map_err(|err| ApiError::invalid_field(err.field, err.message))?;
    Ok((request.job_id.unwrap_or_else(JobId::generate), job))
}

impl IngestService {
    /// The service, downloading on `downloads`.
    pub(crate) fn new(settings: IngestSettings, downloads: Handle) -> Self {
        Self {
            settings,
            downloads,
        }
    }

    /// Adds `POST /ingest`.
    pub(crate) fn configure(&self, config: &mut web::ServiceConfig) {
        config
            .app_data(web::Data::new(self.clone()))
            .route(Ingest::PATH, web::post().to(ingest));
    }
}

/// `POST /ingest`: validates the request and streams the job's events.
async fn ingest(
    service: web::Data<IngestService>,
    jobs: web::Data<Jobs>,
    ValidJson(request): ValidJson<IngestRequest>,
) -> Result<HttpResponse, ApiError> {
    let (job_id, job) = job(request, &service.settings)?;
    if jobs.is_shutting_down() {
        return Err(ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the worker is shutting down; submit the job again",
        ));
    }
    let context = EventContext {
        repo_url: Some(job.source.to_string()),
        git_ref: job.git_ref.clone(),
        user_id: None,
    };
    let downloads = service.downloads.clone();
    let reasons = jobs.get_ref().clone();
    tracing::info!(%job_id, source = %job.source, "ingest job started");
    Ok(stream_job(&jobs, move |sink, cancel| {
        let emitter = EventEmitter::new(job_id, context, PRODUCER);
        let result = run_job(
            &job,
            &emitter,
            &downloads,
            &cancel,
            &|| reasons.reason(),
            &mut |envelope| sink.send(envelope),
        );
        match result {
            Ok(totals) => tracing::info!(
                %job_id,
                files = totals.files,
                chunks = totals.chunks,
                duration_ms = totals.duration_ms,
                "ingest job completed"
            ),
            Err(error) => {
                tracing::warn!(%job_id, code = %error.code, message = %error.message, "ingest job failed")
            }
        }
    }))
}
