//! `POST /embed`.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use doctown_common::JobId;
use doctown_contracts::embed::{ChunkText, EmbedAnswer, EmbedRequest};
use doctown_contracts::{Contract, Embed};
use doctown_embedding::{Device, EmbeddingCache, MODEL_ID};
use doctown_events::{
    BatchCompleted, BatchStarted, ChunkVector, EmbeddingCompleted, EventContext, EventEmitter,
};
use doctown_worker::{ApiError, Jobs, Readiness, ValidJson, accepts, stream_task};
use sha2::{Digest, Sha256};

use crate::batcher::Batcher;

/// The `producer_version` of every event this worker sends.
const PRODUCER: &str = concat!("doctown-embedding/", env!("CARGO_PKG_VERSION"));

/// What one request may hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_chunks: usize,
    pub(crate) max_chunk_bytes: usize,
}

/// What every request needs; the batcher arrives once the model is loaded.
#[derive(Clone)]
pub(crate) struct EmbedService {
    batcher: Arc<OnceLock<Batcher>>,
    readiness: Readiness,
    cache: Arc<EmbeddingCache>,
    limits: Limits,
}

impl EmbedService {
    pub(crate) fn new(readiness: Readiness, cache: Arc<EmbeddingCache>, limits: Limits) -> Self {
        Self {
            batcher: Arc::new(OnceLock::new()),
            readiness,
            cache,
            limits,
        }
    }

    /// The model is loaded: requests are taken from now on.
    pub(crate) fn set_batcher(&self, batcher: Batcher, device: Device) {
        self.batcher.set(batcher).ok();
        self.readiness.set_detail("device", device.id().into());
        self.readiness.set_ready();
    }

    pub(crate) fn configure(&self, config: &mut web::ServiceConfig) {
        config
            .app_data(web::Data::new(self.clone()))
            .route(Embed::PATH, web::post().to(embed));
    }

    /// The vectors of `chunks`, from the cache where known; gives them and how many were cached.
    async fn vectors(&self, chunks: &[ChunkText]) -> Result<(Vec<ChunkVector>, u64), ApiError> {
        let batcher = self.batcher.get().ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "loading",
                "the model is still loading; retry when GET /ping answers 200",
            )
        })?;
        let hashes: Vec<String> = chunks
            .iter()
            .map(|c| {
                Sha256::digest(c.content.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect()
            })
            .collect();
        let mut vectors: Vec<Option<Vec<f32>>> =
            hashes.iter().map(|h| self.cache.get(MODEL_ID, h)).collect();
        let cached = vectors.iter().filter(|v| v.is_some()).count() as u64;
        let missing: Vec<usize> = (0..chunks.len())
            .filter(|&i| vectors[i].is_none())
            .collect();
        if !missing.is_empty() {
            let texts = missing.iter().map(|&i| chunks[i].content.clone()).collect();
            let computed = batcher.embed(texts).await.map_err(|message| {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "model_failed", message)
            })?;
            for (&i, vector) in missing.iter().zip(computed) {
                self.cache.insert(MODEL_ID, &hashes[i], vector.clone());
                vectors[i] = Some(vector);
            }
        }
        let vectors = chunks
            .iter()
            .zip(vectors)
            .map(|(chunk, vector)| ChunkVector {
                chunk_id: chunk.chunk_id,
                vector: vector.unwrap_or_default(),
            })
            .collect();
        Ok((vectors, cached))
    }
}

/// The job id of `request`, or why the request is refused.
fn check(request: &EmbedRequest, limits: Limits) -> Result<JobId, ApiError> {
    if request.chunks.is_empty() {
        return Err(ApiError::invalid_field(
            "chunks",
            "`chunks` is empty; send 1 or more",
        ));
    }
    if request.chunks.len() > limits.max_chunks {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_chunks",
            format!(
                "the request holds {} chunks, over the limit of {} per request \
                 (DOCTOWN_EMBED_MAX_CHUNKS); split it",
                request.chunks.len(),
                limits.max_chunks
            ),
        )
        .with_field("chunks"));
    }
    if let Some((i, chunk)) = request
        .chunks
        .iter()
        .enumerate()
        .find(|(_, c)| c.content.len() > limits.max_chunk_bytes)
    {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "chunk_too_large",
            format!(
                "chunk {} holds {} bytes, over the limit of {} (DOCTOWN_EMBED_MAX_CHUNK_BYTES)",
                chunk.chunk_id,
                chunk.content.len(),
                limits.max_chunk_bytes
            ),
        )
        .with_field(&format!("chunks[{i}].content")));
    }
    Ok(request.job_id.unwrap_or_else(JobId::generate))
}

/// `POST /embed`: `{"batch_id", "vectors"}`, or the batch's events with
/// `Accept: text/event-stream`.
async fn embed(
    request: HttpRequest,
    service: web::Data<EmbedService>,
    jobs: web::Data<Jobs>,
    ValidJson(body): ValidJson<EmbedRequest>,
) -> Result<HttpResponse, ApiError> {
    let job_id = check(&body, service.limits)?;
    if !accepts(&request, doctown_events::sse::CONTENT_TYPE) {
        let (vectors, _) = service.vectors(&body.chunks).await?;
        return Ok(HttpResponse::Ok().json(EmbedAnswer {
            batch_id: body.batch_id,
            vectors,
        }));
    }
    let service = service.get_ref().clone();
    Ok(stream_task(&jobs, move |sink, _cancel| async move {
        let started = Instant::now();
        let emitter = EventEmitter::new(job_id, EventContext::default(), PRODUCER);
        let chunk_count = body.chunks.len() as u64;
        sink.send_async(emitter.emit(BatchStarted {
            batch_id: body.batch_id.clone(),
            chunk_count,
        }))
        .await;
        let result = service.vectors(&body.chunks).await;
        let mut completed = BatchCompleted {
            batch_id: body.batch_id,
            chunk_count,
            cached_count: 0,
            model: MODEL_ID.to_owned(),
            duration_ms: 0,
            vectors: Vec::new(),
        };
        let totals = |completed: &BatchCompleted| EmbeddingCompleted {
            batch_count: 1,
            chunk_count: completed.chunk_count,
            cached_count: completed.cached_count,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        let finished = match result {
            Ok((vectors, cached)) => {
                completed.vectors = vectors;
                completed.cached_count = cached;
                completed.duration_ms =
                    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                let totals = totals(&completed);
                sink.send_async(emitter.emit(completed)).await;
                emitter.finish(totals, Ok(()))
            }
            Err(err) => emitter.finish(
                EmbeddingCompleted::default(),
                Err(doctown_events::ErrorInfo::new(
                    err.code.clone(),
                    err.message.clone(),
                )),
            ),
        };
        sink.send_async(finished).await;
    }))
}
