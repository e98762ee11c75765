//! Assembly's settings as command-line flags and `DOCTOWN_*` variables, shared by the worker
//! and the CLI.

use crate::{AssemblyOptions, ClusterOptions};

/// How assembly clusters and relates.
#[derive(Debug, Clone, Copy, PartialEq, clap::Args)]
#[command(next_help_heading = "Assembly settings")]
pub struct AssemblySettings {
    /// Cosine similarity from which two symbols get a `related` edge.
    #[arg(long, env = "DOCTOWN_RELATED_THRESHOLD", default_value_t = AssemblyOptions::default().related_threshold, value_name = "0..1")]
    pub related_threshold: f32,

    /// `related` edges kept per symbol at most.
    #[arg(long, env = "DOCTOWN_RELATED_TOP_K", default_value_t = AssemblyOptions::default().related_top_k, value_name = "COUNT")]
    pub related_top_k: usize,

    /// Clusters at most.
    #[arg(long, env = "DOCTOWN_MAX_CLUSTERS", default_value_t = ClusterOptions::default().max_k, value_name = "COUNT")]
    pub max_clusters: usize,
}

impl AssemblySettings {
    /// The options these settings give.
    pub fn options(&self) -> AssemblyOptions {
        AssemblyOptions {
            clusters: ClusterOptions {
                max_k: self.max_clusters.max(1),
                ..ClusterOptions::default()
            },
            related_threshold: self.related_threshold,
            related_top_k: self.related_top_k,
            ..AssemblyOptions::default()
        }
    }
}
