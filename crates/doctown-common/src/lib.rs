//! Doctown's shared vocabulary: the identifiers, ranges, languages, symbols, calls, imports and
//! chunks that every crate speaks, and the one error type they report with.
//!
//! This crate does no I/O (it reads the environment to name the cache folder).

mod analysis;
mod artifact;
mod chunk;
mod error;
mod ids;
mod language;
mod paths;
mod range;
mod symbol;

pub use analysis::{
    Call, CallKind, EntryKind, EntryPoint, FileAnalysis, Import, ImportKind, Parameter, Symbol,
    SymbolTag, Visibility,
};
pub use artifact::{Artifact, is_checksum};
pub use chunk::Chunk;
pub use error::{Error, Result};
pub use ids::{ChunkId, EventId, JobId, SymbolId, TraceId};
pub use language::Language;
pub use paths::cache_dir;
pub use range::{ByteRange, LineRange};
pub use symbol::SymbolKind;
