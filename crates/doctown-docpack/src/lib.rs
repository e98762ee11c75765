//! The `.docpack` format, version 1: a gzip-compressed tar of JSON members (and an optional
//! binary one) that records a repository's symbols, graph, clusters, source map and, optionally,
//! embeddings, the contexts its summaries were made from and its pages of documentation. `docs/docpack-spec.md` specifies it.
//!
//! [`write_docpack`] turns [`DocpackContents`] into a reproducible archive: the same contents
//! give the same bytes. [`read_docpack`] reads one back and verifies everything it can: the
//! schema version, the manifest's checksum, each member's size and sha256, the docpack id, and
//! that the statistics agree with the members. Both are pure: they take readers and writers,
//! never paths.

mod embeddings;
mod error;
mod model;
mod read;
mod write;

pub use embeddings::{EmbeddingSet, Embeddings};
pub use error::DocpackError;
pub use model::{
    Checksum, Citation, Cluster, Clusters, Edge, EdgeKind, Generator, Graph, GraphNode,
    GraphNodeKind, Manifest, Member, Node, Nodes, OptionalMembers, Page, PageKind, Pages,
    SourceChunk, SourceFile, SourceInfo, SourceMap, Statistics, SymbolContext, SymbolContextEntry,
    SymbolContexts,
};
pub use read::{Docpack, ReadLimits, read_docpack, read_manifest};
pub use write::{DocpackContents, HashingWriter, write_docpack};

/// The version this crate writes; it reads every `docpack/1.x`.
pub const SCHEMA_VERSION: &str = "docpack/1.1";

/// The name of the manifest, always the archive's first member.
pub const MANIFEST: &str = "manifest.json";

/// The names of the other members.
pub mod member {
    /// Clusters of chunks with labels.
    pub const CLUSTERS: &str = "clusters.json";
    /// The optional embeddings.
    pub const EMBEDDINGS: &str = "embeddings.bin";
    /// The code graph.
    pub const GRAPH: &str = "graph.json";
    /// Every symbol with its documentation.
    pub const NODES: &str = "nodes.json";
    /// Every file and where its chunks lie.
    pub const SOURCE_MAP: &str = "source_map.json";
    /// The optional contexts and prompts of the summaries.
    pub const SYMBOL_CONTEXTS: &str = "symbol_contexts.json";
    /// The optional pages: the overview, a page per module and per topic (`docpack/1.1`).
    pub const PAGES: &str = "pages.json";

    /// Members every docpack has.
    pub const REQUIRED: [&str; 4] = [CLUSTERS, GRAPH, NODES, SOURCE_MAP];
    /// Members a docpack may have.
    pub const OPTIONAL: [&str; 3] = [EMBEDDINGS, PAGES, SYMBOL_CONTEXTS];
}
