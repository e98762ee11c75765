//! A chunk: the unit of source that is embedded, searched and shown.

use serde::{Deserialize, Serialize};

use crate::{ByteRange, ChunkId, Language, LineRange, SymbolId};

/// A piece of a file to embed: what it holds, where it is, and which symbols it belongs to.
/// Made by the extraction core, carried by `ingest.chunk_created` events, stored in docpacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// SHA-256 of the path, the byte range and the bytes: the same input gives the same id.
    pub chunk_id: ChunkId,
    /// The file, relative to the repository root, with `/` separators.
    pub path: String,
    /// The file's language, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
    /// The symbols the bytes belong to (several when one statement binds several names); empty
    /// for a file-level chunk.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symbol_ids: Vec<SymbolId>,
    /// Its bytes in the file.
    pub byte_range: ByteRange,
    /// Its lines in the file.
    pub line_range: LineRange,
    /// The text (decoded lossily where the file is not UTF-8).
    pub content: String,
}
