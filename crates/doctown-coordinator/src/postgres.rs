//! The store in PostgreSQL (sqlx, the schema of `migrations/`, applied on connect). Events are
//! numbered under the job row's lock, in the transaction that stores them.

use std::collections::HashMap;
use std::time::Duration;

use doctown_common::JobId;
use doctown_events::{Envelope, ErrorInfo, EventType, JobStatus};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Row};
use uuid::Uuid;

use crate::store::{DocpackRecord, JobRecord, JobStore, Kept, StoreError, malformed};

/// The schema, built into the binary.
static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations");

/// The store in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
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

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        // One connection first: a database that is not there fails now, not after the pool's
        // patience.
        PgConnection::connect_with(&options).await?.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATIONS.run(&pool).await?;
        Ok(Self { pool })
    }
}

impl JobStore for PgStore {
    async fn create_job(
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

    async fn job(&self, job_id: JobId) -> Result<Option<JobRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(uuid(job_id))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(job_record).transpose()
    }

    async fn jobs(&self, limit: u32, after: Option<JobId>) -> Result<Vec<JobRecord>, StoreError> {
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

    async fn unfinished_jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs \
             WHERE status NOT IN ('completed', 'failed', 'cancelled') ORDER BY created_at"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_record).collect()
    }

    async fn transition(
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

    async fn set_commit(&self, job_id: JobId, commit_sha: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE jobs SET commit_sha = $2, updated_at = now() WHERE id = $1")
            .bind(uuid(job_id))
            .bind(commit_sha)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_cost(
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

    async fn append_events(
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

    async fn events_after(
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

    async fn stream_end(&self, job_id: JobId) -> Result<Option<u64>, StoreError> {
        // `job.completed` is the last event of a job: one step back along the primary key.
        let last: Option<(String, i64)> = sqlx::query_as(
            "SELECT event_type, sequence FROM job_events WHERE job_id = $1 \
             ORDER BY sequence DESC LIMIT 1",
        )
        .bind(uuid(job_id))
        .fetch_optional(&self.pool)
        .await?;
        Ok(last
            .filter(|(event_type, _)| event_type == EventType::JobCompleted.as_str())
            .map(|(_, sequence)| u64::try_from(sequence).unwrap_or(0)))
    }

    async fn put_result(
        &self,
        job_id: JobId,
        stage: &str,
        key: &str,
        body: Vec<u8>,
    ) -> Result<Kept, StoreError> {
        // Kept only while the job runs: a stage finishing after its job was cancelled leaves
        // nothing behind, and is told so.
        let running: bool = sqlx::query_scalar(
            "WITH running AS (SELECT id FROM jobs WHERE id = $1 \
                 AND status NOT IN ('completed', 'failed', 'cancelled')), \
             kept AS (INSERT INTO stage_results (job_id, stage, key, body) \
                 SELECT $1, $2, $3, $4 FROM running ON CONFLICT DO NOTHING) \
             SELECT EXISTS (SELECT 1 FROM running)",
        )
        .bind(uuid(job_id))
        .bind(stage)
        .bind(key)
        .bind(body)
        .fetch_one(&self.pool)
        .await?;
        Ok(if running {
            Kept::Yes
        } else {
            Kept::JobHadEnded
        })
    }

    async fn results(
        &self,
        job_id: JobId,
        stage: &str,
        keys: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let rows = sqlx::query(
            "SELECT key, body FROM stage_results WHERE job_id = $1 AND stage = $2 \
             AND key = ANY($3)",
        )
        .bind(uuid(job_id))
        .bind(stage)
        .bind(keys)
        .fetch_all(&self.pool)
        .await?;
        let mut bodies: HashMap<String, Vec<u8>> = rows
            .iter()
            .map(|row| Ok((row.try_get("key")?, row.try_get("body")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        Ok(keys.iter().map(|key| bodies.remove(key)).collect())
    }

    async fn count_results(
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

    async fn clear_results(&self, job_id: JobId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM stage_results WHERE job_id = $1")
            .bind(uuid(job_id))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn put_docpack(&self, job_id: JobId, docpack: &DocpackRecord) -> Result<(), StoreError> {
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

    async fn docpack(&self, job_id: JobId) -> Result<Option<DocpackRecord>, StoreError> {
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
