//! The stages as the engine runs them: in this process with the same library calls the workers
//! make, or, for embedding (the stage a GPU speeds up), on remote workers through a
//! [`WorkerPool`].

use std::sync::Arc;
use std::time::Duration;

use doctown_common::{Chunk, ChunkId, JobId};
use doctown_embedding::Embedder;
use doctown_events::ErrorInfo;
use doctown_generation::Generator;
use doctown_ingest::{IngestJob, InvalidRequest};
use doctown_pipeline::{PipelineSettings, VectorCache, embed_batch};
use doctown_worker::Readiness;
use serde::Deserialize;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::workers::{CallError, WorkerPool};

/// How often remote workers are health-checked.
const HEALTH_EVERY: Duration = Duration::from_secs(10);

/// Where stages run when not in the coordinator.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Worker settings")]
pub struct WorkerSettings {
    /// Base URLs of embedding workers (comma-separated), called in turn; without any, the
    /// model runs in the coordinator.
    #[arg(
        long,
        env = "DOCTOWN_EMBEDDING_WORKERS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub embedding_workers: Vec<String>,

    /// Seconds one call to a worker may take.
    #[arg(
        long,
        env = "DOCTOWN_WORKER_TIMEOUT_SECS",
        default_value_t = 120,
        value_name = "SECS"
    )]
    pub worker_timeout_secs: u64,

    /// Seconds (at least; jittered, growing while it keeps failing) a worker that failed three
    /// calls in a row is left alone before a trial call.
    #[arg(
        long,
        env = "DOCTOWN_WORKER_OPEN_SECS",
        default_value_t = 10,
        value_name = "SECS"
    )]
    pub worker_open_secs: u64,
}

impl WorkerSettings {
    /// The embedding workers, when some are configured.
    pub fn embedding_pool(&self) -> Result<Option<WorkerPool>, String> {
        let bases: Vec<String> = self
            .embedding_workers
            .iter()
            .map(|base| base.trim().to_owned())
            .filter(|base| !base.is_empty())
            .collect();
        if bases.is_empty() {
            return Ok(None);
        }
        WorkerPool::new(
            "embedding",
            &bases,
            Duration::from_secs(self.worker_timeout_secs),
            Duration::from_secs(self.worker_open_secs),
        )
        .map(Some)
    }
}

/// Why a stage's work did not get done.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StageError {
    /// The work failed: the job fails with this error.
    #[error("{}", .0.message)]
    Failed(ErrorInfo),
    /// No worker could do it now: the same work may succeed later.
    #[error("{0}")]
    Unavailable(String),
}

impl From<CallError> for StageError {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Unavailable(reason) => StageError::Unavailable(reason),
            CallError::Refused(info) => StageError::Failed(info),
        }
    }
}

/// The model, loaded here, with the vector cache.
#[derive(Debug)]
struct LocalModel {
    embedder: Embedder,
    vectors: Option<VectorCache>,
}

/// Where embedding runs.
#[derive(Debug)]
enum Embedding {
    /// Here.
    Here(Arc<LocalModel>),
    /// On remote workers.
    Workers(WorkerPool),
}

/// The stages.
#[derive(Debug)]
pub struct Stages {
    settings: PipelineSettings,
    embedding: Embedding,
    generator: Generator,
}

/// A vector as the embedding worker answers it.
#[derive(Debug, Deserialize)]
struct WorkerVector {
    chunk_id: ChunkId,
    vector: Vec<f32>,
}

/// The embedding worker's JSON answer.
#[derive(Debug, Deserialize)]
struct WorkerVectors {
    vectors: Vec<WorkerVector>,
}

impl Stages {
    /// The stages `settings` describe, embedding on `embedding_workers` when given (the model
    /// is then not loaded here); the error says what to do.
    pub fn load(
        settings: PipelineSettings,
        embedding_workers: Option<WorkerPool>,
    ) -> Result<Self, String> {
        let embedding = match embedding_workers {
            Some(pool) => Embedding::Workers(pool),
            None => Embedding::Here(Arc::new(LocalModel {
                embedder: settings
                    .model
                    .load()
                    .map_err(|err| format!("cannot load the embedding model: {err}"))?,
                vectors: settings.vector_cache(),
            })),
        };
        let generator = settings
            .generator()
            .map_err(|err| format!("cannot set up generation: {err}"))?;
        Ok(Self {
            settings,
            embedding,
            generator,
        })
    }

    /// Every stage's settings.
    pub fn settings(&self) -> &PipelineSettings {
        &self.settings
    }

    /// The generator.
    pub fn generator(&self) -> &Generator {
        &self.generator
    }

    /// The job a request for `repo_url` at `git_ref` asks for.
    pub fn job(&self, repo_url: &str, git_ref: Option<&str>) -> Result<IngestJob, InvalidRequest> {
        self.settings.ingest.github_job(repo_url, git_ref)
    }

    /// The vectors of `chunks` (the batch `batch_id` of job `job_id`), in their order, and how
    /// many came from a cache; gives the chunks back.
    pub async fn embed(
        &self,
        job_id: JobId,
        batch_id: &str,
        chunks: Vec<Chunk>,
    ) -> Result<(Vec<Chunk>, Vec<Vec<f32>>, u64), StageError> {
        match &self.embedding {
            Embedding::Here(model) => {
                let model = Arc::clone(model);
                tokio::task::spawn_blocking(move || {
                    embed_batch(&model.embedder, model.vectors.as_ref(), &chunks)
                        .map(|(vectors, cached)| (chunks, vectors, cached))
                        .map_err(StageError::Failed)
                })
                .await
                .map_err(|err| {
                    StageError::Failed(ErrorInfo::new(
                        "internal",
                        format!("the embedding thread failed: {err}"),
                    ))
                })?
            }
            Embedding::Workers(pool) => {
                let request = json!({
                    "batch_id": batch_id,
                    "job_id": job_id,
                    "chunks": chunks
                        .iter()
                        .map(|c| json!({"chunk_id": c.chunk_id, "content": c.content}))
                        .collect::<Vec<_>>(),
                });
                let answer: WorkerVectors = pool.post("/embed", &request).await?;
                let matches = answer.vectors.len() == chunks.len()
                    && answer
                        .vectors
                        .iter()
                        .zip(&chunks)
                        .all(|(v, c)| v.chunk_id == c.chunk_id);
                if !matches {
                    return Err(StageError::Unavailable(
                        "an embedding worker answered with vectors for other chunks".into(),
                    ));
                }
                let vectors = answer.vectors.into_iter().map(|v| v.vector).collect();
                Ok((chunks, vectors, 0))
            }
        }
    }

    /// Health-checks the remote workers every few seconds until `stop`, reporting them in
    /// `readiness` (what `/health` shows).
    pub async fn watch_workers(&self, readiness: Readiness, stop: CancellationToken) {
        let Embedding::Workers(pool) = &self.embedding else {
            return;
        };
        readiness.set_detail("embedding_workers", pool.status());
        loop {
            pool.check_health().await;
            readiness.set_detail("embedding_workers", pool.status());
            tokio::select! {
                () = tokio::time::sleep(HEALTH_EVERY) => {}
                () = stop.cancelled() => return,
            }
        }
    }
}
