//! Doctown's assembly stage, pure (data in, data out): clusters of chunk embeddings with
//! readable labels, related pairs by blockwise cosine similarity, PageRank, and the code graph
//! (files, modules and symbols; contains, calls, imports and related edges), and each symbol's
//! context for generation.

mod assemble;
mod cluster;
mod code_graph;
mod context;
mod graph;
mod labels;
mod settings;

pub use assemble::{Assembly, AssemblyOptions, assemble, progress, validate};
pub use cluster::{AssemblyError, ClusterOptions, Clustering, cluster};
pub use code_graph::{code_graph, file_node, module_node};
pub use context::symbol_contexts;
pub use graph::{Related, pagerank, related};
pub use labels::{LabelSource, label_clusters, tokens};
pub use settings::AssemblySettings;
