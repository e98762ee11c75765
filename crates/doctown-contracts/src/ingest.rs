//! Ingest: a repository in; every file's analysis and chunk streamed out, then the totals.

use std::collections::BTreeMap;

use doctown_common::{FileAnalysis, JobId, Language};
use doctown_events::IngestCompleted;
use serde::{Deserialize, Serialize};

/// The body of `POST /ingest`: a repository to ingest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestRequest {
    /// A GitHub repository URL, in any of the accepted forms.
    pub repo_url: String,
    /// A branch, tag or commit overriding the URL's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// The caller's job id, which the events carry; a new one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
}

/// Each file's size in bytes and language, by path, as `ingest.file_detected` reports them.
pub type FileSizes = BTreeMap<String, (u64, Option<Language>)>;

/// What ingest made, as the later stages read it (the chunks go to embedding as they come).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingested {
    /// Every parsed file's analysis, in the order ingest reported them.
    pub files: Vec<FileAnalysis>,
    /// Every file's size and language.
    pub sizes: FileSizes,
    /// Ingest's totals.
    pub completed: IngestCompleted,
}
