//! `POST /generate`.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use doctown_contracts::generate::{GenerateAnswer, GenerateRequest};
use doctown_contracts::{Contract, Generate};
use doctown_events::{EventContext, EventEmitter, GenerationCompleted};
use doctown_generation::Generator;
use doctown_storage::Store;
use doctown_worker::{ApiError, Jobs, ValidJson, accepts, receive, stream_task};

/// The `producer_version` of every event this worker sends.
const PRODUCER: &str = concat!("doctown-generation/", env!("CARGO_PKG_VERSION"));

/// What every request needs.
#[derive(Debug, Clone)]
pub(crate) struct GenerateService {
    generator: Arc<Generator>,
    max_cost_usd: Option<f64>,
    store: Arc<dyn Store>,
}

impl GenerateService {
    /// The service writing with `generator`, refusing jobs estimated above `max_cost_usd`,
    /// reading inputs sent by reference from `store`.
    pub(crate) fn new(
        generator: Generator,
        max_cost_usd: Option<f64>,
        store: Arc<dyn Store>,
    ) -> Self {
        Self {
            generator: Arc::new(generator),
            max_cost_usd,
            store,
        }
    }

    /// Adds the routes.
    pub(crate) fn configure(&self, config: &mut web::ServiceConfig) {
        config
            .app_data(web::Data::new(self.clone()))
            .route(Generate::PATH, web::post().to(generate));
    }
}

/// `POST /generate`.
async fn generate(
    request: HttpRequest,
    service: web::Data<GenerateService>,
    jobs: web::Data<Jobs>,
    ValidJson(body): ValidJson<GenerateRequest>,
) -> Result<HttpResponse, ApiError> {
    let (job_id, input) = receive(body.received(), service.store.as_ref()).await?;
    let generator = Arc::clone(&service.generator);
    let started = generator
        .start(&input.symbols, &[], service.max_cost_usd)
        .map_err(|err| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                err.code(),
                err.to_string(),
            )
            .with_field("symbols")
        })?;
    tracing::info!(%job_id, symbols = started.symbol_count, cost_bound = started.estimated_cost_usd, "generation job started");
    let symbols = input.symbols;

    // One JSON answer when asked for it rather than an event stream.
    if accepts(&request, "application/json")
        && !accepts(&request, doctown_events::sse::CONTENT_TYPE)
    {
        let order: HashMap<_, _> = symbols
            .iter()
            .enumerate()
            .map(|(i, s)| (s.symbol_id, i))
            .collect();
        let mut summaries = Vec::new();
        let completed = generator
            .generate(symbols, |summary| summaries.push(summary.documented))
            .await
            .map_err(|err| ApiError::new(StatusCode::BAD_GATEWAY, err.code(), err.to_string()))?;
        summaries.sort_by_key(|s| order.get(&s.symbol_id).copied());
        return Ok(HttpResponse::Ok().json(GenerateAnswer {
            summaries,
            completed,
        }));
    }

    let reason = jobs.clone();
    Ok(stream_task(&jobs, move |sink, cancel| async move {
        let emitter = EventEmitter::new(job_id, EventContext::default(), PRODUCER);
        sink.send_async(emitter.emit(started)).await;
        let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
        let generating = async move {
            generator
                .generate(symbols, move |summary| {
                    // The receiver lives until generation ends.
                    let _ = done.send(summary);
                })
                .await
        };
        let forwarding = async {
            while let Some(summary) = finished.recv().await {
                sink.send_async(emitter.emit(summary.documented)).await;
            }
        };
        let outcome = tokio::select! {
            (completed, ()) = async { tokio::join!(generating, forwarding) } => {
                completed.map_err(|err| doctown_events::ErrorInfo::new(err.code(), err.to_string()))
            }
            () = cancel.cancelled() => Err(reason.reason()),
        };
        let envelope = match outcome {
            Ok(completed) => emitter.finish(completed, Ok(())),
            Err(info) => {
                tracing::warn!(%job_id, code = %info.code, "generation job stopped");
                emitter.finish(GenerationCompleted::default(), Err(info))
            }
        };
        sink.send_async(envelope).await;
    }))
}
