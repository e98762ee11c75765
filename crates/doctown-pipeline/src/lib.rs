//! Doctown's stages in one process, the embedded default: a repository in, a `.docpack` out.
//!
//! [`run`] drives the same library calls the workers make (ingest's `run_job`, the embedder,
//! `assemble`, the `Generator`, `write_docpack`) and reports every step as the same events, so
//! the CLI renders one stream whichever way the stages ran. Vectors and summaries are cached by
//! content: a second run over an unchanged repository embeds nothing and asks the model nothing,
//! and writes the same bytes.

mod embed;
mod pack;
mod summaries;
mod vectors;

pub use crate::embed::embed_batch;
use crate::embed::{EmbedStage, Stopped};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use doctown_assembly::{AssemblySettings, assemble};
use doctown_common::{Chunk, FileAnalysis};
use doctown_contracts::assemble::EmbeddedChunk;
use doctown_contracts::generate::{GenerationInput, Summaries};
use doctown_contracts::ingest::FileSizes;
use doctown_embedding::{MODEL_ID, ModelSettings};
use doctown_events::{
    AssemblyCompleted, AssemblyStarted, Completion, EmbeddingCompleted, Envelope, ErrorInfo,
    EventEmitter, GenerationCompleted, GenerationMode, IngestCompleted, PackCompleted, PackStarted,
    Payload, Stage,
};
use doctown_generation::{GenerationError, GenerationSettings, Generator, SummaryCache};
use doctown_ingest::{IngestJob, IngestSettings, run_job};
use doctown_pages::Grounding;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

pub use pack::{PackInput, Packed, docpack_contents, prose_tasks_of, write_docpack_file};
pub use summaries::{document, symbol_inputs};
pub use vectors::VectorCache;

/// Every stage's settings, as flags and `DOCTOWN_*` variables.
#[derive(Debug, Clone, clap::Args)]
pub struct PipelineSettings {
    #[command(flatten)]
    /// What ingest reads and where GitHub is.
    pub ingest: IngestSettings,
    #[command(flatten)]
    /// The embedding model.
    pub model: ModelSettings,
    #[command(flatten)]
    /// Clusters and related edges.
    pub assembly: AssemblySettings,
    #[command(flatten)]
    /// Summaries.
    pub generation: GenerationSettings,
    /// Where vectors (and, unless DOCTOWN_SUMMARY_CACHE_DIR says otherwise, summaries) are
    /// cached (default: ~/.cache/doctown).
    #[arg(long, env = "DOCTOWN_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the vector and summary caches.
    #[arg(long, env = "DOCTOWN_NO_CACHE")]
    pub no_cache: bool,
}

impl PipelineSettings {
    /// The cache folder.
    fn cache_root(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(doctown_common::cache_dir)
    }

    /// The vector cache, unless caching is off.
    pub fn vector_cache(&self) -> Option<VectorCache> {
        (!self.no_cache).then(|| {
            VectorCache::new(
                self.cache_root().join("vectors"),
                format!("{MODEL_ID}/{}", self.model.max_tokens),
            )
        })
    }

    /// The generator these settings describe, with the summary cache unless caching is off.
    pub fn generator(&self) -> Result<Generator, GenerationError> {
        let cache = (!self.no_cache)
            .then(|| SummaryCache::new(self.generation.cache_dir_in(&self.cache_root())));
        Generator::new(
            self.generation.llm(),
            cache,
            self.generation.prompt_budget_tokens,
            self.generation.llm_concurrency,
        )
    }
}

/// What a run made.
#[derive(Debug, Clone)]
pub struct PipelineOutcome {
    /// Where the docpack is.
    pub path: PathBuf,
    /// Its id, checksum (SHA-256 of the file) and size.
    pub pack: PackCompleted,
    /// Ingest's totals.
    pub ingest: IngestCompleted,
    /// Embedding's totals.
    pub embedding: EmbeddingCompleted,
    /// Cluster labels with their sizes, largest first.
    pub clusters: Vec<(String, u64)>,
    /// Edges per kind, and in all.
    pub edges: BTreeMap<String, u64>,
    /// Generation's totals.
    pub generation: GenerationCompleted,
    /// Pages with a model's prose, and how many names in code the prose holds and resolves.
    pub grounding: Grounding,
    /// Wall time per stage. Embedding's runs from the start, beside ingest, so the stages' times
    /// add up to more than `elapsed`.
    pub durations: Vec<(Stage, Duration)>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

/// Sends the failed completion of the stage whose payload is `C`, and gives `info` back.
fn fail<C: Completion + Default>(
    emitter: &EventEmitter,
    send: &mut dyn FnMut(&Envelope),
    info: ErrorInfo,
) -> ErrorInfo {
    send(&emitter.finish(C::default(), Err(info.clone())));
    info
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// What ingest reported, gathered from its events.
#[derive(Default)]
struct Ingested {
    files: Vec<FileAnalysis>,
    chunks: Vec<Chunk>,
    sizes: FileSizes,
}

/// Runs every stage over `job` and writes the docpack to `output` (whole or not at all), sending
/// each event to `send` as it happens. `runtime` drives downloads and model requests; `cancel`
/// stops the run between steps (`cancelled` says why).
pub fn run(
    job: &IngestJob,
    settings: &PipelineSettings,
    output: &Path,
    emitter: &EventEmitter,
    runtime: &Handle,
    cancel: &CancellationToken,
    cancelled: &dyn Fn() -> ErrorInfo,
    send: &mut dyn FnMut(&Envelope),
) -> Result<PipelineOutcome, ErrorInfo> {
    let run_started = Instant::now();
    let mut durations = Vec::new();

    // Ingest, and embedding beside it: each chunk goes to the model as soon as it is made.
    let started = Instant::now();
    let cache = settings.vector_cache();
    // Its own token, so a failed ingest stops it too.
    let stop_embedding = cancel.child_token();
    let mut embedding = EmbedStage::start(settings.model.clone(), cache, stop_embedding.clone())?;
    let mut ingested = Ingested::default();
    let ingest = run_job(job, emitter, runtime, cancel, cancelled, &mut |envelope| {
        match &envelope.payload {
            Payload::IngestFileDetected(file) => {
                ingested
                    .sizes
                    .insert(file.path.clone(), (file.size_bytes, file.language));
            }
            Payload::IngestFileParsed(file) => ingested.files.push(file.clone()),
            Payload::IngestChunkCreated(chunk) => embedding.push(chunk.clone()),
            _ => {}
        }
        send(&envelope);
        embedding.report(emitter, send);
    });
    durations.push((Stage::Ingest, started.elapsed()));
    if ingest.is_err() {
        stop_embedding.cancel();
    }
    let (embedded, embedding_begun) = embedding.finish(emitter, send);
    let ingest = ingest.inspect_err(|info| {
        // The stage that ran beside ingest ends its stream too.
        if embedding_begun {
            fail::<EmbeddingCompleted>(emitter, send, info.clone());
        }
    })?;
    let (chunks, vectors, embedding) = embedded.map_err(|stopped| {
        let info = match stopped {
            Stopped::Cancelled => cancelled(),
            Stopped::Failed(info) => info,
        };
        fail::<EmbeddingCompleted>(emitter, send, info)
    })?;
    ingested.chunks = chunks;
    send(&emitter.finish(embedding.clone(), Ok(())));
    durations.push((Stage::Embed, started.elapsed()));
    if cancel.is_cancelled() {
        return Err(fail::<AssemblyCompleted>(emitter, send, cancelled()));
    }

    // Assemble.
    let started = Instant::now();
    send(&emitter.emit(AssemblyStarted {
        chunk_count: ingested.chunks.len() as u64,
        symbol_count: ingested.files.iter().map(|f| f.symbols.len() as u64).sum(),
    }));
    // The vectors move into the chunks assembly reads and back out for the docpack: one copy of
    // them is held, not two.
    let embedded: Vec<EmbeddedChunk> = ingested
        .chunks
        .iter()
        .zip(vectors)
        .map(|(chunk, vector)| EmbeddedChunk::new(chunk, vector))
        .collect();
    let mut assembly = match assemble(
        std::mem::take(&mut ingested.files),
        &embedded,
        &settings.assembly.options(),
    ) {
        Ok(assembly) => assembly,
        Err(err) => {
            let info = ErrorInfo::new("assembly_failed", err.to_string());
            return Err(fail::<AssemblyCompleted>(emitter, send, info));
        }
    };
    let vectors: Vec<Vec<f32>> = embedded.into_iter().map(|chunk| chunk.vector).collect();
    let (cluster_events, graph_event) = assembly.progress();
    for event in cluster_events {
        send(&emitter.emit(event));
    }
    let edges: BTreeMap<String, u64> = graph_event
        .edges_by_kind
        .iter()
        .map(|(kind, n)| (format!("{kind:?}").to_lowercase(), *n))
        .collect();
    send(&emitter.emit(graph_event));
    let duration = started.elapsed();
    send(&emitter.finish(assembly.summary(millis(duration)), Ok(())));
    durations.push((Stage::Assemble, duration));
    // The files (their calls resolved) apart, the rest as the completion carries it.
    let files = std::mem::take(&mut assembly.files);
    let assembled = assembly.into_completed(millis(duration));
    if cancel.is_cancelled() {
        return Err(fail::<GenerationCompleted>(emitter, send, cancelled()));
    }

    // Generate.
    let started = Instant::now();
    let generator = settings.generator().map_err(|err| {
        let info = ErrorInfo::new(err.code(), err.to_string());
        fail::<GenerationCompleted>(emitter, send, info)
    })?;
    let symbols = symbol_inputs(&ingested.chunks, &assembled.symbol_contexts);
    let pages = match generator.mode() {
        GenerationMode::Llm => {
            prose_tasks_of(job, &ingested.sizes, &ingested.chunks, &files, &assembled)
        }
        GenerationMode::Offline => Vec::new(),
    };
    let documented = document(
        &generator,
        GenerationInput { symbols, pages },
        settings.generation.max_cost_usd,
        emitter,
        |envelope| send(&envelope),
    );
    let Summaries {
        summaries,
        prompts,
        completed: generation,
        prose,
    } = match runtime.block_on(cancel.run_until_cancelled(documented)) {
        // Cancelled while the last summaries were written: the stage ends cancelled all the same.
        Some(Ok(_)) | None if cancel.is_cancelled() => {
            return Err(fail::<GenerationCompleted>(emitter, send, cancelled()));
        }
        Some(Ok(summaries)) => summaries,
        Some(Err(info)) => return Err(fail::<GenerationCompleted>(emitter, send, info)),
        None => return Err(fail::<GenerationCompleted>(emitter, send, cancelled())),
    };
    send(&emitter.finish(generation.clone(), Ok(())));
    durations.push((Stage::Generate, started.elapsed()));
    if cancel.is_cancelled() {
        return Err(fail::<PackCompleted>(emitter, send, cancelled()));
    }

    // Pack.
    let started = Instant::now();
    let Packed {
        contents,
        grounding,
    } = docpack_contents(PackInput {
        job,
        ingest: &ingest,
        sizes: &ingested.sizes,
        chunks: &ingested.chunks,
        vectors,
        files: &files,
        assembled: &assembled,
        summaries: &summaries,
        prompts,
        prose: &prose,
    });
    send(&emitter.emit(PackStarted {
        symbol_count: contents.nodes.len() as u64,
        chunk_count: ingested.chunks.len() as u64,
    }));
    let pack = match write_docpack_file(contents, output) {
        Ok(pack) => pack,
        Err(info) => {
            return Err(fail::<PackCompleted>(emitter, send, info));
        }
    };
    let duration = started.elapsed();
    let pack = PackCompleted {
        duration_ms: millis(duration),
        ..pack
    };
    send(&emitter.finish(pack.clone(), Ok(())));
    durations.push((Stage::Pack, duration));

    let mut clusters: Vec<(String, u64)> = assembled
        .clusters
        .iter()
        .map(|c| (c.label.clone(), c.member_count))
        .collect();
    clusters.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(PipelineOutcome {
        path: output.to_path_buf(),
        pack,
        ingest,
        embedding,
        clusters,
        edges,
        generation,
        grounding,
        durations,
        elapsed: run_started.elapsed(),
    })
}
