//! `POST /assemble`.

use std::sync::Arc;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use doctown_assembly::{Assembly, AssemblyError, AssemblyOptions, assemble, validate};
use doctown_common::FileAnalysis;
use doctown_contracts::assemble::{AssembleRequest, EmbeddedChunk};
use doctown_contracts::{Assemble, Contract};
use doctown_events::{AssemblyCompleted, AssemblyStarted, ErrorInfo, EventContext, EventEmitter};
use doctown_storage::Store;
use doctown_worker::{ApiError, Jobs, ValidJson, accepts, receive, stream_task};

/// The `producer_version` of every event this worker sends.
const PRODUCER: &str = concat!("doctown-assembly/", env!("CARGO_PKG_VERSION"));

/// What every request needs.
#[derive(Debug, Clone)]
pub(crate) struct AssembleService {
    options: AssemblyOptions,
    store: Arc<dyn Store>,
}

impl AssembleService {
    /// The service assembling with `options`, reading inputs sent by reference from `store`.
    pub(crate) fn new(options: AssemblyOptions, store: Arc<dyn Store>) -> Self {
        Self { options, store }
    }

    /// Adds the routes.
    pub(crate) fn configure(&self, config: &mut web::ServiceConfig) {
        config
            .app_data(web::Data::new(self.clone()))
            .route(Assemble::PATH, web::post().to(assemble_request));
    }
}

/// The request field an assembly error is about.
fn field(err: &AssemblyError) -> String {
    match err {
        AssemblyError::Dimensions { index, .. } | AssemblyError::NotFinite { index } => {
            format!("chunks[{index}].vector")
        }
        AssemblyError::DuplicateChunk { index, .. } => format!("chunks[{index}].chunk_id"),
        AssemblyError::UnknownSymbol { index, .. } => format!("chunks[{index}].symbol_ids"),
        AssemblyError::KMeans(_) => "chunks".into(),
    }
}

/// The completion payload carrying `assembly`.
fn completed(assembly: Assembly, started: Instant) -> AssemblyCompleted {
    assembly.into_completed(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX))
}

/// Assembles on a blocking thread: it is seconds of arithmetic.
async fn run_assembly(
    files: Vec<FileAnalysis>,
    chunks: Vec<EmbeddedChunk>,
    options: AssemblyOptions,
) -> Result<Assembly, ErrorInfo> {
    web::block(move || assemble(files, &chunks, &options))
        .await
        .map_err(|err| ErrorInfo::new("internal", format!("the assembly thread failed: {err}")))?
        .map_err(|err| ErrorInfo::new("assembly_failed", err.to_string()))
}

/// `POST /assemble`.
async fn assemble_request(
    request: HttpRequest,
    service: web::Data<AssembleService>,
    jobs: web::Data<Jobs>,
    ValidJson(body): ValidJson<AssembleRequest>,
) -> Result<HttpResponse, ApiError> {
    let (job_id, body) = receive(body.received(), service.store.as_ref()).await?;
    validate(&body.files, &body.chunks)
        .map_err(|err| ApiError::invalid_field(&field(&err), err.to_string()))?;
    let started_event = AssemblyStarted {
        chunk_count: body.chunks.len() as u64,
        symbol_count: body.files.iter().map(|f| f.symbols.len() as u64).sum(),
    };
    tracing::info!(%job_id, chunks = started_event.chunk_count, "assembly job started");
    let options = service.options;
    let started = Instant::now();
    // One JSON answer when asked for it rather than an event stream.
    if accepts(&request, "application/json")
        && !accepts(&request, doctown_events::sse::CONTENT_TYPE)
    {
        return match run_assembly(body.files, body.chunks, options).await {
            Ok(assembly) => Ok(HttpResponse::Ok().json(completed(assembly, started))),
            Err(info) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                &info.code,
                info.message,
            )),
        };
    }
    Ok(stream_task(&jobs, move |sink, _cancel| async move {
        let emitter = EventEmitter::new(job_id, EventContext::default(), PRODUCER);
        sink.send_async(emitter.emit(started_event)).await;
        let finished = match run_assembly(body.files, body.chunks, options).await {
            Ok(assembly) => {
                let (clusters, graph) = assembly.progress();
                for cluster in clusters {
                    sink.send_async(emitter.emit(cluster)).await;
                }
                sink.send_async(emitter.emit(graph)).await;
                emitter.finish(completed(assembly, started), Ok(()))
            }
            Err(info) => {
                tracing::warn!(%job_id, code = %info.code, message = %info.message, "assembly job failed");
                emitter.finish(AssemblyCompleted::default(), Err(info))
            }
        };
        sink.send_async(finished).await;
    }))
}
