//! Embedding: chunks' text in, one vector per chunk out.

use doctown_common::{Chunk, ChunkId, JobId};
use doctown_events::ChunkVector;
use serde::{Deserialize, Serialize};

/// The body of `POST /embed`: one batch of chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedRequest {
    /// The batch's name, given back in the answer.
    pub batch_id: String,
    /// The caller's job id, which the events carry; a new one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    /// The chunks, at least one.
    pub chunks: Vec<ChunkText>,
}

/// A chunk as embedding needs it: its id and its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkText {
    /// The chunk.
    pub chunk_id: ChunkId,
    /// Its text.
    pub content: String,
}

impl From<&Chunk> for ChunkText {
    fn from(chunk: &Chunk) -> Self {
        Self {
            chunk_id: chunk.chunk_id,
            content: chunk.content.clone(),
        }
    }
}

/// The JSON answer of `POST /embed`: one vector per chunk, in the request's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedAnswer {
    /// The request's batch.
    pub batch_id: String,
    /// The vectors.
    pub vectors: Vec<ChunkVector>,
}

impl EmbedAnswer {
    /// The vectors in order, when they are for exactly `chunks` in that order.
    pub fn vectors_for(self, chunks: &[ChunkText]) -> Option<Vec<Vec<f32>>> {
        let matches = self.vectors.len() == chunks.len()
            && self
                .vectors
                .iter()
                .zip(chunks)
                .all(|(vector, chunk)| vector.chunk_id == chunk.chunk_id);
        matches.then(|| self.vectors.into_iter().map(|v| v.vector).collect())
    }
}

/// What embedding made of one batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embedded {
    /// One vector per chunk, in the batch's order.
    pub vectors: Vec<Vec<f32>>,
    /// How many of them came from a cache.
    pub cached: u64,
}
