//! Doctown's code intelligence core: from a file's path and bytes to its symbols (with exact
//! byte and line ranges, signatures, doc comments and decorators), the calls each function makes,
//! the file's imports, and content-addressed chunks; across files, imports resolved to the
//! repository's files and packages, calls resolved to symbols, and the repository's modules as
//! its languages define them.
//!
//! Everything here is pure: callers hand in bytes and get data back. Parsing uses tree-sitter;
//! what is known about each language lives in one module per language under `lang/`.

mod chunk;
mod extract;
mod imports;
mod lang;
mod modules;
mod resolve;
mod text;

pub use chunk::{ChunkOptions, chunk_file, chunk_id};
pub use extract::{DEFAULT_PARSE_TIMEOUT, Extractor, extract};
pub use imports::{ImportTarget, RepoIndex};
pub use modules::{Module, ModuleKind, modules};
pub use resolve::resolve_calls;
