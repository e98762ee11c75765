//! The stages as the engine runs them: in this process with the same library calls the workers
//! make, or on remote workers through a [`WorkerPool`] per stage.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use doctown_assembly::{EmbeddedChunk, assemble};
use doctown_common::{Chunk, ChunkId, FileAnalysis, JobId};
use doctown_docpack::DocpackContents;
use doctown_embedding::Embedder;
use doctown_events::PackCompleted;
use doctown_events::{
    AssemblyCompleted, Envelope, ErrorInfo, EventEmitter, IngestCompleted, Payload,
};
use doctown_generation::{Generator, SymbolInput};
use doctown_ingest::{IngestJob, InvalidRequest, run_job};
use doctown_pipeline::{
    PipelineSettings, Summaries, VectorCache, document, embed_batch, write_docpack_file,
};
use doctown_storage::{Artifact, Store, docpack_key, is_checksum, put_json};
use doctown_worker::Readiness;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::workers::{CallError, WorkerPool};

/// How often remote workers are health-checked.
const HEALTH_EVERY: Duration = Duration::from_secs(10);

/// Where stages run when not in the coordinator.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Worker settings")]
pub struct WorkerSettings {
    /// Base URLs of ingest workers (comma-separated), called in turn; without any, ingest runs
    /// in the coordinator.
    #[arg(
        long,
        env = "DOCTOWN_INGEST_WORKERS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub ingest_workers: Vec<String>,

    /// Base URLs of embedding workers (comma-separated), called in turn; without any, the
    /// model runs in the coordinator.
    #[arg(
        long,
        env = "DOCTOWN_EMBEDDING_WORKERS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub embedding_workers: Vec<String>,

    /// Base URLs of assembly workers (comma-separated); without any, assembly runs in the
    /// coordinator.
    #[arg(
        long,
        env = "DOCTOWN_ASSEMBLY_WORKERS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub assembly_workers: Vec<String>,

    /// Base URLs of generation workers (comma-separated); without any, summaries are written
    /// by the coordinator.
    #[arg(
        long,
        env = "DOCTOWN_GENERATION_WORKERS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub generation_workers: Vec<String>,

    /// Base URLs of packer workers (comma-separated); they must store docpacks where the
    /// coordinator reads them (the same DOCTOWN_S3_* bucket or DOCTOWN_STORAGE_DIR). Without
    /// any, docpacks are written by the coordinator.
    #[arg(
        long,
        env = "DOCTOWN_PACKER_WORKERS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub packer_workers: Vec<String>,

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
    /// The pools of the stages that have workers configured.
    pub fn pools(&self) -> Result<WorkerPools, String> {
        Ok(WorkerPools {
            ingest: self.pool("ingest", &self.ingest_workers)?,
            embedding: self.pool("embedding", &self.embedding_workers)?,
            assembly: self.pool("assembly", &self.assembly_workers)?,
            generation: self.pool("generation", &self.generation_workers)?,
            packer: self.pool("packer", &self.packer_workers)?,
        })
    }

    fn pool(&self, stage: &'static str, bases: &[String]) -> Result<Option<WorkerPool>, String> {
        let bases: Vec<String> = bases
            .iter()
            .map(|base| base.trim().to_owned())
            .filter(|base| !base.is_empty())
            .collect();
        if bases.is_empty() {
            return Ok(None);
        }
        WorkerPool::new(
            stage,
            &bases,
            Duration::from_secs(self.worker_timeout_secs),
            Duration::from_secs(self.worker_open_secs),
        )
        .map(Some)
    }
}

/// The remote workers of each stage that has some; the others run in the coordinator.
#[derive(Debug, Default)]
pub struct WorkerPools {
    /// Ingest's.
    pub ingest: Option<WorkerPool>,
    /// Embedding's.
    pub embedding: Option<WorkerPool>,
    /// Assembly's.
    pub assembly: Option<WorkerPool>,
    /// Generation's.
    pub generation: Option<WorkerPool>,
    /// Packing's.
    pub packer: Option<WorkerPool>,
}

/// What assembly made, as the later stages read it.
#[derive(Debug, Serialize, Deserialize)]
pub struct Assembled {
    /// The files and their symbols.
    pub files: Vec<FileAnalysis>,
    /// Clusters, graph and contexts, as the completion event carries them.
    pub completed: AssemblyCompleted,
}

/// A docpack written and stored: what a job's record needs of it, every part present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The docpack's id (from its manifest).
    pub docpack_id: String,
    /// The SHA-256 of its file, which names where it is stored.
    pub checksum: String,
    /// Its size in bytes.
    pub size_bytes: u64,
}

impl Packed {
    /// What `completion` (from `writer`) says was stored, refused when a part is missing.
    fn from_completion(completion: PackCompleted, writer: &str) -> Result<Self, StageError> {
        let invalid = |what: &str| {
            StageError::Failed(ErrorInfo::new(
                "invalid_answer",
                format!(
                    "{writer}'s answer has no valid `{what}`; check that the packers run the \
                     coordinator's version"
                ),
            ))
        };
        let docpack_id = completion
            .docpack_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| invalid("docpack_id"))?;
        let checksum = completion
            .checksum
            .filter(|checksum| is_checksum(checksum))
            .ok_or_else(|| invalid("checksum"))?;
        Ok(Self {
            docpack_id,
            checksum,
            size_bytes: completion.size_bytes,
        })
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
            CallError::Unavailable(reason) | CallError::Broken(reason) => {
                StageError::Unavailable(reason)
            }
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

/// Where summaries are written.
#[derive(Debug)]
enum Generation {
    /// Here.
    Here(Generator),
    /// On remote workers.
    Workers(WorkerPool),
}

/// The stages.
#[derive(Debug)]
pub struct Stages {
    settings: PipelineSettings,
    ingest: Option<WorkerPool>,
    embedding: Embedding,
    assembly: Option<WorkerPool>,
    generation: Generation,
    packer: Option<WorkerPool>,
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
    /// The stages `settings` describe, on the workers of `pools` where a stage has some (the
    /// model is then not loaded here); the error says what to do.
    pub fn load(settings: PipelineSettings, pools: WorkerPools) -> Result<Self, String> {
        let embedding = match pools.embedding {
            Some(pool) => Embedding::Workers(pool),
            None => Embedding::Here(Arc::new(LocalModel {
                embedder: settings
                    .model
                    .load()
                    .map_err(|err| format!("cannot load the embedding model: {err}"))?,
                vectors: settings.vector_cache(),
            })),
        };
        let generation = match pools.generation {
            Some(pool) => Generation::Workers(pool),
            None => Generation::Here(
                settings
                    .generator()
                    .map_err(|err| format!("cannot set up generation: {err}"))?,
            ),
        };
        Ok(Self {
            settings,
            ingest: pools.ingest,
            embedding,
            assembly: pools.assembly,
            generation,
            packer: pools.packer,
        })
    }

    /// Every stage's settings.
    pub fn settings(&self) -> &PipelineSettings {
        &self.settings
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

    /// The remote pools, by stage.
    fn pools(&self) -> Vec<&WorkerPool> {
        let embedding = match &self.embedding {
            Embedding::Workers(pool) => Some(pool),
            Embedding::Here(_) => None,
        };
        let generation = match &self.generation {
            Generation::Workers(pool) => Some(pool),
            Generation::Here(_) => None,
        };
        [
            self.ingest.as_ref(),
            embedding,
            self.assembly.as_ref(),
            generation,
            self.packer.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Runs `job`, sending each of its events to `send` as it happens, from `ingest.started`
    /// to `ingest.completed` (failed with the error when it fails); cancelling `cancel` stops
    /// it. Gives the totals.
    pub async fn ingest(
        &self,
        job: IngestJob,
        emitter: EventEmitter,
        cancel: CancellationToken,
        send: mpsc::UnboundedSender<Envelope>,
    ) -> Result<IngestCompleted, StageError> {
        let Some(pool) = &self.ingest else {
            let runtime = tokio::runtime::Handle::current();
            return tokio::task::spawn_blocking(move || {
                let cancelled = || ErrorInfo::new("cancelled", "the job was cancelled");
                run_job(
                    &job,
                    &emitter,
                    &runtime,
                    &cancel,
                    &cancelled,
                    &mut |envelope| {
                        // A closed channel only means nobody is listening any more.
                        let _ = send.send(envelope);
                    },
                )
                .map_err(StageError::Failed)
            })
            .await
            .map_err(|err| {
                StageError::Failed(ErrorInfo::new(
                    "internal",
                    format!("the ingest thread failed: {err}"),
                ))
            })?;
        };
        let request = json!({
            "repo_url": job.input,
            "git_ref": job.git_ref,
            "job_id": emitter.job_id(),
        });
        let mut outcome = None;
        let mut on_event = |envelope: Envelope| {
            if let Payload::IngestCompleted(completed) = &envelope.payload {
                outcome = Some(match &envelope.error {
                    Some(error) => Err(error.clone()),
                    None => Ok(completed.clone()),
                });
            }
            let _ = send.send(envelope);
        };
        let streamed = cancel
            .run_until_cancelled(pool.stream("/ingest", &request, &mut on_event))
            .await;
        match (streamed, outcome) {
            (None, _) => Err(StageError::Failed(ErrorInfo::new(
                "cancelled",
                "the job was cancelled",
            ))),
            (Some(Err(err)), _) => Err(err.into()),
            (Some(Ok(())), Some(outcome)) => outcome.map_err(StageError::Failed),
            (Some(Ok(())), None) => Err(StageError::Unavailable(
                "the ingest worker's stream ended before ingest.completed".into(),
            )),
        }
    }

    /// Assembles `files` and `chunks` with their `vectors`.
    pub async fn assemble(
        &self,
        job_id: JobId,
        files: Vec<FileAnalysis>,
        chunks: &[Chunk],
        vectors: Vec<Vec<f32>>,
    ) -> Result<Assembled, StageError> {
        let embedded: Vec<EmbeddedChunk> = chunks
            .iter()
            .zip(vectors)
            .map(|(chunk, vector)| EmbeddedChunk::new(chunk, vector))
            .collect();
        if let Some(pool) = &self.assembly {
            let request = json!({"job_id": job_id, "files": files, "chunks": embedded});
            let completed: AssemblyCompleted = pool.post("/assemble", &request).await?;
            return Ok(Assembled { files, completed });
        }
        let options = self.settings.assembly.options();
        let started = Instant::now();
        tokio::task::spawn_blocking(move || {
            let mut assembly = assemble(files, &embedded, &options).map_err(|err| {
                StageError::Failed(ErrorInfo::new("assembly_failed", err.to_string()))
            })?;
            let files = std::mem::take(&mut assembly.files);
            let took = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            Ok(Assembled {
                files,
                completed: assembly.into_completed(took),
            })
        })
        .await
        .map_err(|err| {
            StageError::Failed(ErrorInfo::new(
                "internal",
                format!("the assembly thread failed: {err}"),
            ))
        })?
    }

    /// Documents `symbols`, sending `generation.started` and each
    /// `generation.symbol_documented` to `send` as it is written.
    pub async fn generate(
        &self,
        job_id: JobId,
        symbols: Vec<SymbolInput>,
        emitter: &EventEmitter,
        mut send: impl FnMut(Envelope) + Send,
    ) -> Result<Summaries, StageError> {
        match &self.generation {
            Generation::Here(generator) => document(
                generator,
                symbols,
                self.settings.generation.max_cost_usd,
                emitter,
                send,
            )
            .await
            .map_err(StageError::Failed),
            Generation::Workers(pool) => {
                let request = json!({"job_id": job_id, "symbols": symbols});
                let mut summaries = HashMap::new();
                let mut outcome = None;
                // The worker's events, but its completion: the coordinator sends that once the
                // summaries are kept.
                let mut on_event = |envelope: Envelope| match &envelope.payload {
                    Payload::GenerationCompleted(completed) => {
                        outcome = Some(match &envelope.error {
                            Some(error) => Err(error.clone()),
                            None => Ok(completed.clone()),
                        });
                    }
                    Payload::GenerationSymbolDocumented(documented) => {
                        summaries.insert(documented.symbol_id, documented.summary.clone());
                        send(emitter.emit(documented.clone()));
                    }
                    Payload::GenerationStarted(started) => send(emitter.emit(started.clone())),
                    _ => {}
                };
                pool.stream("/generate", &request, &mut on_event).await?;
                match outcome {
                    Some(Ok(completed)) => Ok(Summaries {
                        summaries,
                        // The worker keeps its prompts.
                        prompts: HashMap::new(),
                        completed,
                    }),
                    Some(Err(info)) => Err(StageError::Failed(info)),
                    None => Err(StageError::Unavailable(
                        "the generation worker's stream ended before generation.completed".into(),
                    )),
                }
            }
        }
    }

    /// Writes `contents` (job `job_id`'s) as a docpack and stores it in `storage`, here or on a
    /// packer worker that stores into the same place (and reads the contents from it: the
    /// request carries their artifact's reference). Gives what was stored.
    pub async fn pack(
        &self,
        job_id: JobId,
        contents: DocpackContents,
        storage: &dyn Store,
    ) -> Result<Packed, StageError> {
        let Some(pool) = &self.packer else {
            let folder = tempfile::tempdir().map_err(|err| {
                StageError::Failed(ErrorInfo::new(
                    "io",
                    format!("cannot make a temporary folder: {err}"),
                ))
            })?;
            let path = folder.path().join("job.docpack");
            let written = {
                let path = path.clone();
                tokio::task::spawn_blocking(move || write_docpack_file(contents, &path))
                    .await
                    .map_err(|err| {
                        StageError::Failed(ErrorInfo::new(
                            "internal",
                            format!("the packing thread failed: {err}"),
                        ))
                    })?
                    .map_err(StageError::Failed)?
            };
            let written = Packed::from_completion(written, "the docpack writer")?;
            storage
                .put(&docpack_key(&written.checksum), &path)
                .await
                .map_err(|err| {
                    StageError::Failed(ErrorInfo::new("storage_failed", err.to_string()))
                })?;
            return Ok(written);
        };
        /// `POST /pack`'s body: where the contents are kept.
        #[derive(Serialize)]
        struct PackRequest {
            job_id: JobId,
            contents: Artifact,
        }
        let contents = put_json(storage, &job_id.to_string(), &contents)
            .await
            .map_err(|err| StageError::Unavailable(err.to_string()))?;
        let answer: PackCompleted = pool
            .post("/pack", &PackRequest { job_id, contents })
            .await?;
        let packed = Packed::from_completion(answer, "the packer worker")?;
        let (docpack_id, checksum) = (&packed.docpack_id, &packed.checksum);
        let stored = storage.size(&docpack_key(checksum)).await.map_err(|err| {
            StageError::Unavailable(format!("cannot check the packer's docpack: {err}"))
        })?;
        match stored {
            Some(size) if size == packed.size_bytes => Ok(packed),
            Some(size) => Err(StageError::Failed(ErrorInfo::new(
                "storage_failed",
                format!(
                    "the packer worker said docpack {docpack_id} has {} bytes, but {size} are \
                     stored under its checksum; check that the packers and the coordinator \
                     share storage that nothing else writes to",
                    packed.size_bytes
                ),
            ))),
            None => Err(StageError::Failed(ErrorInfo::new(
                "storage_failed",
                format!(
                    "a packer worker stored docpack {docpack_id} where the coordinator cannot \
                     read it; give the packers and the coordinator the same storage (the same \
                     DOCTOWN_S3_* bucket, or the same DOCTOWN_STORAGE_DIR)"
                ),
            ))),
        }
    }

    /// Health-checks the remote workers every few seconds until `stop`, reporting them in
    /// `readiness` (what `/health` shows).
    pub async fn watch_workers(&self, readiness: Readiness, stop: CancellationToken) {
        let pools = self.pools();
        if pools.is_empty() {
            return;
        }
        let report = |readiness: &Readiness| {
            for pool in &pools {
                readiness.set_detail(&format!("{}_workers", pool.stage()), pool.status());
            }
        };
        report(&readiness);
        loop {
            for pool in &pools {
                pool.check_health().await;
            }
            report(&readiness);
            tokio::select! {
                () = tokio::time::sleep(HEALTH_EVERY) => {}
                () = stop.cancelled() => return,
            }
        }
    }
}
