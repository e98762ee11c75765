//! The typed payload of every event, one struct per event type.
//!
//! Event types are named `<stage>.<name>.v<version>`. A `<stage>.completed` event ends a stage's
//! stream and is the only kind that carries a status; its payload implements [`Completion`]. All
//! other payloads implement [`Progress`]. The [`events!`] table below is the single list of event
//! types: adding an event is adding a line there and its payload struct.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use doctown_common::{ChunkId, Language, SymbolId, SymbolKind};
use doctown_docpack::{Cluster, EdgeKind, Graph, SymbolContextEntry};
use serde::{Deserialize, Serialize};

use crate::EnvelopeError;
use crate::status::JobStatus;

/// A payload of a `*.completed` event, emitted with a status by
/// [`EventEmitter::finish`](crate::EventEmitter::finish).
pub trait Completion: Into<Payload> {}

/// A payload of any other event, emitted by [`EventEmitter::emit`](crate::EventEmitter::emit).
pub trait Progress: Into<Payload> {}

/// Declares the event types: `Variant(PayloadType) = "stage.name.vN", Progress|Completion;`.
macro_rules! events {
    ($( $(#[$doc:meta])* $variant:ident($payload:ident) = $name:literal, $role:ident; )*) => {
        /// Every event type Doctown emits.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $( $(#[$doc])* $variant, )*
        }

        impl EventType {
            /// Every event type, in the order of the stages.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            /// The full name, `<stage>.<name>.v<version>`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }

            /// Whether this type ends a stage's stream and so carries a status.
            pub fn is_completion(self) -> bool {
                match self {
                    $(EventType::$variant => events!(@is_completion $role),)*
                }
            }
        }

        /// The payload of an event, one variant per [`EventType`].
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Payload {
            $( $(#[$doc])* $variant($payload), )*
        }

        impl Payload {
            /// The event type this payload belongs to.
            pub fn event_type(&self) -> EventType {
                match self {
                    $(Payload::$variant(_) => EventType::$variant,)*
                }
            }

            /// Reads the payload of an event of type `event_type` from JSON.
            pub fn from_json(
                event_type: EventType,
                value: serde_json::Value,
            ) -> Result<Payload, serde_json::Error> {
                match event_type {
                    $(EventType::$variant => serde_json::from_value(value).map(Payload::$variant),)*
                }
            }
        }

        $(
            impl From<$payload> for Payload {
                fn from(payload: $payload) -> Payload {
                    Payload::$variant(payload)
                }
            }

            impl $role for $payload {}
        )*
    };
    (@is_completion Completion) => { true };
    (@is_completion Progress) => { false };
}

events! {
    /// `ingest.started.v1`: ingestion of a source began.
    IngestStarted(IngestStarted) = "ingest.started.v1", Progress;
    /// `ingest.file_detected.v1`: a file will be read and, when its language is known, parsed.
    IngestFileDetected(FileDetected) = "ingest.file_detected.v1", Progress;
    /// `ingest.file_parsed.v1`: a file's symbols (with their calls) and imports; syntax errors
    /// the parser recovered from, or why extraction gave up, are its warnings.
    IngestFileParsed(FileParsed) = "ingest.file_parsed.v1", Progress;
    /// `ingest.file_skipped.v1`: a file was left out, with the reason.
    IngestFileSkipped(FileSkipped) = "ingest.file_skipped.v1", Progress;
    /// `ingest.chunk_created.v1`: a chunk of source is ready for embedding.
    IngestChunkCreated(ChunkCreated) = "ingest.chunk_created.v1", Progress;
    /// `ingest.progress.v1`: how far ingest has come (a job's public log carries these in
    /// place of the per-file and per-chunk events).
    IngestProgress(IngestProgress) = "ingest.progress.v1", Progress;
    /// `ingest.completed.v1`: ingestion ended; totals on success.
    IngestCompleted(IngestCompleted) = "ingest.completed.v1", Completion;
    /// `embedding.batch_started.v1`: a batch of chunks went to the model.
    EmbeddingBatchStarted(BatchStarted) = "embedding.batch_started.v1", Progress;
    /// `embedding.batch_completed.v1`: a batch of chunks has its vectors.
    EmbeddingBatchCompleted(BatchCompleted) = "embedding.batch_completed.v1", Progress;
    /// `embedding.completed.v1`: an embedding request ended; totals on success.
    EmbeddingCompleted(EmbeddingCompleted) = "embedding.completed.v1", Completion;
    /// `assembly.started.v1`: clustering and graph building began.
    AssemblyStarted(AssemblyStarted) = "assembly.started.v1", Progress;
    /// `assembly.cluster_created.v1`: one cluster, with its label.
    AssemblyClusterCreated(ClusterCreated) = "assembly.cluster_created.v1", Progress;
    /// `assembly.graph_completed.v1`: the code graph is built.
    AssemblyGraphCompleted(GraphCompleted) = "assembly.graph_completed.v1", Progress;
    /// `assembly.completed.v1`: assembly ended.
    AssemblyCompleted(AssemblyCompleted) = "assembly.completed.v1", Completion;
    /// `generation.started.v1`: summaries are being written, with the estimated cost.
    GenerationStarted(GenerationStarted) = "generation.started.v1", Progress;
    /// `generation.symbol_documented.v1`: one symbol has its summary.
    GenerationSymbolDocumented(SymbolDocumented) = "generation.symbol_documented.v1", Progress;
    /// `generation.progress.v1`: how far generation has come, with the running cost (a job's
    /// public log carries these in place of the per-symbol events).
    GenerationProgress(GenerationProgress) = "generation.progress.v1", Progress;
    /// `generation.completed.v1`: generation ended, with tokens and cost.
    GenerationCompleted(GenerationCompleted) = "generation.completed.v1", Completion;
    /// `pack.started.v1`: the docpack is being written.
    PackStarted(PackStarted) = "pack.started.v1", Progress;
    /// `pack.completed.v1`: the docpack is stored.
    PackCompleted(PackCompleted) = "pack.completed.v1", Completion;
    /// `job.created.v1`: a job was accepted.
    JobCreated(JobCreated) = "job.created.v1", Progress;
    /// `job.stage_changed.v1`: a job moved to another stage.
    JobStageChanged(StageChanged) = "job.stage_changed.v1", Progress;
    /// `job.failed.v1`: a job failed in a stage; `job.completed` with status `failed` follows.
    JobFailed(JobFailed) = "job.failed.v1", Progress;
    /// `job.completed.v1`: a job ended, successfully or not.
    JobCompleted(JobCompleted) = "job.completed.v1", Completion;
}

impl EventType {
    /// The stage that emits it: `ingest`, `embedding`, `assembly`, `generation`, `pack` or `job`.
    pub fn stage(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or_default()
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = EnvelopeError;

    fn from_str(s: &str) -> Result<Self, EnvelopeError> {
        if let Some(known) = EventType::ALL.iter().find(|known| known.as_str() == s) {
            return Ok(*known);
        }
        let malformed = || EnvelopeError::MalformedEventType {
            value: s.to_owned(),
        };
        let (stem, version) = s.rsplit_once(".v").ok_or_else(malformed)?;
        let well_formed = !version.is_empty()
            && version.bytes().all(|b| b.is_ascii_digit())
            && stem.split('.').count() == 2
            && stem.split('.').all(|part| {
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            });
        if !well_formed {
            return Err(malformed());
        }
        match EventType::ALL
            .iter()
            .find(|known| known.as_str().starts_with(&format!("{stem}.v")))
        {
            Some(known) => Err(EnvelopeError::UnsupportedVersion {
                value: s.to_owned(),
                supported: *known,
            }),
            None => Err(EnvelopeError::UnknownEventType {
                value: s.to_owned(),
            }),
        }
    }
}

/// Where a job's source comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A GitHub repository, downloaded as an archive of one commit.
    Github,
    /// A directory on the local disk.
    Directory,
    /// A local `.zip` or `.tar.gz` archive.
    Archive,
    /// A local git checkout, read as its working tree.
    GitCheckout,
}

/// Why a file was left out of ingestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Matched a default ignore rule or the repository's own `.gitignore`.
    Ignored,
    /// A lock file (`Cargo.lock`, `package-lock.json`, …).
    LockFile,
    /// Vendored third-party code.
    Vendored,
    /// Minified or generated code.
    Generated,
    /// Binary content (a NUL byte in the first block).
    Binary,
    /// Larger than the per-file size limit.
    TooLarge,
    /// The file-count limit was reached before this file.
    LimitReached,
    /// A path escaping the root, an absolute path or a symlink pointing outside.
    UnsafePath,
    /// An archive entry that repeats an earlier one.
    Duplicate,
    /// The file could not be read.
    Unreadable,
}

impl SkipReason {
    /// The identifier used on the wire: `lock_file`, `too_large`, ….
    pub fn id(self) -> &'static str {
        match self {
            SkipReason::Ignored => "ignored",
            SkipReason::LockFile => "lock_file",
            SkipReason::Vendored => "vendored",
            SkipReason::Generated => "generated",
            SkipReason::Binary => "binary",
            SkipReason::TooLarge => "too_large",
            SkipReason::LimitReached => "limit_reached",
            SkipReason::UnsafePath => "unsafe_path",
            SkipReason::Duplicate => "duplicate",
            SkipReason::Unreadable => "unreadable",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// `ingest.started.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestStarted {
    /// The source as the user gave it: a URL, a directory or an archive path.
    pub source: String,
    /// What kind of source it is.
    pub source_kind: SourceKind,
    /// The git reference asked for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

/// `ingest.file_detected.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDetected {
    /// The path relative to the repository root, with `/` separators.
    pub path: String,
    /// The detected language; absent for text files Doctown does not parse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// The file's size.
    pub size_bytes: u64,
}

/// `ingest.file_skipped.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileSkipped {
    /// The path relative to the repository root, with `/` separators.
    pub path: String,
    /// Why it was skipped.
    pub reason: SkipReason,
    /// More detail for people, such as the rule or the limit that applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `ingest.progress.v1`: running totals of ingest, each event holding all of them so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestProgress {
    /// Files found that will be read.
    pub files_detected: u64,
    /// Files parsed into symbols.
    pub files_parsed: u64,
    /// Files left out.
    pub files_skipped: u64,
    /// Chunks made.
    pub chunks: u64,
    /// Files detected per language id (`text` for files read but not parsed).
    pub languages: BTreeMap<String, u64>,
    /// The file detected last, while ingest runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_file: Option<String>,
}

/// `ingest.file_parsed.v1`: everything extracted from one file, for the graph and the docpack.
pub type FileParsed = doctown_common::FileAnalysis;

/// `ingest.chunk_created.v1`: a chunk, with everything the embedding stage needs, content
/// included.
pub type ChunkCreated = doctown_common::Chunk;

/// `ingest.completed.v1`: totals of what was ingested.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IngestCompleted {
    /// The commit that was ingested, when the source has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_sha: Option<String>,
    /// Files read, with or without a language.
    pub files: u64,
    /// Files per detected language.
    pub files_by_language: BTreeMap<Language, u64>,
    /// Symbols per kind.
    pub symbols_by_kind: BTreeMap<SymbolKind, u64>,
    /// Chunks created.
    pub chunks: u64,
    /// Files skipped per reason.
    pub skipped_by_reason: BTreeMap<SkipReason, u64>,
    /// Bytes of the files read.
    pub bytes: u64,
    /// Wall time of the stage.
    pub duration_ms: u64,
}

/// `embedding.batch_started.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchStarted {
    /// The batch's id, as the caller named it.
    pub batch_id: String,
    /// Chunks in the batch.
    pub chunk_count: u64,
}

/// `embedding.batch_completed.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchCompleted {
    /// The batch's id, as the caller named it.
    pub batch_id: String,
    /// Chunks embedded (including those served from the cache).
    pub chunk_count: u64,
    /// Chunks whose vectors came from the cache.
    pub cached_count: u64,
    /// The model that made the vectors.
    pub model: String,
    /// Wall time for the batch.
    pub duration_ms: u64,
    /// The vectors, in the order the chunks were sent; absent on failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vectors: Vec<ChunkVector>,
}

/// `embedding.completed.v1`: totals of an embedding request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingCompleted {
    /// Batches embedded.
    pub batch_count: u64,
    /// Chunks embedded, those served from the cache included.
    pub chunk_count: u64,
    /// Chunks served from the cache.
    pub cached_count: u64,
    /// Wall time.
    pub duration_ms: u64,
}

/// A chunk's embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkVector {
    /// The chunk.
    pub chunk_id: ChunkId,
    /// Its vector (384 floats, L2-normalised, for all-MiniLM-L6-v2).
    pub vector: Vec<f32>,
}

/// `assembly.started.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssemblyStarted {
    /// Chunks (with vectors) to assemble.
    pub chunk_count: u64,
    /// Symbols to place in the graph.
    pub symbol_count: u64,
}

/// `assembly.cluster_created.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterCreated {
    /// The cluster's number, from 0.
    pub cluster_id: u32,
    /// Its 1-3 word label.
    pub label: String,
    /// How many chunks it holds.
    pub member_count: u64,
}

/// `assembly.graph_completed.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphCompleted {
    /// Nodes in the graph.
    pub node_count: u64,
    /// Edges in the graph.
    pub edge_count: u64,
    /// Edges per kind.
    pub edges_by_kind: BTreeMap<EdgeKind, u64>,
    /// Edges over the possible directed edges, 0..1.
    pub density: f64,
}

/// `assembly.completed.v1`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AssemblyCompleted {
    /// Clusters made.
    pub cluster_count: u64,
    /// Nodes in the graph.
    pub node_count: u64,
    /// Edges in the graph.
    pub edge_count: u64,
    /// Wall time of the stage.
    pub duration_ms: u64,
    /// The clusters, with their labels and members; absent on failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<Cluster>,
    /// The cluster of each symbol that has chunks; absent on failure.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub symbol_clusters: BTreeMap<SymbolId, u32>,
    /// The code graph; absent on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<Graph>,
    /// Every symbol's context, the input of generation; absent on failure.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbol_contexts: Vec<SymbolContextEntry>,
}

/// Whether summaries come from a language model or from the offline summarizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GenerationMode {
    /// An OpenAI-compatible API writes the summaries.
    Llm,
    /// A deterministic summarizer writes them from the code's own text, without a model.
    Offline,
}

/// Where one summary came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SummarySource {
    /// Written by the language model in this run.
    Llm,
    /// Taken from the cache of an earlier run.
    Cached,
    /// Written by the offline summarizer.
    Offline,
}

/// `generation.started.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationStarted {
    /// Symbols to document.
    pub symbol_count: u64,
    /// LLM or offline.
    pub mode: GenerationMode,
    /// The model asked for (for offline mode, the summarizer's name).
    pub model: String,
    /// Input tokens of all prompts, counted before sending.
    pub estimated_input_tokens: u64,
    /// The cost bound in US dollars, with outputs at their maximum length.
    pub estimated_cost_usd: f64,
}

/// `generation.symbol_documented.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolDocumented {
    /// The symbol documented.
    pub symbol_id: SymbolId,
    /// Its 1-2 sentence summary.
    pub summary: String,
    /// Where the summary came from.
    pub source: SummarySource,
    /// Prompt tokens spent (0 when cached or offline).
    pub input_tokens: u64,
    /// Completion tokens spent (0 when cached or offline).
    pub output_tokens: u64,
    /// What its tokens cost, in US dollars, at the model's price (0 when cached, offline, or
    /// the price is not known).
    #[serde(default)]
    pub cost_usd: f64,
    /// Why the model's summary failed (the summary is then the offline one); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What generation has spent and made so far: every summary counted once, by [`add`].
///
/// [`add`]: SummaryTotals::add
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryTotals {
    /// Symbols that have a summary, however it was made.
    pub documented: u64,
    /// Symbols whose summary failed after retries (they keep an offline one).
    pub failed: u64,
    /// Summaries taken from the cache.
    pub cached: u64,
    /// Summaries written by the offline summarizer.
    pub offline: u64,
    /// Prompt tokens spent.
    pub input_tokens: u64,
    /// Completion tokens spent.
    pub output_tokens: u64,
    /// What the tokens cost, in US dollars.
    pub cost_usd: f64,
}

impl SummaryTotals {
    /// Counts one more summary.
    pub fn add(&mut self, summary: &SymbolDocumented) {
        self.documented += 1;
        self.failed += u64::from(summary.error.is_some());
        self.cached += u64::from(summary.source == SummarySource::Cached);
        self.offline += u64::from(summary.source == SummarySource::Offline);
        self.input_tokens += summary.input_tokens;
        self.output_tokens += summary.output_tokens;
        self.cost_usd += summary.cost_usd;
    }
}

/// `generation.progress.v1`: running totals of generation, each event holding all of them so
/// far, and the summary written last.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenerationProgress {
    /// The totals so far.
    #[serde(flatten)]
    pub totals: SummaryTotals,
    /// The summary written last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<LatestSummary>,
}

/// One summary, as progress shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatestSummary {
    /// The symbol documented.
    pub symbol_id: SymbolId,
    /// Its summary.
    pub summary: String,
    /// Where the summary came from.
    pub source: SummarySource,
}

/// `generation.completed.v1`: totals, tokens and cost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GenerationCompleted {
    /// The totals of the stage.
    #[serde(flatten)]
    pub totals: SummaryTotals,
    /// Wall time of the stage.
    pub duration_ms: u64,
}

/// `pack.started.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackStarted {
    /// Symbols going into the docpack.
    pub symbol_count: u64,
    /// Chunks going into the docpack.
    pub chunk_count: u64,
}

/// `pack.completed.v1`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PackCompleted {
    /// The docpack's id (the SHA-256 of its canonical contents); absent on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docpack_id: Option<String>,
    /// The SHA-256 of the docpack file; absent on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// The docpack file's size.
    pub size_bytes: u64,
    /// Where it can be downloaded, when it was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Wall time of the stage.
    pub duration_ms: u64,
}

/// `job.created.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobCreated {
    /// The repository to document.
    pub repo_url: String,
    /// The git reference asked for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

/// `job.stage_changed.v1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageChanged {
    /// The state the job left.
    pub from: JobStatus,
    /// The state the job entered.
    pub to: JobStatus,
}

/// `job.failed.v1`: which stage failed; the error is in the envelope's `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobFailed {
    /// The state the job was in when it failed.
    pub stage: JobStatus,
    /// Whether running the job again may succeed (a timeout, a busy server).
    pub retryable: bool,
}

/// `job.completed.v1`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobCompleted {
    /// The docpack made, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docpack_id: Option<String>,
    /// Wall time from creation to the end.
    pub duration_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_stage_name_version_form() {
        for event_type in EventType::ALL {
            let name = event_type.as_str();
            let parts: Vec<_> = name.split('.').collect();
            assert_eq!(parts.len(), 3, "{name}");
            assert_eq!(parts[0], event_type.stage());
            assert_eq!(parts[2], "v1", "{name}");
            // Only `<stage>.completed` events end a stream and carry a status.
            assert_eq!(
                event_type.is_completion(),
                parts[1] == "completed",
                "{name}"
            );
            assert_eq!(name.parse::<EventType>().unwrap(), *event_type);
        }
    }

    #[test]
    fn skip_reason_ids_are_the_wire_names() {
        let all = [
            SkipReason::Ignored,
            SkipReason::LockFile,
            SkipReason::Vendored,
            SkipReason::Generated,
            SkipReason::Binary,
            SkipReason::TooLarge,
            SkipReason::LimitReached,
            SkipReason::UnsafePath,
            SkipReason::Duplicate,
            SkipReason::Unreadable,
        ];
        for reason in all {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.id());
        }
    }

    #[test]
    fn unknown_and_malformed_types_say_what_is_wrong() {
        let err = "ingest.started.v2".parse::<EventType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "event type 'ingest.started.v2' has a version this build cannot read: it reads \
             ingest.started.v1; upgrade Doctown"
        );
        let err = "ingest.exploded.v1".parse::<EventType>().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unknown event type 'ingest.exploded.v1'"),
            "{err}"
        );
        for bad in [
            "",
            "ingest",
            "ingest.started",
            "Ingest.started.v1",
            "a.b.c.v1",
            "a.b.vx",
        ] {
            let err = bad.parse::<EventType>().unwrap_err();
            assert!(
                matches!(err, EnvelopeError::MalformedEventType { .. }),
                "{bad}: {err}"
            );
        }
    }
}
