//! Jobs, their events, what their stages made and their docpacks, in PostgreSQL (sqlx, the
//! schema of `migrations/`, applied on connect).
//!
//! Every status change is a compare-and-set checked by the state machine first
//! ([`JobStore::transition`]), so two coordinators, or a redelivered message, cannot move a job
//! twice. Events are numbered as they are stored, under the job row's lock, so a job's stream
//! has one order whoever appended to it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use doctown_common::JobId;
use doctown_events::{Envelope, ErrorInfo, JobStatus};
use serde::Serialize;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Row, postgres::PgConnectOptions};
use uuid::Uuid;

/// The schema, built into the binary.
static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations");

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

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct JobStore {
    pool: PgPool,
}

fn uuid(id: JobId) -> Uuid {
    id.as_uuid()
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

const JOB_COLUMNS: &str = "id, repo_url, git_ref, commit_sha, status, stage, error, cost_usd, \
     input_tokens, output_tokens, duration_ms, created_at, updated_at, completed_at";

fn malformed(what: &'static str, reason: impl ToString) -> StoreError {
    StoreError::Malformed {
        what,
        reason: reason.to_string(),
    }
}

fn job_record(row: &PgRow) -> Result<JobRecord, StoreError> {
    let status: String = row.try_get("status")?;
    let stage: Option<String> = row.try_get("stage")?;
    let error: Option<serde_json::Value> = row.try_get("error")?;
    Ok(JobRecord {
        job_id: JobId::from_uuid(row.try_get("id")?).map_err(|err| malformed("job id", err))?,
        repo_url: row.try_get("repo_url")?,
        git_ref: row.try_get("git_ref")?,
        commit_sha: row.try_get("commit_sha")?,
        status: status.parse().map_err(|err| malformed("job status", err))?,
        stage: stage
            .map(|stage| stage.parse())
            .transpose()
            .map_err(|err| malformed("job stage", err))?,
        error: error
            .map(serde_json::from_value)
            .transpose()
            .map_err(|err| malformed("job error", err))?,
        cost_usd: row.try_get("cost_usd")?,
        input_tokens: count(row.try_get("input_tokens")?),
        output_tokens: count(row.try_get("output_tokens")?),
        duration_ms: row.try_get::<Option<i64>, _>("duration_ms")?.map(count),
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        completed_at: row.try_get("completed_at")?,
    })
}

impl JobStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATIONS.run(&pool).await?;
        Ok(Self { pool })
    }

    /// Records a new job, `queued`.
    pub async fn create_job(
        &self,
        job_id: JobId,
        repo_url: &str,
        git_ref: Option<&str>,
    ) -> Result<JobRecord, StoreError> {
        let row = sqlx::query(&format!(
            "INSERT INTO jobs (id, repo_url, git_ref, stage) VALUES ($1, $2, $3, 'queued') \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(uuid(job_id))
        .bind(repo_url)
        .bind(git_ref)
        .fetch_one(&self.pool)
        .await?;
        job_record(&row)
    }

    /// The job `job_id`, if there is one.
    pub async fn job(&self, job_id: JobId) -> Result<Option<JobRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(uuid(job_id))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_record).transpose()
    }

    /// Up to `limit` jobs, newest first, starting after the job `after` (the last of the
    /// previous page) when given.
    pub async fn jobs(
        &self,
        limit: u32,
        after: Option<JobId>,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let rows = match after {
            None => {
                sqlx::query(&format!(
                    "SELECT {JOB_COLUMNS} FROM jobs ORDER BY created_at DESC, id DESC LIMIT $1"
                ))
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?
            }
            Some(after) => {
                sqlx::query(&format!(
                    "SELECT {JOB_COLUMNS} FROM jobs \
                     WHERE (created_at, id) < (SELECT created_at, id FROM jobs WHERE id = $2) \
                     ORDER BY created_at DESC, id DESC LIMIT $1"
                ))
                .bind(i64::from(limit))
                .bind(uuid(after))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(job_record).collect()
    }

    /// The jobs not yet ended, oldest first: what a restarted coordinator resumes.
    pub async fn unfinished_jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs \
             WHERE status NOT IN ('completed', 'failed', 'cancelled') ORDER BY created_at"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_record).collect()
    }

    /// Moves the job from `from` to `to` if the state machine allows it and the job is still in
    /// `from`; gives whether it moved. Ending a job records when, how long it took, and `error`.
    pub async fn transition(
        &self,
        job_id: JobId,
        from: JobStatus,
        to: JobStatus,
        error: Option<&ErrorInfo>,
    ) -> Result<bool, StoreError> {
        if from.transition(to).is_err() {
            return Ok(false);
        }
        let error = error
            .map(serde_json::to_value)
            .transpose()
            .map_err(|err| malformed("job error", err))?;
        let moved = sqlx::query(
            "UPDATE jobs SET status = $3, \
                 stage = CASE WHEN $4 THEN stage ELSE $3 END, \
                 error = COALESCE($5, error), \
                 updated_at = now(), \
                 completed_at = CASE WHEN $4 THEN now() ELSE completed_at END, \
                 duration_ms = CASE WHEN $4 \
                     THEN (extract(epoch FROM now() - created_at) * 1000)::bigint \
                     ELSE duration_ms END \
             WHERE id = $1 AND status = $2",
        )
        .bind(uuid(job_id))
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(to.is_terminal())
        .bind(error)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(moved == 1)
    }

    /// Records the commit ingest resolved.
    pub async fn set_commit(&self, job_id: JobId, commit_sha: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET commit_sha = $2, updated_at = now() WHERE id = $1")
            .bind(uuid(job_id))
            .bind(commit_sha)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records what the job's summaries cost.
    pub async fn set_cost(
        &self,
        job_id: JobId,
        cost_usd: f64,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE jobs SET cost_usd = $2, input_tokens = $3, output_tokens = $4, \
             updated_at = now() WHERE id = $1",
        )
        .bind(uuid(job_id))
        .bind(cost_usd)
        .bind(signed(input_tokens))
        .bind(signed(output_tokens))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Appends `events` to the job's stream in one transaction, numbering them after the last
    /// stored (each envelope's `sequence` is set to its place).
    pub async fn append_events(
        &self,
        job_id: JobId,
        events: &mut [Envelope],
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut transaction = self.pool.begin().await?;
        let last: i64 = sqlx::query_scalar(
            "UPDATE jobs SET last_sequence = last_sequence + $2, updated_at = now() \
             WHERE id = $1 RETURNING last_sequence",
        )
        .bind(uuid(job_id))
        .bind(events.len() as i64)
        .fetch_one(&mut *transaction)
        .await?;
        let first = count(last) + 1 - events.len() as u64;
        let mut sequences = Vec::with_capacity(events.len());
        let mut ids = Vec::with_capacity(events.len());
        let mut types = Vec::with_capacity(events.len());
        let mut bodies = Vec::with_capacity(events.len());
        for (envelope, sequence) in events.iter_mut().zip(first..) {
            envelope.sequence = sequence;
            sequences.push(signed(sequence));
            ids.push(envelope.event_id.as_uuid());
            types.push(envelope.event_type().as_str());
            bodies.push(envelope.to_json().map_err(|err| malformed("event", err))?);
        }
        sqlx::query(
            "INSERT INTO job_events (job_id, sequence, event_id, event_type, envelope) \
             SELECT $1, sequence, event_id, event_type, envelope::jsonb \
             FROM UNNEST($2::bigint[], $3::uuid[], $4::text[], $5::text[]) \
                 AS e(sequence, event_id, event_type, envelope)",
        )
        .bind(uuid(job_id))
        .bind(&sequences)
        .bind(&ids)
        .bind(&types)
        .bind(&bodies)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Up to `limit` of the job's events after sequence `after`, in order.
    pub async fn events_after(
        &self,
        job_id: JobId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Envelope>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT envelope::text FROM job_events WHERE job_id = $1 AND sequence > $2 \
             ORDER BY sequence LIMIT $3",
        )
        .bind(uuid(job_id))
        .bind(signed(after))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|json| Envelope::from_json(json).map_err(|err| malformed("event", err)))
            .collect()
    }

    /// Keeps what `stage` made for the job under `key`; a second write of the same key keeps
    /// the first (a redelivered message's work is the same work).
    pub async fn put_result(
        &self,
        job_id: JobId,
        stage: &str,
        key: &str,
        body: &impl Serialize,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_vec(body).map_err(|err| malformed("stage result", err))?;
        sqlx::query(
            "INSERT INTO stage_results (job_id, stage, key, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(uuid(job_id))
        .bind(stage)
        .bind(key)
        .bind(body)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// What `stage` made for the job under `key`, if it has.
    pub async fn result<T: serde::de::DeserializeOwned>(
        &self,
        job_id: JobId,
        stage: &str,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let body: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT body FROM stage_results WHERE job_id = $1 AND stage = $2 AND key = $3",
        )
        .bind(uuid(job_id))
        .bind(stage)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        body.map(|body| serde_json::from_slice(&body))
            .transpose()
            .map_err(|err| malformed("stage result", err))
    }

    /// What `stage` made for the job under each of `keys`, in their order; `None` when one is
    /// missing.
    pub async fn results<T: serde::de::DeserializeOwned>(
        &self,
        job_id: JobId,
        stage: &str,
        keys: &[String],
    ) -> Result<Option<Vec<T>>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, body FROM stage_results WHERE job_id = $1 AND stage = $2 \
             AND key = ANY($3)",
        )
        .bind(uuid(job_id))
        .bind(stage)
        .bind(keys)
        .fetch_all(&self.pool)
        .await?;
        let mut bodies: std::collections::HashMap<String, Vec<u8>> = rows
            .iter()
            .map(|row| Ok((row.try_get("key")?, row.try_get("body")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let mut results = Vec::with_capacity(keys.len());
        for key in keys {
            let Some(body) = bodies.remove(key) else {
                return Ok(None);
            };
            results
                .push(serde_json::from_slice(&body).map_err(|err| malformed("stage result", err))?);
        }
        Ok(Some(results))
    }

    /// How many of `keys` `stage` has made results for.
    pub async fn count_results(
        &self,
        job_id: JobId,
        stage: &str,
        keys: &[String],
    ) -> Result<u64, StoreError> {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM stage_results WHERE job_id = $1 AND stage = $2 \
             AND key = ANY($3)",
        )
        .bind(uuid(job_id))
        .bind(stage)
        .bind(keys)
        .fetch_one(&self.pool)
        .await?;
        Ok(count(done))
    }

    /// Forgets what the job's stages made: kept until the docpack is stored, not after.
    pub async fn clear_results(&self, job_id: JobId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM stage_results WHERE job_id = $1")
            .bind(uuid(job_id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records the job's docpack (once; a second record of the same job keeps the first).
    pub async fn put_docpack(
        &self,
        job_id: JobId,
        docpack: &DocpackRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO docpacks (id, job_id, checksum, size_bytes, storage_key) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (job_id) DO NOTHING",
        )
        .bind(&docpack.docpack_id)
        .bind(uuid(job_id))
        .bind(&docpack.checksum)
        .bind(signed(docpack.size_bytes))
        .bind(&docpack.storage_key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The job's docpack, once stored.
    pub async fn docpack(&self, job_id: JobId) -> Result<Option<DocpackRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, checksum, size_bytes, storage_key FROM docpacks WHERE job_id = $1",
        )
        .bind(uuid(job_id))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(DocpackRecord {
                docpack_id: row.try_get("id")?,
                checksum: row.try_get("checksum")?,
                size_bytes: count(row.try_get("size_bytes")?),
                storage_key: row.try_get("storage_key")?,
            })
        })
        .transpose()
    }
}
