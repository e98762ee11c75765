//! The ingest stage: from a repository URL, a folder or an archive to a stream of files,
//! skipped files and chunks, reported as `ingest.*` events.
//!
//! [`run_job`] runs one job end to end, as the CLI and the worker do. [`Source::parse`] reads
//! what the user gave; [`archive::unpack`] unpacks archives safely;
//! [`ingest_tree`] walks a folder, filters it ([`filter`]) and parses it in parallel, reporting
//! each file and chunk as soon as it is known.

pub mod archive;
pub mod filter;
pub mod github;
mod job;
mod pipeline;
mod settings;
mod source;

pub use job::{IngestJob, run_job};
pub use pipeline::{IngestError, IngestItem, IngestOptions, ingest_tree, ranked};
pub use settings::{IngestSettings, InvalidRequest};
pub use source::{
    ACCEPTED_FORMS, ArchiveFormat, GitHubRepo, GitRef, Source, archive_format, checkout_commit,
};
