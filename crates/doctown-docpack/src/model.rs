//! The members of a docpack as typed data. Fields are declared in alphabetical order, as the
//! writer puts every object's keys.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use doctown_common::{
    ByteRange, ChunkId, FileAnalysis, Language, LineRange, Parameter, Symbol, SymbolId, SymbolKind,
    Visibility,
};
use serde::{Deserialize, Serialize};

/// `manifest.json`: what the docpack is, where it came from, and the checksums of its members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The checksum of this manifest (see the spec: computed with `checksum.value` empty).
    pub checksum: Checksum,
    /// When the docpack was made (an input of the writer, so output stays reproducible).
    pub created_at: DateTime<Utc>,
    /// The content identity: sha256 of the member listing.
    pub docpack_id: String,
    /// What made it.
    pub generator: Generator,
    /// Every member but the manifest, sorted by path.
    pub members: Vec<Member>,
    /// Which optional members are present.
    pub optional: OptionalMembers,
    /// `docpack/<major>.<minor>`.
    pub schema_version: String,
    /// The repository documented.
    pub source: SourceInfo,
    /// Counts, for readers that want them without reading the members.
    pub statistics: Statistics,
}

/// A checksum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    /// Always `sha256`.
    pub algorithm: String,
    /// Lowercase hex.
    pub value: String,
}

/// The program that made a docpack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Generator {
    /// Its name, such as `doctown`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// One member of the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member's name in the archive, such as `nodes.json`.
    pub path: String,
    /// Lowercase hex sha256 of its bytes.
    pub sha256: String,
    /// Its size in bytes.
    pub size_bytes: u64,
}

/// Which optional members a docpack holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionalMembers {
    /// `embeddings.bin` is present.
    pub has_embeddings: bool,
    /// `symbol_contexts.json` is present.
    pub has_symbol_contexts: bool,
    /// `pages.json` is present (from `docpack/1.1`; absent, and so false, before).
    #[serde(default)]
    pub has_pages: bool,
}

/// The repository a docpack documents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The commit documented, when the source has one.
    pub commit_hash: Option<String>,
    /// The reference asked for, when one was.
    pub git_ref: Option<String>,
    /// The repository's URL, or the folder or archive it was read from.
    pub repo_url: String,
}

/// Counts of what a docpack holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistics {
    /// Chunks in the source map.
    pub chunk_count: u64,
    /// Clusters.
    pub cluster_count: u64,
    /// Graph edges.
    pub edge_count: u64,
    /// Dimensions of each embedding; 0 without embeddings.
    pub embedding_dimensions: u32,
    /// Files in the source map.
    pub file_count: u64,
    /// Files per language id (`rust`, `python`…); files without a parsed language are not
    /// counted here.
    pub languages: BTreeMap<String, u64>,
    /// Pages of `pages.json` (from `docpack/1.1`; 0 without pages).
    #[serde(default)]
    pub page_count: u64,
    /// Symbols (entries of `nodes.json`).
    pub symbol_count: u64,
}

impl Statistics {
    /// The statistics of these members: what the writer records and the reader checks.
    pub(crate) fn of(
        nodes: &[Node],
        graph: &Graph,
        clusters: &[Cluster],
        files: &[SourceFile],
        pages: &[Page],
        embedding_dimensions: u32,
    ) -> Self {
        let mut languages = BTreeMap::new();
        for language in files.iter().filter_map(|file| file.language) {
            *languages.entry(language.id().to_owned()).or_default() += 1;
        }
        Self {
            chunk_count: files.iter().map(|f| f.chunks.len() as u64).sum(),
            cluster_count: clusters.len() as u64,
            edge_count: graph.edges.len() as u64,
            embedding_dimensions,
            file_count: files.len() as u64,
            languages,
            page_count: pages.len() as u64,
            symbol_count: nodes.len() as u64,
        }
    }
}

/// `nodes.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Nodes {
    /// Every symbol, sorted by path, then start byte, then id.
    pub nodes: Vec<Node>,
}

/// A symbol with its documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The symbol's bytes in its file (half-open).
    pub byte_range: ByteRange,
    /// PageRank in the code graph, normalised to 0..=1.
    pub centrality: f64,
    /// The cluster of its chunks, when it was clustered.
    pub cluster_id: Option<u32>,
    /// Its doc comment, as written.
    pub doc: Option<String>,
    /// Its id.
    pub id: SymbolId,
    /// Its kind.
    pub kind: SymbolKind,
    /// Its file's language.
    pub language: Language,
    /// Its lines (1-based, inclusive).
    pub line_range: LineRange,
    /// Its name.
    pub name: String,
    /// The symbol that contains it.
    pub parent: Option<SymbolId>,
    /// Its file, relative to the repository root.
    pub path: String,
    /// Its name qualified by its containers (`Class.method`).
    pub qualified_name: String,
    /// Its signature, on one line.
    pub signature: String,
    /// Its generated summary (one or two sentences), when one was made.
    pub summary: Option<String>,
    /// Who can see it.
    pub visibility: Visibility,
}

impl Node {
    /// The node of every symbol of `files`, in file and source order, with its centrality in
    /// `graph` (0 when the graph has no node for it), its cluster and its summary.
    pub fn all_of(
        files: &[FileAnalysis],
        graph: &Graph,
        cluster: impl Fn(SymbolId) -> Option<u32>,
        summary: impl Fn(SymbolId) -> Option<String>,
    ) -> Vec<Node> {
        let centrality: HashMap<&str, f64> = graph
            .nodes
            .iter()
            .map(|node| (node.id.as_str(), node.centrality))
            .collect();
        files
            .iter()
            .flat_map(|file| file.symbols.iter().map(move |symbol| (file, symbol)))
            .map(|(file, symbol)| {
                let rank = centrality
                    .get(symbol.id.to_string().as_str())
                    .copied()
                    .unwrap_or(0.0);
                Node::of(file, symbol, rank, cluster(symbol.id), summary(symbol.id))
            })
            .collect()
    }

    /// The node of `symbol`, found in `file`, with its centrality, cluster and summary.
    pub fn of(
        file: &FileAnalysis,
        symbol: &Symbol,
        centrality: f64,
        cluster_id: Option<u32>,
        summary: Option<String>,
    ) -> Node {
        Node {
            byte_range: symbol.byte_range,
            centrality,
            cluster_id,
            doc: symbol.doc.clone(),
            id: symbol.id,
            kind: symbol.kind,
            language: file.language,
            line_range: symbol.line_range,
            name: symbol.name.clone(),
            parent: symbol.parent,
            path: file.path.clone(),
            qualified_name: symbol.qualified_name.clone(),
            signature: symbol.signature.clone(),
            summary,
            visibility: symbol.visibility,
        }
    }
}

/// `graph.json`: the code graph.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    /// Edges over nodes: `edges / (nodes × (nodes − 1))`, 0 with fewer than two nodes.
    pub density: f64,
    /// Typed edges, sorted by source, target, then kind.
    pub edges: Vec<Edge>,
    /// Files, modules and symbols, sorted by id.
    pub nodes: Vec<GraphNode>,
}

impl Graph {
    /// How many edges of each kind it has.
    pub fn edges_by_kind(&self) -> BTreeMap<EdgeKind, u64> {
        let mut counts = BTreeMap::new();
        for edge in &self.edges {
            *counts.entry(edge.kind).or_insert(0) += 1;
        }
        counts
    }
}

/// A node of the graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphNode {
    /// PageRank, normalised to 0..=1.
    pub centrality: f64,
    /// A symbol id, or `file:<path>` / `module:<name>`.
    pub id: String,
    /// Edges arriving.
    pub in_degree: u32,
    /// What it is.
    pub kind: GraphNodeKind,
    /// A name for people: the qualified name, the path, the module.
    pub label: String,
    /// Edges leaving.
    pub out_degree: u32,
}

/// What a graph node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GraphNodeKind {
    /// A file of the repository.
    File,
    /// A module or package imported but not a file of the repository.
    Module,
    /// A symbol (its id is the symbol id).
    Symbol,
}

/// A typed edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// Its type.
    pub kind: EdgeKind,
    /// For `related`: the cosine similarity; absent otherwise.
    pub score: Option<f64>,
    /// The node it leaves.
    pub source: String,
    /// The node it reaches.
    pub target: String,
}

/// The type of an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// A file contains a symbol, a class its method.
    Contains,
    /// A symbol calls another (resolved call sites).
    Calls,
    /// A file imports a file, module or symbol.
    Imports,
    /// Two symbols whose code is similar.
    Related,
}

/// `clusters.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Clusters {
    /// Clusters, sorted by id.
    pub clusters: Vec<Cluster>,
}

/// A cluster of chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// Its id, from 0.
    pub cluster_id: u32,
    /// One to three words naming it.
    pub label: String,
    /// How many chunks it holds.
    pub member_count: u64,
    /// Its chunks, sorted.
    pub member_ids: Vec<ChunkId>,
    /// The chunks nearest its centroid, nearest first.
    pub representative_ids: Vec<ChunkId>,
}

/// `source_map.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceMap {
    /// Every file read, sorted by path.
    pub files: Vec<SourceFile>,
}

/// A file read, and where its chunks lie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// Its size in bytes.
    pub bytes: u64,
    /// Its chunks, in file order.
    pub chunks: Vec<SourceChunk>,
    /// Its language, when parsed.
    pub language: Option<Language>,
    /// Its path relative to the repository root.
    pub path: String,
}

/// Where a chunk lies in its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceChunk {
    /// Its bytes (half-open).
    pub byte_range: ByteRange,
    /// Its content address.
    pub chunk_id: ChunkId,
    /// Its lines (1-based, inclusive).
    pub line_range: LineRange,
    /// The symbols it covers.
    pub symbol_ids: Vec<SymbolId>,
}

/// `symbol_contexts.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SymbolContexts {
    /// One entry per summarised symbol, sorted by symbol id.
    pub contexts: Vec<SymbolContextEntry>,
}

/// What a summary was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolContextEntry {
    /// The context.
    pub context: SymbolContext,
    /// The exact prompt sent to the model; absent for summaries made offline.
    pub prompt: Option<String>,
    /// The symbol.
    pub symbol_id: SymbolId,
}

/// Everything known about a symbol that its summary may use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolContext {
    /// Names of the symbols that call it (at most 10).
    pub called_by: Vec<String>,
    /// Names of the symbols it calls (at most 10).
    pub calls: Vec<String>,
    /// Its centrality.
    pub centrality: f64,
    /// The label of its cluster.
    pub cluster_label: Option<String>,
    /// Its doc comment.
    pub doc: Option<String>,
    /// Its file.
    pub file_path: String,
    /// The imports of its file that it uses.
    pub imports: Vec<String>,
    /// Its kind.
    pub kind: SymbolKind,
    /// Its language.
    pub language: Language,
    /// Its name.
    pub name: String,
    /// What it declares inside it (a type's methods), by name, at most 10.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// What a function or method takes, its receiver left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    /// The names of the three most related symbols.
    pub related: Vec<String>,
    /// The type a function or method declares it returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns: Option<String>,
    /// Its signature.
    pub signature: String,
}

/// `pages.json`: the documentation a reader starts from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pages {
    /// The overview first, then the module pages, then the topic pages, each kind by id.
    pub pages: Vec<Page>,
}

/// One page of documentation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Its text, in CommonMark with GitHub's tables and fenced code (diagrams are ```` ```mermaid ````
    /// blocks); links to other pages, symbols and source lines use the `doctown:` URIs of the
    /// spec.
    pub body: String,
    /// What it states rests on these: every symbol and source range its body links to.
    pub citations: Vec<Citation>,
    /// The files it covers, sorted.
    pub files: Vec<String>,
    /// Its id: `overview`, `module/<module id>` or `topic/<cluster id>`.
    pub id: String,
    /// What it documents.
    pub kind: PageKind,
    /// The page it sits under (`None` for the overview; the overview for a top-level module
    /// or a topic).
    pub parent: Option<String>,
    /// The symbols it covers, sorted.
    pub symbols: Vec<SymbolId>,
    /// Its title.
    pub title: String,
}

/// What a page documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    /// The repository as a whole.
    Overview,
    /// One module, as its language defines it (a crate or `mod`, a package, a directory).
    Module,
    /// One cluster of related code.
    Topic,
}

impl PageKind {
    /// Its name in `pages.json`: `overview`, `module` or `topic`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Overview => "overview",
            Self::Module => "module",
            Self::Topic => "topic",
        }
    }
}

/// Where a statement of a page comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Citation {
    /// The lines cited (1-based, inclusive).
    pub line_range: LineRange,
    /// The file cited.
    pub path: String,
    /// The symbol cited, when the lines are one symbol's.
    pub symbol_id: Option<SymbolId>,
}

/// What the writer refuses to write and the reader refuses to read about pages: every page's
/// parent is a page, and every symbol and file a page covers or cites is one of the
/// docpack's. Gives what is wrong, in words.
pub(crate) fn check_pages(
    pages: &[Page],
    nodes: &[Node],
    files: &[SourceFile],
) -> Result<(), String> {
    let page_ids: std::collections::HashSet<&str> =
        pages.iter().map(|page| page.id.as_str()).collect();
    let symbols: std::collections::HashSet<SymbolId> = nodes.iter().map(|node| node.id).collect();
    let paths: std::collections::HashSet<&str> =
        files.iter().map(|file| file.path.as_str()).collect();
    for page in pages {
        let name = page.id.escape_debug();
        if let Some(parent) = page
            .parent
            .as_deref()
            .filter(|parent| !page_ids.contains(parent))
        {
            return Err(format!(
                "page {name} sits under {}, which is not a page",
                parent.escape_debug()
            ));
        }
        let cited_symbols = page
            .citations
            .iter()
            .filter_map(|citation| citation.symbol_id);
        if let Some(symbol) = page
            .symbols
            .iter()
            .copied()
            .chain(cited_symbols)
            .find(|id| !symbols.contains(id))
        {
            return Err(format!(
                "page {name} names symbol {symbol}, which nodes.json does not hold"
            ));
        }
        let cited_paths = page.citations.iter().map(|citation| citation.path.as_str());
        if let Some(path) = page
            .files
            .iter()
            .map(String::as_str)
            .chain(cited_paths)
            .find(|path| !paths.contains(path))
        {
            return Err(format!(
                "page {name} names file {path:?}, which the source map does not hold"
            ));
        }
    }
    Ok(())
}

/// What the writer refuses to write and the reader refuses to read about references: every
/// edge of `graph` joins two of its nodes, and every path of the source map is a normal
/// relative path (no root, no `.` or `..` or empty component, no NUL), which a reader can join
/// to a folder of its own without leaving it. Gives what is wrong, in words.
pub(crate) fn check_references(graph: &Graph, files: &[SourceFile]) -> Result<(), String> {
    let ids: std::collections::HashSet<&str> =
        graph.nodes.iter().map(|node| node.id.as_str()).collect();
    for edge in &graph.edges {
        for end in [&edge.source, &edge.target] {
            if !ids.contains(end.as_str()) {
                return Err(format!(
                    "the graph has an edge {} → {} to a node it does not hold ({})",
                    edge.source.escape_debug(),
                    edge.target.escape_debug(),
                    end.escape_debug()
                ));
            }
        }
    }
    if let Some(file) = files.iter().find(|file| !is_normal_relative(&file.path)) {
        return Err(format!(
            "the source map names {:?}, which is not a relative path inside the repository",
            file.path
        ));
    }
    Ok(())
}

/// Whether `path` is `a/b/c`: relative, with no empty, `.` or `..` component and no NUL.
fn is_normal_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\0')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}
