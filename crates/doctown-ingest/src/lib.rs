//! The ingest stage: from a repository URL, a folder or an archive to a stream of files,
//! skipped files and chunks, reported as `ingest.*` events.
//!
//! [`Source::parse`] reads what the user gave; [`archive::unpack`] unpacks archives safely;
//! [`ingest_tree`] walks a folder, filters it ([`filter`]) and parses it in parallel, reporting
//! each file and chunk as soon as it is known.

pub mod archive;
pub mod filter;
pub mod github;
mod pipeline;
mod source;

pub use pipeline::{IngestError, IngestItem, IngestOptions, ingest_tree, ranked};
pub use source::{
    ACCEPTED_FORMS, ArchiveFormat, GitHubRepo, Source, archive_format, checkout_commit,
};
