//! Doctown's assembly stage, pure (data in, data out): clusters of chunk embeddings with
//! readable labels, related pairs by blockwise cosine similarity, and PageRank. Building the code
//! graph and the symbol contexts from them comes next.

mod cluster;
mod graph;
mod labels;

pub use cluster::{AssemblyError, ClusterOptions, Clustering, cluster};
pub use graph::{Related, pagerank, related};
pub use labels::{LabelSource, label_clusters, tokens};
