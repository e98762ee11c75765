//! Assembly: the files' analyses and the embedded chunks in; clusters, the code graph and every
//! symbol's context out.

use doctown_common::{Artifact, Chunk, ChunkId, FileAnalysis, JobId, SymbolId};
use doctown_events::AssemblyCompleted;
use serde::{Deserialize, Serialize};

use crate::{BadField, Received, Sent};

/// The body of `POST /assemble`: the input inline (`files` and `chunks`), or the reference of
/// the stored [`AssemblyInput`] (`input`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssembleRequest {
    /// The caller's job id, which the events carry; a new one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    /// Where the input is kept, instead of inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Artifact>,
    /// The analyses of the files the chunks come from (`ingest.file_parsed` payloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileAnalysis>>,
    /// The chunks with their vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks: Option<Vec<EmbeddedChunk>>,
}

impl AssembleRequest {
    /// A request for job `job_id` carrying `sent`.
    pub fn new(job_id: JobId, sent: Sent<AssemblyInput>) -> Self {
        match sent {
            Sent::Inline(input) => Self {
                job_id: Some(job_id),
                files: Some(input.files),
                chunks: Some(input.chunks),
                ..Self::default()
            },
            Sent::Stored(artifact) => Self {
                job_id: Some(job_id),
                input: Some(artifact),
                ..Self::default()
            },
        }
    }

    /// The job and the input the request gives.
    pub fn received(self) -> Received<AssemblyInput> {
        let sent = match (self.input, self.files, self.chunks) {
            (Some(_), Some(_), _) => return Err(BadField::Doubled("files")),
            (Some(_), _, Some(_)) => return Err(BadField::Doubled("chunks")),
            (Some(artifact), None, None) => Sent::Stored(artifact),
            (None, None, _) => return Err(BadField::Missing("files")),
            (None, _, None) => return Err(BadField::Missing("chunks")),
            (None, Some(files), Some(chunks)) => Sent::Inline(AssemblyInput { files, chunks }),
        };
        Ok((self.job_id, sent))
    }
}

/// What assembly takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssemblyInput {
    /// The analyses of the files the chunks come from.
    pub files: Vec<FileAnalysis>,
    /// The chunks with their vectors.
    pub chunks: Vec<EmbeddedChunk>,
}

/// A chunk with its embedding: what assembly needs of a chunk (not its text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddedChunk {
    /// The chunk.
    pub chunk_id: ChunkId,
    /// Its file, relative to the repository root.
    pub path: String,
    /// The symbols it belongs to (empty for a file-level chunk).
    #[serde(default)]
    pub symbol_ids: Vec<SymbolId>,
    /// Its embedding; every chunk's must have the same dimensions.
    pub vector: Vec<f32>,
}

impl EmbeddedChunk {
    /// `chunk` with its `vector`.
    pub fn new(chunk: &Chunk, vector: Vec<f32>) -> Self {
        Self {
            chunk_id: chunk.chunk_id,
            path: chunk.path.clone(),
            symbol_ids: chunk.symbol_ids.clone(),
            vector,
        }
    }
}

/// What assembly made, as the later stages read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assembled {
    /// The files and their symbols.
    pub files: Vec<FileAnalysis>,
    /// Clusters, graph and contexts, as the completion event carries them.
    pub completed: AssemblyCompleted,
}
