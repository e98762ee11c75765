//! Doctown's shared vocabulary: the identifiers, ranges, languages, symbols, calls, imports and
//! chunks that every crate speaks, and the one error type they report with.
//!
//! This crate does no I/O.

mod analysis;
mod chunk;
mod error;
mod ids;
mod language;
mod range;
mod symbol;

pub use analysis::{
    Call, CallKind, FileAnalysis, Import, ImportKind, Symbol, SymbolTag, Visibility,
};
pub use chunk::Chunk;
pub use error::{Error, Result};
pub use ids::{ChunkId, EventId, JobId, SymbolId, TraceId};
pub use language::Language;
pub use range::{ByteRange, LineRange};
pub use symbol::SymbolKind;
