//! Doctown's stages in one process, the embedded default: a repository in, a `.docpack` out.
//!
//! [`run`] drives the same library calls the workers make (ingest's `run_job`, the embedder,
//! `assemble`, the `Generator`, `write_docpack`) and reports every step as the same events, so
//! the CLI renders one stream whichever way the stages ran. Vectors and summaries are cached by
//! content: a second run over an unchanged repository embeds nothing and asks the model nothing,
//! and writes the same bytes.

mod embed;
mod vectors;

use crate::embed::{EmbedStage, Stopped};

use std::collections::{BTreeMap, HashMap};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use doctown_assembly::{AssemblySettings, EmbeddedChunk, assemble};
use doctown_common::{Chunk, FileAnalysis, Language};
use doctown_docpack::{
    DocpackContents, EmbeddingSet, Generator as DocpackGenerator, HashingWriter, Node, SourceChunk,
    SourceFile, SourceInfo, SymbolContextEntry, write_docpack,
};
use doctown_embedding::{DIMENSIONS, MODEL_ID, ModelSettings};
use doctown_events::{
    AssemblyCompleted, AssemblyStarted, Completion, EmbeddingCompleted, Envelope, ErrorInfo,
    EventEmitter, GenerationCompleted, GenerationStarted, IngestCompleted, PackCompleted,
    PackStarted, Payload, SymbolDocumented,
};
use doctown_generation::{GenerationSettings, Generator, SummaryCache, SymbolInput};
use doctown_ingest::{IngestJob, IngestSettings, Source, run_job};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

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
}

/// The stages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Reading, filtering and parsing the repository.
    Ingest,
    /// Embedding the chunks.
    Embed,
    /// Clusters, the graph, contexts.
    Assemble,
    /// Summaries.
    Generate,
    /// Writing the docpack.
    Pack,
}

impl Stage {
    /// Its name, as the CLI shows it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Embed => "embed",
            Stage::Assemble => "assemble",
            Stage::Generate => "generate",
            Stage::Pack => "pack",
        }
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
    sizes: BTreeMap<String, (u64, Option<Language>)>,
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
    let cache = (!settings.no_cache).then(|| {
        VectorCache::new(
            settings.cache_root().join("vectors"),
            format!("{MODEL_ID}/{}", settings.model.max_tokens),
        )
    });
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
    let assembly = match assemble(
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
    if cancel.is_cancelled() {
        return Err(fail::<GenerationCompleted>(emitter, send, cancelled()));
    }

    // Generate.
    let started = Instant::now();
    let generation_settings = &settings.generation;
    let cache = (!settings.no_cache)
        .then(|| SummaryCache::new(generation_settings.cache_dir_in(&settings.cache_root())));
    let generator = Generator::new(
        generation_settings.llm(),
        cache,
        generation_settings.prompt_budget_tokens,
        generation_settings.llm_concurrency,
    )
    .map_err(|err| {
        let info = ErrorInfo::new(err.code(), err.to_string());
        fail::<GenerationCompleted>(emitter, send, info)
    })?;
    let mut code: HashMap<_, String> = HashMap::new();
    for chunk in &ingested.chunks {
        for id in &chunk.symbol_ids {
            let text = code.entry(*id).or_default();
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&chunk.content);
        }
    }
    let symbols: Vec<SymbolInput> = assembly
        .symbol_contexts
        .iter()
        .map(|entry| SymbolInput {
            symbol_id: entry.symbol_id,
            context: entry.context.clone(),
            code: code.remove(&entry.symbol_id),
        })
        .collect();
    drop(code);
    let estimate = generator.estimate(&symbols);
    if let Err(err) = Generator::check_budget(&estimate, generation_settings.max_cost_usd) {
        let info = ErrorInfo::new(err.code(), err.to_string());
        return Err(fail::<GenerationCompleted>(emitter, send, info));
    }
    send(&emitter.emit(GenerationStarted {
        symbol_count: estimate.symbols,
        mode: generator.mode(),
        model: generator.model().to_owned(),
        estimated_input_tokens: estimate.input_tokens,
        estimated_cost_usd: estimate.cost_usd,
    }));
    let mut summaries = HashMap::new();
    let mut prompts = HashMap::new();
    let documented = generator.generate(symbols, |summary| {
        if let Some(prompt) = summary.prompt.clone() {
            prompts.insert(summary.symbol_id, prompt);
        }
        summaries.insert(summary.symbol_id, summary.summary.clone());
        send(&emitter.emit(SymbolDocumented {
            symbol_id: summary.symbol_id,
            summary: summary.summary,
            source: summary.source,
            input_tokens: summary.input_tokens,
            output_tokens: summary.output_tokens,
            error: summary.error,
        }));
    });
    let generation = match runtime.block_on(cancel.run_until_cancelled(documented)) {
        Some(Ok(generation)) => generation,
        Some(Err(err)) => {
            let info = ErrorInfo::new(err.code(), err.to_string());
            return Err(fail::<GenerationCompleted>(emitter, send, info));
        }
        None => return Err(fail::<GenerationCompleted>(emitter, send, cancelled())),
    };
    send(&emitter.finish(generation.clone(), Ok(())));
    durations.push((Stage::Generate, started.elapsed()));
    if cancel.is_cancelled() {
        return Err(fail::<PackCompleted>(emitter, send, cancelled()));
    }

    // Pack.
    let started = Instant::now();
    let contents = contents(
        job,
        &ingest,
        &ingested,
        &assembly,
        vectors,
        &summaries,
        &mut prompts,
    );
    send(&emitter.emit(PackStarted {
        symbol_count: contents.nodes.len() as u64,
        chunk_count: ingested.chunks.len() as u64,
    }));
    let pack = match write_file(contents, output) {
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

    let mut clusters: Vec<(String, u64)> = assembly
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
        durations,
        elapsed: run_started.elapsed(),
    })
}

/// When the docpack is dated: `SOURCE_DATE_EPOCH` when set, else the newest modification time
/// of a local source's files (so an unchanged tree gives the same bytes), else now.
fn created_at(job: &IngestJob, ingested: &Ingested) -> DateTime<Utc> {
    if let Some(seconds) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        && let Some(date) = DateTime::from_timestamp(seconds, 0)
    {
        return date;
    }
    let root = match &job.source {
        Source::Directory(root) | Source::GitCheckout(root) => Some(root.clone()),
        Source::Archive(path, _) => {
            return std::fs::metadata(path)
                .and_then(|m| m.modified())
                .map_or_else(|_| Utc::now(), seconds);
        }
        Source::GitHub(_) => None,
    };
    let newest = root.and_then(|root| {
        ingested
            .sizes
            .keys()
            .filter_map(|path| {
                std::fs::metadata(root.join(path))
                    .and_then(|m| m.modified())
                    .ok()
            })
            .max()
    });
    newest.map_or_else(Utc::now, seconds)
}

/// `time`, to the second (tar headers keep seconds).
fn seconds(time: SystemTime) -> DateTime<Utc> {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DateTime::from_timestamp(i64::try_from(seconds).unwrap_or(0), 0).unwrap_or_default()
}

/// The docpack's contents.
fn contents(
    job: &IngestJob,
    ingest: &IngestCompleted,
    ingested: &Ingested,
    assembly: &doctown_assembly::Assembly,
    vectors: Vec<Vec<f32>>,
    summaries: &HashMap<doctown_common::SymbolId, String>,
    prompts: &mut HashMap<doctown_common::SymbolId, String>,
) -> DocpackContents {
    let centrality: HashMap<&str, f64> = assembly
        .graph
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.centrality))
        .collect();
    let nodes: Vec<Node> = assembly
        .files
        .iter()
        .flat_map(|file| {
            file.symbols.iter().map(|symbol| {
                Node::of(
                    file,
                    symbol,
                    centrality
                        .get(symbol.id.to_string().as_str())
                        .copied()
                        .unwrap_or(0.0),
                    assembly.symbol_clusters.get(&symbol.id).copied(),
                    summaries.get(&symbol.id).cloned(),
                )
            })
        })
        .collect();
    let mut chunks_by_file: BTreeMap<&str, Vec<SourceChunk>> = BTreeMap::new();
    for chunk in &ingested.chunks {
        chunks_by_file
            .entry(chunk.path.as_str())
            .or_default()
            .push(SourceChunk {
                byte_range: chunk.byte_range,
                chunk_id: chunk.chunk_id,
                line_range: chunk.line_range,
                symbol_ids: chunk.symbol_ids.clone(),
            });
    }
    let source_map: Vec<SourceFile> = ingested
        .sizes
        .iter()
        .map(|(path, (bytes, language))| SourceFile {
            bytes: *bytes,
            chunks: chunks_by_file.remove(path.as_str()).unwrap_or_default(),
            language: *language,
            path: path.clone(),
        })
        .collect();
    let mut embeddings = EmbeddingSet::new(DIMENSIONS as u32);
    for (chunk, vector) in ingested.chunks.iter().zip(vectors) {
        if let Err(err) = embeddings.insert(chunk.chunk_id, vector) {
            tracing::warn!("a vector left out of the docpack: {err}");
        }
    }
    let symbol_contexts: Vec<SymbolContextEntry> = assembly
        .symbol_contexts
        .iter()
        .map(|entry| SymbolContextEntry {
            context: entry.context.clone(),
            prompt: prompts.remove(&entry.symbol_id),
            symbol_id: entry.symbol_id,
        })
        .collect();
    DocpackContents {
        created_at: created_at(job, ingested),
        generator: DocpackGenerator {
            name: "doctown".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        source: SourceInfo {
            commit_hash: ingest.commit_sha.clone(),
            git_ref: job.git_ref.clone(),
            repo_url: job.source.to_string(),
        },
        nodes,
        graph: assembly.graph.clone(),
        clusters: assembly.clusters.clone(),
        source_map,
        embeddings: Some(embeddings),
        symbol_contexts: Some(symbol_contexts),
    }
}

/// Writes the docpack beside `output` and renames it into place, so `output` is never half
/// written; gives its id, checksum and size.
fn write_file(contents: DocpackContents, output: &Path) -> Result<PackCompleted, ErrorInfo> {
    let io = |what: &str, err: std::io::Error| {
        ErrorInfo::new("io", format!("cannot {what} {}: {err}", output.display()))
    };
    let folder = match output.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let file = tempfile::Builder::new()
        .prefix(".doctown-")
        .suffix(".docpack.partial")
        .tempfile_in(folder)
        .map_err(|err| io("write beside", err))?;
    let mut out = HashingWriter::new(BufWriter::new(file.as_file()));
    let manifest = write_docpack(contents, &mut out)
        .map_err(|err| ErrorInfo::new(err.code(), err.to_string()))?;
    out.flush().map_err(|err| io("write", err))?;
    let (size, checksum) = out.finish();
    file.persist(output).map_err(|err| io("write", err.error))?;
    Ok(PackCompleted {
        docpack_id: Some(manifest.docpack_id),
        checksum: Some(checksum),
        size_bytes: size,
        url: None,
        duration_ms: 0,
    })
}
