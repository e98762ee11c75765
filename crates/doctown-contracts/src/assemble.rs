//! Assembly: the files' analyses and the embedded chunks in; clusters, the code graph and every
//! symbol's context out.

use doctown_common::{Chunk, ChunkId, FileAnalysis, JobId, SymbolId};
use doctown_events::AssemblyCompleted;
use serde::{Deserialize, Serialize};

/// The body of `POST /assemble`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssembleRequest {
    /// The caller's job id, which the events carry; a new one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    /// The analyses of the files the chunks come from (`ingest.file_parsed` payloads).
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
