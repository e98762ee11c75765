//! The stages in this process: the same library calls the workers make, CPU-bound work on the
//! blocking pool.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use doctown_assembly::{AssemblyOptions, assemble};
use doctown_contracts::assemble::{Assembled, AssemblyInput};
use doctown_contracts::embed::{EmbedRequest, Embedded};
use doctown_contracts::generate::{GenerationInput, Summaries};
use doctown_contracts::ingest::IngestRequest;
use doctown_contracts::pack::{Contents, Packed};
use doctown_contracts::{Assemble, Embed, Generate, Ingest, Pack};
use doctown_embedding::Embedder;
use doctown_events::{ErrorInfo, IngestCompleted};
use doctown_generation::Generator;
use doctown_ingest::{IngestSettings, run_job};
use doctown_pipeline::{PipelineSettings, VectorCache, document, embed_batch, write_docpack_file};
use doctown_storage::{Store, docpack_key};

use super::{Run, Runner, StageError};

/// Runs blocking `work` on the blocking pool; `what` names it if its thread dies.
async fn blocking<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> Result<T, StageError> + Send + 'static,
) -> Result<T, StageError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| StageError::internal(format!("the {what} thread failed: {err}")))?
}

/// Ingest here.
#[derive(Debug)]
pub(super) struct LocalIngest {
    settings: IngestSettings,
}

impl LocalIngest {
    /// Ingest with `settings`.
    pub(super) fn new(settings: IngestSettings) -> Self {
        Self { settings }
    }
}

#[async_trait]
impl Runner<Ingest> for LocalIngest {
    async fn run(&self, input: IngestRequest, run: Run) -> Result<IngestCompleted, StageError> {
        let job = self
            .settings
            .github_job(&input.repo_url, input.git_ref.as_deref())
            .map_err(|err| {
                StageError::Failed(ErrorInfo::new("invalid_request", err.to_string()))
            })?;
        let runtime = tokio::runtime::Handle::current();
        blocking("ingest", move || {
            let cancelled = || ErrorInfo::new("cancelled", "the job was cancelled");
            run_job(
                &job,
                &run.emitter,
                &runtime,
                &run.cancel,
                &cancelled,
                &mut |envelope| run.send(envelope),
            )
            .map_err(StageError::Failed)
        })
        .await
    }
}

/// The model, loaded here, with the vector cache.
#[derive(Debug)]
pub(super) struct LocalEmbed {
    embedder: Arc<Embedder>,
    vectors: Option<Arc<VectorCache>>,
}

impl LocalEmbed {
    /// The model `settings` name, loaded; the error says what to do.
    pub(super) fn load(settings: &PipelineSettings) -> Result<Self, String> {
        let embedder = settings
            .model
            .load()
            .map_err(|err| format!("cannot load the embedding model: {err}"))?;
        Ok(Self {
            embedder: Arc::new(embedder),
            vectors: settings.vector_cache().map(Arc::new),
        })
    }
}

#[async_trait]
impl Runner<Embed> for LocalEmbed {
    async fn run(&self, input: EmbedRequest, _run: Run) -> Result<Embedded, StageError> {
        let embedder = Arc::clone(&self.embedder);
        let vectors = self.vectors.clone();
        blocking("embedding", move || {
            embed_batch(&embedder, vectors.as_deref(), &input.chunks).map_err(StageError::Failed)
        })
        .await
    }
}

/// Assembly here.
#[derive(Debug)]
pub(super) struct LocalAssemble {
    options: AssemblyOptions,
}

impl LocalAssemble {
    /// Assembly with `options`.
    pub(super) fn new(options: AssemblyOptions) -> Self {
        Self { options }
    }
}

#[async_trait]
impl Runner<Assemble> for LocalAssemble {
    async fn run(&self, input: AssemblyInput, _run: Run) -> Result<Assembled, StageError> {
        let options = self.options;
        let started = Instant::now();
        blocking("assembly", move || {
            let mut assembly = assemble(input.files, &input.chunks, &options).map_err(|err| {
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
    }
}

/// Summaries written here.
#[derive(Debug)]
pub(super) struct LocalGenerate {
    generator: Generator,
    max_cost_usd: Option<f64>,
}

impl LocalGenerate {
    /// The generator `settings` describe; the error says what to do.
    pub(super) fn load(settings: &PipelineSettings) -> Result<Self, String> {
        let generator = settings
            .generator()
            .map_err(|err| format!("cannot set up generation: {err}"))?;
        Ok(Self {
            generator,
            max_cost_usd: settings.generation.max_cost_usd,
        })
    }
}

#[async_trait]
impl Runner<Generate> for LocalGenerate {
    async fn run(&self, input: GenerationInput, run: Run) -> Result<Summaries, StageError> {
        let documenting = document(
            &self.generator,
            input,
            self.max_cost_usd,
            &run.emitter,
            |envelope| run.send(envelope),
        );
        match run.cancel.run_until_cancelled(documenting).await {
            Some(documented) => documented.map_err(StageError::Failed),
            None => Err(StageError::Failed(ErrorInfo::new(
                "cancelled",
                "the job was cancelled",
            ))),
        }
    }
}

/// Docpacks written here and stored.
#[derive(Debug)]
pub(super) struct LocalPack {
    storage: Arc<dyn Store>,
}

impl LocalPack {
    /// Packing into `storage`.
    pub(super) fn new(storage: Arc<dyn Store>) -> Self {
        Self { storage }
    }
}

#[async_trait]
impl Runner<Pack> for LocalPack {
    async fn run(&self, input: Contents, _run: Run) -> Result<Packed, StageError> {
        let folder = tempfile::tempdir().map_err(|err| {
            StageError::Failed(ErrorInfo::new(
                "io",
                format!("cannot make a temporary folder: {err}"),
            ))
        })?;
        let path = folder.path().join("job.docpack");
        let written = {
            let path = path.clone();
            blocking("packing", move || {
                write_docpack_file(input.contents, &path).map_err(StageError::Failed)
            })
            .await?
        };
        let packed = super::packed(written, "the docpack writer")?;
        self.storage
            .put(&docpack_key(&packed.checksum), &path)
            .await
            .map_err(|err| StageError::Failed(ErrorInfo::new("storage_failed", err.to_string())))?;
        Ok(packed)
    }
}
