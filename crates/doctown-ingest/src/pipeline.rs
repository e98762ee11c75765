//! The ingest stage over a folder: walk it, filter it, parse every file in parallel, and report
//! each file and each chunk as soon as it is known, as event payloads, in a bounded stream.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{OnceLock, mpsc};
use std::time::Instant;

use doctown_common::{Error, Language, SymbolKind};
use doctown_events::{
    ChunkCreated, Envelope, EventEmitter, FileDetected, FileParsed, FileSkipped, IngestCompleted,
    SkipReason,
};
use doctown_intel::{ChunkOptions, chunk_file, extract};
use tokio_util::sync::CancellationToken;

use crate::filter;

/// Limits and settings of an ingest run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// Files larger than this are skipped (default 1 MiB).
    pub max_file_bytes: u64,
    /// The run fails when the files to read hold more than this (default 100 MiB).
    pub max_total_bytes: u64,
    /// Files past this count are skipped (default 20,000).
    pub max_files: usize,
    /// How files are cut into chunks.
    pub chunks: ChunkOptions,
    /// Files parsed at once (default: the available cores), at most the threads of the
    /// process's parsing pool (the cores, or `RAYON_NUM_THREADS`).
    pub threads: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            max_file_bytes: 1024 * 1024,
            max_total_bytes: 100 * 1024 * 1024,
            max_files: 20_000,
            chunks: ChunkOptions::default(),
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// A file the walk found, to be read.
struct Candidate {
    relative: String,
    absolute: PathBuf,
    size: u64,
}

/// Walks `root` and gives the files to read, in path order, and the skipped ones.
fn walk(root: &Path, options: &IngestOptions) -> Result<(Vec<Candidate>, Vec<FileSkipped>), Error> {
    let relative = |path: &Path| {
        let rel = path.strip_prefix(root).unwrap_or(path);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    };
    let mut skipped = Vec::new();
    // Every file, stopping at default-ignored folders (reported once each).
    let mut everything = Vec::new();
    let mut all = ignore::WalkBuilder::new(root);
    all.standard_filters(false)
        .sort_by_file_name(|a, b| a.cmp(b));
    for entry in all.build() {
        let entry =
            entry.map_err(|err| Error::io("read", root, std::io::Error::other(err.to_string())))?;
        everything.push(entry);
    }
    let mut ignored_dirs: Vec<PathBuf> = Vec::new();
    let mut files = Vec::new();
    for entry in everything {
        let path = entry.path();
        if ignored_dirs.iter().any(|dir| path.starts_with(dir)) || path == root {
            continue;
        }
        let Some(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy();
        if kind.is_dir() {
            if let Some((reason, detail)) = filter::skip_directory(&name) {
                skipped.push(FileSkipped {
                    path: format!("{}/", relative(path)),
                    reason,
                    detail: Some(detail.to_owned()),
                });
                ignored_dirs.push(path.to_path_buf());
            }
            continue;
        }
        if kind.is_symlink() {
            skipped.push(FileSkipped {
                path: relative(path),
                reason: SkipReason::UnsafePath,
                detail: Some("symbolic links are not followed".to_owned()),
            });
            continue;
        }
        if kind.is_file() {
            files.push(path.to_path_buf());
        }
    }
    // What git would keep: the same walk with .gitignore (and .ignore) rules applied.
    let mut kept_by_git = HashSet::new();
    let mut filtered = ignore::WalkBuilder::new(root);
    filtered
        .hidden(false)
        .parents(false)
        .require_git(false)
        .git_global(false)
        .git_exclude(false);
    filtered.filter_entry(|entry| {
        filter::skip_directory(&entry.file_name().to_string_lossy()).is_none()
    });
    for entry in filtered.build().flatten() {
        if entry.file_type().is_some_and(|t| t.is_file()) {
            kept_by_git.insert(entry.into_path());
        }
    }
    let mut candidates = Vec::new();
    for path in files {
        let rel = relative(&path);
        if !kept_by_git.contains(&path) {
            skipped.push(FileSkipped {
                path: rel,
                reason: SkipReason::Ignored,
                detail: Some(".gitignore".to_owned()),
            });
            continue;
        }
        if let Some((reason, detail)) = filter::skip_by_path(&rel) {
            skipped.push(FileSkipped {
                path: rel,
                reason,
                detail: Some(detail.to_owned()),
            });
            continue;
        }
        if candidates.len() >= options.max_files {
            skipped.push(FileSkipped {
                path: rel,
                reason: SkipReason::LimitReached,
                detail: Some(format!("over the limit of {} files", options.max_files)),
            });
            continue;
        }
        let size = std::fs::metadata(&path)
            .map_err(|err| Error::io("read", &path, err))?
            .len();
        candidates.push(Candidate {
            relative: rel,
            absolute: path,
            size,
        });
    }
    Ok((candidates, skipped))
}

/// Why an ingest run failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The files to read are over the total size limit.
    #[error(
        "the repository holds {total} bytes of files to read, over the {limit}-byte limit; raise \
         DOCTOWN_MAX_TOTAL_BYTES or ingest a smaller tree"
    )]
    TooLarge {
        /// Bytes of the files that passed the filters.
        total: u64,
        /// The limit.
        limit: u64,
    },
    /// The run was cancelled (the client went away, or the worker is shutting down).
    #[error("ingestion was cancelled")]
    Cancelled,
    /// Reading the source failed.
    #[error(transparent)]
    Source(#[from] Error),
    /// GitHub refused or failed.
    #[error(transparent)]
    GitHub(#[from] crate::github::GitHubError),
    /// The threads that parse files could not be started.
    #[error(
        "could not start the threads that parse files ({0}); the machine may be out of \
         threads or memory: lower RAYON_NUM_THREADS or free some"
    )]
    Threads(String),
}

impl IngestError {
    /// A stable snake_case code for the failed `ingest.completed` event.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::TooLarge { .. } => "size_limit_exceeded",
            IngestError::Cancelled => "cancelled",
            IngestError::Source(err) => err.code(),
            IngestError::GitHub(err) => err.code(),
            IngestError::Threads(_) => "internal",
        }
    }
}

/// One thing the ingest stage reports, in the order it is known.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestItem {
    /// A file or folder left out.
    Skipped(FileSkipped),
    /// A file read.
    Detected(FileDetected),
    /// What was extracted from a file read in a parsed language.
    Parsed(FileParsed),
    /// A chunk of a file read.
    Chunk(ChunkCreated),
}

impl IngestItem {
    /// The item as the next event of `emitter`'s stream.
    pub fn into_envelope(self, emitter: &EventEmitter) -> Envelope {
        match self {
            IngestItem::Skipped(skipped) => emitter.emit(skipped),
            IngestItem::Detected(detected) => emitter.emit(detected),
            IngestItem::Parsed(parsed) => emitter.emit(parsed),
            IngestItem::Chunk(chunk) => emitter.emit(chunk),
        }
    }
}

/// What a parsing thread sends back.
enum Message {
    Item(IngestItem),
    Parsed {
        language: Option<Language>,
        bytes: u64,
        symbols: Vec<SymbolKind>,
    },
}

/// Ingests the folder `root`: reports skipped files, then each read file and its chunks, through
/// `emit`, as soon as they are known; gives the totals, or why the run failed. The payloads come
/// through a bounded queue, so memory stays flat however large the tree.
pub fn ingest_tree(
    root: &Path,
    options: &IngestOptions,
    cancel: &CancellationToken,
    emit: &mut dyn FnMut(IngestItem),
) -> Result<IngestCompleted, IngestError> {
    let started = Instant::now();
    let (candidates, skipped) = walk(root, options)?;
    let mut totals = IngestCompleted::default();
    for skip in skipped {
        *totals.skipped_by_reason.entry(skip.reason).or_default() += 1;
        emit(IngestItem::Skipped(skip));
    }
    let total: u64 = candidates
        .iter()
        .map(|c| c.size.min(options.max_file_bytes + 1))
        .sum();
    let readable: u64 = candidates
        .iter()
        .filter(|c| c.size <= options.max_file_bytes)
        .map(|c| c.size)
        .sum();
    if readable > options.max_total_bytes {
        return Err(IngestError::TooLarge {
            total: total.max(readable),
            limit: options.max_total_bytes,
        });
    }

    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::sync_channel::<Message>(256);
    let threads = options.threads.max(1).min(candidates.len().max(1));
    parsers()?.in_place_scope(|scope| {
        for _ in 0..threads {
            let sender = sender.clone();
            let (next, candidates) = (&next, &candidates);
            scope.spawn(move |_| {
                while !cancel.is_cancelled() {
                    let Some(candidate) = candidates.get(next.fetch_add(1, Ordering::Relaxed))
                    else {
                        break;
                    };
                    for message in process(candidate, options) {
                        if sender.send(message).is_err() {
                            return;
                        }
                    }
                }
            });
        }
        drop(sender);
        for message in receiver {
            match message {
                Message::Item(item) => {
                    match &item {
                        IngestItem::Skipped(skip) => {
                            *totals.skipped_by_reason.entry(skip.reason).or_default() += 1
                        }
                        IngestItem::Chunk(_) => totals.chunks += 1,
                        IngestItem::Detected(_) | IngestItem::Parsed(_) => {}
                    }
                    emit(item);
                }
                Message::Parsed {
                    language,
                    bytes,
                    symbols,
                } => {
                    totals.files += 1;
                    totals.bytes += bytes;
                    if let Some(language) = language {
                        *totals.files_by_language.entry(language).or_default() += 1;
                    }
                    for kind in symbols {
                        *totals.symbols_by_kind.entry(kind).or_default() += 1;
                    }
                }
            }
        }
    });
    if cancel.is_cancelled() {
        return Err(IngestError::Cancelled);
    }
    totals.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(totals)
}

/// The threads that parse files, shared by every run in the process and kept: a server
/// running job after job reuses them (and what their allocators keep per thread), where
/// threads started for each run left the parsers' memory spread over ever more of the
/// allocator's arenas. Nothing else runs on them, so a run waiting for its files never waits
/// on itself.
fn parsers() -> Result<&'static rayon::ThreadPool, IngestError> {
    static PARSERS: OnceLock<Result<rayon::ThreadPool, String>> = OnceLock::new();
    PARSERS
        .get_or_init(|| {
            rayon::ThreadPoolBuilder::new()
                .thread_name(|index| format!("doctown-parse-{index}"))
                .build()
                .map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|reason| IngestError::Threads(reason.clone()))
}

/// Reads, filters, parses and chunks one file.
fn process(candidate: &Candidate, options: &IngestOptions) -> Vec<Message> {
    let skipped = |reason, detail: String| {
        let skipped = FileSkipped {
            path: candidate.relative.clone(),
            reason,
            detail: Some(detail),
        };
        vec![Message::Item(IngestItem::Skipped(skipped))]
    };
    if candidate.size > options.max_file_bytes {
        let detail = format!(
            "{} bytes, over the {}-byte limit per file",
            candidate.size, options.max_file_bytes
        );
        return skipped(SkipReason::TooLarge, detail);
    }
    let bytes = match std::fs::read(&candidate.absolute) {
        Ok(bytes) => bytes,
        Err(err) => return skipped(SkipReason::Unreadable, err.to_string()),
    };
    if let Some((reason, detail)) =
        filter::skip_by_content(&bytes, bytes.len() as u64, options.max_file_bytes)
    {
        return skipped(reason, detail);
    }
    let language = Language::detect(Path::new(&candidate.relative), &bytes);
    let detected = FileDetected {
        path: candidate.relative.clone(),
        language,
        size_bytes: bytes.len() as u64,
    };
    let analysis = language.map(|language| extract(&candidate.relative, &bytes, language));
    let chunks = chunk_file(
        &candidate.relative,
        &bytes,
        language,
        analysis.as_ref(),
        &options.chunks,
    );
    let symbols = analysis
        .as_ref()
        .map(|a| a.symbols.iter().map(|s| s.kind).collect())
        .unwrap_or_default();
    let mut messages = vec![Message::Item(IngestItem::Detected(detected))];
    messages.extend(analysis.map(|a| Message::Item(IngestItem::Parsed(a))));
    messages.extend(
        chunks
            .into_iter()
            .map(|chunk| Message::Item(IngestItem::Chunk(chunk))),
    );
    messages.push(Message::Parsed {
        language,
        bytes: bytes.len() as u64,
        symbols,
    });
    messages
}

/// Counts per key, as a summary table shows them: largest first, then by name.
pub fn ranked<K: Ord + Clone>(counts: &BTreeMap<K, u64>) -> Vec<(K, u64)> {
    let mut rows: Vec<(K, u64)> = counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    rows
}
