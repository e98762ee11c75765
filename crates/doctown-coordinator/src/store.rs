//! Where the coordinator keeps jobs, their events, what their stages made and their docpacks:
//! the [`JobStore`] trait, kept in PostgreSQL ([`PgStore`]) by a fleet and in memory
//! ([`MemoryStore`]) by `doctown serve`.
//!
//! Every status change is a compare-and-set checked by the state machine first
//! ([`JobStore::transition`]), so two coordinators, or a redelivered message, cannot move a job
//! twice. Events are numbered as they are stored, so a job's stream has one order whoever
//! appended to it.

use std::future::Future;

use chrono::{DateTime, Utc};
use doctown_common::JobId;
use doctown_events::{Envelope, ErrorInfo, JobStatus};
use serde::Serialize;

pub use crate::memory_store::MemoryStore;
pub use crate::postgres::PgStore;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or refused a statement.
    #[error("the database failed: {0}; check DOCTOWN_DATABASE_URL and that PostgreSQL is running")]
    Database(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("the database schema could not be migrated: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A row holds what this coordinator did not write.
    #[error("the database holds a malformed {what}: {reason}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it cannot be read.
        reason: String,
    },
}

/// A job as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    /// Its id.
    pub job_id: JobId,
    /// The repository.
    pub repo_url: String,
    /// The reference asked for.
    pub git_ref: Option<String>,
    /// The commit ingest resolved.
    pub commit_sha: Option<String>,
    /// Where it is.
    pub status: JobStatus,
    /// The stage it is in, or was in when it ended.
    pub stage: Option<JobStatus>,
    /// Why it failed.
    pub error: Option<ErrorInfo>,
    /// What its summaries cost, in US dollars.
    pub cost_usd: f64,
    /// Prompt tokens spent.
    pub input_tokens: u64,
    /// Completion tokens spent.
    pub output_tokens: u64,
    /// Wall time from creation to its end.
    pub duration_ms: Option<u64>,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it ended.
    pub completed_at: Option<DateTime<Utc>>,
}

/// Whether what a stage made for a job was kept ([`JobStore::put_result`]).
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// It was, or the same key was kept before.
    Yes,
    /// The job had ended (or never was): nothing of it is kept any more.
    JobHadEnded,
}

/// A stored docpack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocpackRecord {
    /// Its id (the SHA-256 of its canonical contents).
    pub docpack_id: String,
    /// The SHA-256 of the file.
    pub checksum: String,
    /// Its size.
    pub size_bytes: u64,
    /// Where the store keeps it.
    pub storage_key: String,
}

/// Jobs, their events, their stages' results and their docpacks.
pub trait JobStore: Clone + Send + Sync + 'static {
    /// Records a new job, `queued`.
    fn create_job(
        &self,
        job_id: JobId,
        repo_url: &str,
        git_ref: Option<&str>,
    ) -> impl Future<Output = Result<JobRecord, StoreError>> + Send;

    /// The job `job_id`, if there is one.
    fn job(
        &self,
        job_id: JobId,
    ) -> impl Future<Output = Result<Option<JobRecord>, StoreError>> + Send;

    /// Up to `limit` jobs, newest first, starting after the job `after` (the last of the
    /// previous page) when given.
    fn jobs(
        &self,
        limit: u32,
        after: Option<JobId>,
    ) -> impl Future<Output = Result<Vec<JobRecord>, StoreError>> + Send;

    /// The jobs not yet ended, oldest first: what a restarted coordinator resumes.
    fn unfinished_jobs(&self) -> impl Future<Output = Result<Vec<JobRecord>, StoreError>> + Send;

    /// Moves the job from `from` to `to` if the state machine allows it and the job is still in
    /// `from`; gives whether it moved. Ending a job records when, how long it took, and `error`.
    fn transition(
        &self,
        job_id: JobId,
        from: JobStatus,
        to: JobStatus,
        error: Option<&ErrorInfo>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records the commit ingest resolved.
    fn set_commit(
        &self,
        job_id: JobId,
        commit_sha: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records what the job's summaries cost.
    fn set_cost(
        &self,
        job_id: JobId,
        cost_usd: f64,
        input_tokens: u64,
        output_tokens: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Appends `events` to the job's stream at once, numbering them after the last stored
    /// (each envelope's `sequence` is set to its place).
    fn append_events(
        &self,
        job_id: JobId,
        events: &mut [Envelope],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Up to `limit` of the job's events after sequence `after`, in order.
    fn events_after(
        &self,
        job_id: JobId,
        after: u64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Envelope>, StoreError>> + Send;

    /// The sequence number of the job's `job.completed`, the last event of every job, once
    /// it is stored; a stream resumed at or after it has nothing more to wait for.
    fn stream_end(
        &self,
        job_id: JobId,
    ) -> impl Future<Output = Result<Option<u64>, StoreError>> + Send;

    /// Keeps what `stage` made for the job under `key` (JSON), unless the job has ended; a
    /// second write of the same key keeps the first (a redelivered message's work is the same
    /// work). Says whether it was kept.
    fn put_result(
        &self,
        job_id: JobId,
        stage: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<Kept, StoreError>> + Send;

    /// What `stage` made for the job under each of `keys`, in their order; `None` for those it
    /// has not.
    fn results(
        &self,
        job_id: JobId,
        stage: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<Vec<Option<Vec<u8>>>, StoreError>> + Send;

    /// How many of `keys` `stage` has made results for.
    fn count_results(
        &self,
        job_id: JobId,
        stage: &str,
        keys: &[String],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Forgets what the job's stages made: kept until the job ends, not after.
    fn clear_results(&self, job_id: JobId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records the job's docpack (once; a second record of the same job keeps the first).
    fn put_docpack(
        &self,
        job_id: JobId,
        docpack: &DocpackRecord,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The job's docpack, once stored.
    fn docpack(
        &self,
        job_id: JobId,
    ) -> impl Future<Output = Result<Option<DocpackRecord>, StoreError>> + Send;
}

/// `error` read as a store error about `what`.
pub(crate) fn malformed(what: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Malformed {
        what,
        reason: reason.to_string(),
    }
}
