//! Packing: a docpack's contents in; the docpack written, stored under its checksum and
//! described.

use chrono::{DateTime, Utc};
use doctown_common::{Artifact, JobId, is_checksum};
use doctown_docpack::{
    Cluster, DocpackContents, Generator, Graph, Node, Page, SourceFile, SourceInfo,
    SymbolContextEntry,
};
use doctown_events::{ChunkVector, PackCompleted};
use serde::{Deserialize, Serialize};

/// The body of `POST /pack`: a job's docpack contents, inline or (`contents`) kept as an
/// artifact in the store the packer shares with its caller. The inline parts are the
/// [`PackParts`] fields, repeated rather than flattened: serde cannot refuse unknown fields
/// around a flattened struct, and a misspelt part must be refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackRequest {
    /// The caller's job id, which the events carry; a new one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    /// Where the parts are kept, instead of inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contents: Option<Artifact>,
    /// When the docpack is dated; pass the commit's time for reproducible output (default:
    /// now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// What made it (default: this packer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<Generator>,
    /// The repository and commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceInfo>,
    /// The symbols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<Node>>,
    /// The code graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph: Option<Graph>,
    /// The clusters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<Cluster>>,
    /// The files and their chunks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_map: Option<Vec<SourceFile>>,
    /// The chunks' vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embeddings: Option<InlineEmbeddings>,
    /// Every symbol's context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol_contexts: Option<Vec<SymbolContextEntry>>,
    /// The pages of documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<Vec<Page>>,
}

impl PackRequest {
    /// A request for the contents kept as `contents`, for job `job_id`.
    pub fn by_reference(job_id: JobId, contents: Artifact) -> Self {
        Self {
            job_id: Some(job_id),
            contents: Some(contents),
            ..Self::default()
        }
    }

    /// The request taken apart: its job id, its artifact, and the parts sent inline (each
    /// absent when the request refers to an artifact instead).
    pub fn into_parts(self) -> (Option<JobId>, Option<Artifact>, PackParts) {
        let parts = PackParts {
            created_at: self.created_at,
            generator: self.generator,
            source: self.source,
            nodes: self.nodes,
            graph: self.graph,
            clusters: self.clusters,
            source_map: self.source_map,
            embeddings: self.embeddings,
            symbol_contexts: self.symbol_contexts,
            pages: self.pages,
        };
        (self.job_id, self.contents, parts)
    }
}

/// What a docpack is made of, as a request carries it inline or an artifact holds it (a
/// [`doctown_docpack::DocpackContents`] serialized reads as one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackParts {
    /// When the docpack is dated.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// What made it.
    #[serde(default)]
    pub generator: Option<Generator>,
    /// The repository and commit.
    #[serde(default)]
    pub source: Option<SourceInfo>,
    /// The symbols.
    #[serde(default)]
    pub nodes: Option<Vec<Node>>,
    /// The code graph.
    #[serde(default)]
    pub graph: Option<Graph>,
    /// The clusters.
    #[serde(default)]
    pub clusters: Option<Vec<Cluster>>,
    /// The files and their chunks.
    #[serde(default)]
    pub source_map: Option<Vec<SourceFile>>,
    /// The chunks' vectors.
    #[serde(default)]
    pub embeddings: Option<InlineEmbeddings>,
    /// Every symbol's context.
    #[serde(default)]
    pub symbol_contexts: Option<Vec<SymbolContextEntry>>,
    /// The pages of documentation.
    #[serde(default)]
    pub pages: Option<Vec<Page>>,
}

/// Embeddings as they travel in a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InlineEmbeddings {
    /// Every vector's length.
    pub dimensions: u32,
    /// One per embedded chunk.
    pub vectors: Vec<ChunkVector>,
}

/// What packing takes: a job's docpack contents.
#[derive(Debug)]
pub struct Contents {
    /// The job.
    pub job_id: JobId,
    /// What its docpack holds.
    pub contents: DocpackContents,
}

/// A docpack written and stored: what a job's record needs of it, every part present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packed {
    /// The docpack's id (from its manifest).
    pub docpack_id: String,
    /// The SHA-256 of its file, which names where it is stored.
    pub checksum: String,
    /// Its size in bytes.
    pub size_bytes: u64,
}

impl TryFrom<PackCompleted> for Packed {
    /// The name of the part that is missing or not valid.
    type Error = &'static str;

    fn try_from(completion: PackCompleted) -> Result<Self, Self::Error> {
        let docpack_id = completion
            .docpack_id
            .filter(|id| !id.is_empty())
            .ok_or("docpack_id")?;
        let checksum = completion
            .checksum
            .filter(|checksum| is_checksum(checksum))
            .ok_or("checksum")?;
        Ok(Self {
            docpack_id,
            checksum,
            size_bytes: completion.size_bytes,
        })
    }
}
