//! The schema in migrations/ on the real PostgreSQL that `scripts/services start` runs
//! (DOCTOWN_TEST_DATABASE_URL): it applies and reverts cleanly, its status column takes exactly
//! the statuses of `JobStatus`, and a job's stream keeps one event per sequence number.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use doctown_common::JobId;
use doctown_events::JobStatus;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use support::Scratch;

async fn tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schema_applies_reverts_and_holds_what_the_state_machine_allows() {
    let scratch = Scratch::new().await;
    let pool = &scratch.pool;
    let migrator = Migrator::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations"))
        .await
        .unwrap();
    migrator.run(pool).await.unwrap();
    assert_eq!(
        tables(pool).await,
        ["docpacks", "job_events", "jobs", "stage_results"]
    );

    // Every status the state machine knows is a status the table takes, and nothing else is.
    let insert = |status: String| {
        sqlx::query("INSERT INTO jobs (id, repo_url, status) VALUES ($1::uuid, 'https://github.com/o/r', $2)")
            .bind(JobId::generate().to_string())
            .bind(status)
            .execute(pool)
    };
    for status in JobStatus::ALL {
        insert(status.to_string()).await.unwrap();
    }
    assert!(insert("done".into()).await.is_err());

    // One envelope per place in a job's stream.
    let job: String = sqlx::query_scalar("SELECT id::text FROM jobs LIMIT 1")
        .fetch_one(pool)
        .await
        .unwrap();
    let event = |sequence: i64| {
        sqlx::query(
            "INSERT INTO job_events (job_id, sequence, event_id, event_type, envelope) VALUES ($1::uuid, $2, $3::uuid, 'job.created.v1', '{}')",
        )
        .bind(job.clone())
        .bind(sequence)
        .bind(JobId::generate().to_string())
        .execute(pool)
    };
    event(1).await.unwrap();
    event(2).await.unwrap();
    assert!(event(2).await.is_err(), "a sequence number twice");
    assert!(event(0).await.is_err(), "sequence numbers start at 1");

    migrator.undo(pool, 0).await.unwrap();
    assert!(tables(pool).await.is_empty());
    scratch.drop().await;
}
