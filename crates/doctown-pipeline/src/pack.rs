//! The docpack made from what the stages left: its contents gathered ([`docpack_contents`]) and
//! written whole or not at all ([`write_docpack_file`]).

use std::collections::{BTreeMap, HashMap};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use doctown_common::{Chunk, FileAnalysis, SymbolId};
use doctown_contracts::generate::ProseTask;
use doctown_contracts::ingest::FileSizes;
use doctown_docpack::{
    DocpackContents, EmbeddingSet, Generator as DocpackGenerator, Graph, HashingWriter, Node,
    SourceChunk, SourceFile, SourceInfo, SymbolContextEntry, write_docpack,
};
use doctown_embedding::DIMENSIONS;
use doctown_events::{AssemblyCompleted, ErrorInfo, IngestCompleted, PackCompleted};
use doctown_ingest::{IngestJob, Source};
use doctown_pages::{Grounding, Repository, is_readme};

/// What a docpack is made of, as the stages left it.
#[derive(Debug)]
pub struct PackInput<'a> {
    /// The job, for the source it names.
    pub job: &'a IngestJob,
    /// Ingest's totals (the commit).
    pub ingest: &'a IngestCompleted,
    /// Every file detected.
    pub sizes: &'a FileSizes,
    /// The chunks, in the order of `vectors`.
    pub chunks: &'a [Chunk],
    /// Each chunk's vector.
    pub vectors: Vec<Vec<f32>>,
    /// The files and their symbols.
    pub files: &'a [FileAnalysis],
    /// Assembly's result: clusters, graph, contexts.
    pub assembled: &'a AssemblyCompleted,
    /// Each symbol's summary.
    pub summaries: &'a HashMap<SymbolId, String>,
    /// The prompts model summaries were written from.
    pub prompts: HashMap<SymbolId, String>,
    /// The prose a model wrote for pages, by page id.
    pub prose: &'a BTreeMap<String, String>,
}

/// Every symbol as the docpack keeps it: with its centrality in `assembled`'s graph, its
/// cluster and (when written) its summary.
fn nodes_of(
    files: &[FileAnalysis],
    assembled: &AssemblyCompleted,
    summaries: &HashMap<SymbolId, String>,
) -> Vec<Node> {
    Node::all_of(
        files,
        assembled.graph.as_ref().unwrap_or(&Graph::default()),
        |id| assembled.symbol_clusters.get(&id).copied(),
        |id| summaries.get(&id).cloned(),
    )
}

/// Every file detected, with the chunks of each when given.
fn source_files(
    sizes: &FileSizes,
    mut chunks_by_file: BTreeMap<&str, Vec<SourceChunk>>,
) -> Vec<SourceFile> {
    sizes
        .iter()
        .map(|(path, (bytes, language))| SourceFile {
            bytes: *bytes,
            chunks: chunks_by_file.remove(path.as_str()).unwrap_or_default(),
            language: *language,
            path: path.clone(),
        })
        .collect()
}

/// What a model is asked to write prose about, page by page, bottom-up
/// ([`doctown_pages::prose_tasks`]), from what the stages before generation left.
pub fn prose_tasks_of(
    job: &IngestJob,
    sizes: &FileSizes,
    chunks: &[Chunk],
    files: &[FileAnalysis],
    assembled: &AssemblyCompleted,
) -> Vec<ProseTask> {
    let nodes = nodes_of(files, assembled, &HashMap::new());
    let graph = assembled.graph.clone().unwrap_or_default();
    doctown_pages::prose_tasks(&Repository {
        name: &job.source.name(),
        analyses: files,
        nodes: &nodes,
        graph: &graph,
        clusters: &assembled.clusters,
        source_map: &source_files(sizes, BTreeMap::new()),
        readmes: &readmes(chunks),
        prose: &BTreeMap::new(),
    })
}

/// A docpack's contents, and how grounded the prose on its pages is.
#[derive(Debug)]
pub struct Packed {
    /// What the docpack holds.
    pub contents: DocpackContents,
    /// The grounding of the pages' prose (all zero without prose).
    pub grounding: Grounding,
}

/// When the docpack is dated: `SOURCE_DATE_EPOCH` when set, else the newest modification time
/// of a local source's files (so an unchanged tree gives the same bytes), else now.
fn created_at(job: &IngestJob, sizes: &FileSizes) -> DateTime<Utc> {
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
        sizes
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
pub fn docpack_contents(input: PackInput<'_>) -> Packed {
    let PackInput {
        job,
        ingest,
        sizes,
        chunks,
        vectors,
        files,
        assembled,
        summaries,
        mut prompts,
        prose,
    } = input;
    let graph = assembled.graph.clone().unwrap_or_default();
    let nodes = nodes_of(files, assembled, summaries);
    let mut chunks_by_file: BTreeMap<&str, Vec<SourceChunk>> = BTreeMap::new();
    for chunk in chunks {
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
    let source_map = source_files(sizes, chunks_by_file);
    let mut embeddings = EmbeddingSet::new(DIMENSIONS as u32);
    for (chunk, vector) in chunks.iter().zip(vectors) {
        if let Err(err) = embeddings.insert(chunk.chunk_id, vector) {
            tracing::warn!("a vector left out of the docpack: {err}");
        }
    }
    let symbol_contexts: Vec<SymbolContextEntry> = assembled
        .symbol_contexts
        .iter()
        .map(|entry| SymbolContextEntry {
            context: entry.context.clone(),
            prompt: prompts.remove(&entry.symbol_id),
            symbol_id: entry.symbol_id,
        })
        .collect();
    let readmes = readmes(chunks);
    let name = job.source.name();
    let repository = Repository {
        name: &name,
        analyses: files,
        nodes: &nodes,
        graph: &graph,
        clusters: &assembled.clusters,
        source_map: &source_map,
        readmes: &readmes,
        prose,
    };
    let pages = doctown_pages::pages(&repository);
    let grounding = doctown_pages::grounding(&repository);
    let contents = DocpackContents {
        created_at: created_at(job, sizes),
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
        clusters: assembled.clusters.clone(),
        graph,
        source_map,
        embeddings: Some(embeddings),
        symbol_contexts: Some(symbol_contexts),
        pages: Some(pages),
    };
    Packed {
        contents,
        grounding,
    }
}

/// The text of each README, put back together from its chunks (which may overlap).
fn readmes(chunks: &[Chunk]) -> BTreeMap<String, String> {
    let mut parts: BTreeMap<&str, Vec<&Chunk>> = BTreeMap::new();
    for chunk in chunks.iter().filter(|chunk| is_readme(&chunk.path)) {
        parts.entry(chunk.path.as_str()).or_default().push(chunk);
    }
    parts
        .into_iter()
        .map(|(path, mut pieces)| {
            pieces.sort_by_key(|chunk| chunk.byte_range.start());
            let mut text = String::new();
            let mut covered = 0usize;
            for piece in pieces {
                let start = piece.byte_range.start();
                let skip = covered.saturating_sub(start);
                if let Some(rest) = piece.content.get(skip..) {
                    text.push_str(rest);
                }
                covered = covered.max(piece.byte_range.end());
            }
            (path.to_owned(), text)
        })
        .collect()
}

/// Writes the docpack beside `output` and renames it into place, so `output` is never half
/// written; gives its id, checksum and size.
pub fn write_docpack_file(
    contents: DocpackContents,
    output: &Path,
) -> Result<PackCompleted, ErrorInfo> {
    let io = |what: &str, err: std::io::Error| {
        ErrorInfo::new("io", format!("cannot {what} {}: {err}", output.display()))
    };
    let folder = match output.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".doctown-").suffix(".docpack.partial");
    // A temporary file is made private (0600); the docpack is the user's file, made as any
    // other: 0666 less the umask.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let file = builder
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
