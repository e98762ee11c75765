//! The store's contract, checked the same way on both implementations: PostgreSQL (the real
//! server `scripts/services start` runs, a database of this test's own) and memory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use doctown_common::JobId;
use doctown_coordinator::{DocpackRecord, FULL_STREAMS_KEPT, JobStore, Kept, MemoryStore, PgStore};
use doctown_events::{
    ErrorInfo, EventContext, EventEmitter, FileSkipped, JobCompleted, JobCreated, JobStatus,
    SkipReason,
};
use support::Scratch;

fn event(job_id: JobId) -> doctown_events::Envelope {
    EventEmitter::new(job_id, EventContext::default(), "doctown-test/0").emit(FileSkipped {
        path: "a.bin".into(),
        reason: SkipReason::Binary,
        detail: None,
    })
}

async fn jobs_are_listed_newest_first_a_page_at_a_time(store: &impl JobStore) {
    let ids: Vec<JobId> = (0..3).map(|_| JobId::generate()).collect();
    for id in &ids {
        store
            .create_job(*id, "https://github.com/octo/hello", Some("main"))
            .await
            .unwrap();
    }
    let job = store.job(ids[0]).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.git_ref.as_deref(), Some("main"));
    assert!(store.job(JobId::generate()).await.unwrap().is_none());
    let first: Vec<JobId> = store
        .jobs(2, None)
        .await
        .unwrap()
        .iter()
        .map(|j| j.job_id)
        .collect();
    assert_eq!(first, [ids[2], ids[1]]);
    let next: Vec<JobId> = store
        .jobs(2, Some(ids[1]))
        .await
        .unwrap()
        .iter()
        .map(|j| j.job_id)
        .collect();
    assert_eq!(next, [ids[0]]);
}

async fn a_job_moves_only_as_the_state_machine_allows_and_once(store: &impl JobStore) {
    let id = JobId::generate();
    store
        .create_job(id, "https://github.com/o/r", None)
        .await
        .unwrap();
    let moved = |from, to| store.transition(id, from, to, None);
    assert!(
        moved(JobStatus::Queued, JobStatus::Ingesting)
            .await
            .unwrap()
    );
    assert!(
        !moved(JobStatus::Queued, JobStatus::Ingesting)
            .await
            .unwrap(),
        "moved twice"
    );
    assert!(
        !moved(JobStatus::Ingesting, JobStatus::Packing)
            .await
            .unwrap(),
        "skipped stages"
    );
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (job.status, job.stage),
        (JobStatus::Ingesting, Some(JobStatus::Ingesting))
    );
    assert!(job.completed_at.is_none());

    let error = ErrorInfo::new("not_found", "no such repository");
    assert!(
        store
            .transition(id, JobStatus::Ingesting, JobStatus::Failed, Some(&error))
            .await
            .unwrap()
    );
    let job = store.job(id).await.unwrap().unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(
        job.stage,
        Some(JobStatus::Ingesting),
        "the stage it ended in"
    );
    assert_eq!(job.error, Some(error));
    assert!(job.completed_at.is_some() && job.duration_ms.is_some());
    assert!(
        !moved(JobStatus::Failed, JobStatus::Cancelled)
            .await
            .unwrap()
    );
    assert!(
        store
            .unfinished_jobs()
            .await
            .unwrap()
            .iter()
            .all(|j| j.job_id != id)
    );
}

async fn events_are_numbered_as_stored_and_read_back_in_order(store: &impl JobStore) {
    let id = JobId::generate();
    store
        .create_job(id, "https://github.com/o/r", None)
        .await
        .unwrap();
    let mut first = vec![event(id), event(id)];
    store.append_events(id, &mut first).await.unwrap();
    let mut second = vec![event(id)];
    store.append_events(id, &mut second).await.unwrap();
    assert_eq!(
        [first[0].sequence, first[1].sequence, second[0].sequence],
        [1, 2, 3]
    );
    let after_one = store.events_after(id, 1, 10).await.unwrap();
    assert_eq!(after_one, [first[1].clone(), second[0].clone()]);
    assert_eq!(
        store.events_after(id, 0, 1).await.unwrap(),
        [first[0].clone()]
    );
    assert!(store.events_after(id, 3, 10).await.unwrap().is_empty());

    // The stream has no end until its `job.completed` is stored.
    assert_eq!(store.stream_end(id).await.unwrap(), None);
    let emitter = EventEmitter::new(id, EventContext::default(), "doctown-test/0");
    let mut end = vec![emitter.finish(
        JobCompleted {
            docpack_id: None,
            duration_ms: 1,
        },
        Ok(()),
    )];
    store.append_events(id, &mut end).await.unwrap();
    assert_eq!(store.stream_end(id).await.unwrap(), Some(4));
}

/// `doctown serve` runs job after job: finished jobs beyond the last few keep only their
/// `job.*` events, numbered as they were.
#[tokio::test]
async fn the_memory_store_cuts_down_the_streams_of_older_finished_jobs() {
    let store = MemoryStore::new();
    let mut jobs = Vec::new();
    for _ in 0..=FULL_STREAMS_KEPT {
        let id = JobId::generate();
        store
            .create_job(id, "https://github.com/o/r", None)
            .await
            .unwrap();
        let emitter = EventEmitter::new(id, EventContext::default(), "doctown-test/0");
        let mut events = vec![
            emitter.emit(JobCreated {
                repo_url: "https://github.com/o/r".into(),
                git_ref: None,
            }),
            event(id),
            event(id),
            emitter.finish(
                JobCompleted {
                    docpack_id: None,
                    duration_ms: 1,
                },
                Ok(()),
            ),
        ];
        store.append_events(id, &mut events).await.unwrap();
        jobs.push(id);
    }
    let sequences = |events: Vec<doctown_events::Envelope>| -> Vec<u64> {
        events.iter().map(|e| e.sequence).collect()
    };
    let oldest = jobs[0];
    assert_eq!(
        sequences(store.events_after(oldest, 0, 10).await.unwrap()),
        [1, 4]
    );
    assert_eq!(
        sequences(store.events_after(oldest, 1, 10).await.unwrap()),
        [4]
    );
    assert_eq!(store.stream_end(oldest).await.unwrap(), Some(4));
    for &kept in &jobs[1..] {
        assert_eq!(
            sequences(store.events_after(kept, 0, 10).await.unwrap()),
            [1, 2, 3, 4]
        );
    }
}

async fn results_are_kept_once_and_only_while_the_job_runs(store: &impl JobStore) {
    let id = JobId::generate();
    store
        .create_job(id, "https://github.com/o/r", None)
        .await
        .unwrap();
    let keys: Vec<String> = ["a", "b"].map(String::from).to_vec();
    for body in [b"first", b"again"] {
        let kept = store.put_result(id, "embed", "a", body.to_vec()).await;
        assert_eq!(kept.unwrap(), Kept::Yes);
    }
    assert_eq!(
        store.results(id, "embed", &keys).await.unwrap(),
        [Some(b"first".to_vec()), None]
    );
    assert_eq!(store.count_results(id, "embed", &keys).await.unwrap(), 1);
    assert_eq!(store.count_results(id, "ingest", &keys).await.unwrap(), 0);

    store
        .transition(id, JobStatus::Queued, JobStatus::Cancelled, None)
        .await
        .unwrap();
    let late = store.put_result(id, "embed", "b", b"late".to_vec()).await;
    assert_eq!(late.unwrap(), Kept::JobHadEnded);
    assert_eq!(store.count_results(id, "embed", &keys).await.unwrap(), 1);
    store.clear_results(id).await.unwrap();
    assert_eq!(
        store.results(id, "embed", &keys).await.unwrap(),
        [None, None]
    );
}

async fn a_docpack_is_recorded_once(store: &impl JobStore) {
    let id = JobId::generate();
    store
        .create_job(id, "https://github.com/o/r", None)
        .await
        .unwrap();
    assert!(store.docpack(id).await.unwrap().is_none());
    let docpack = |checksum: &str| DocpackRecord {
        docpack_id: "ab".repeat(32),
        checksum: checksum.to_owned(),
        size_bytes: 1234,
        storage_key: format!("docpacks/{}.docpack", "ab".repeat(32)),
    };
    store.put_docpack(id, &docpack("first")).await.unwrap();
    store.put_docpack(id, &docpack("again")).await.unwrap();
    assert_eq!(store.docpack(id).await.unwrap(), Some(docpack("first")));
}

async fn keeps_the_contract(store: impl JobStore) {
    jobs_are_listed_newest_first_a_page_at_a_time(&store).await;
    a_job_moves_only_as_the_state_machine_allows_and_once(&store).await;
    events_are_numbered_as_stored_and_read_back_in_order(&store).await;
    results_are_kept_once_and_only_while_the_job_runs(&store).await;
    a_docpack_is_recorded_once(&store).await;
}

#[tokio::test]
async fn the_memory_store_keeps_the_contract() {
    keeps_the_contract(MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_keeps_the_contract() {
    let scratch = Scratch::new().await;
    keeps_the_contract(PgStore::connect(&scratch.url, 2).await.unwrap()).await;
    scratch.drop().await;
}

#[tokio::test]
async fn an_unreachable_database_is_named_with_what_to_check() {
    let err = PgStore::connect("postgres://doctown@127.0.0.1:9/doctown", 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("DOCTOWN_DATABASE_URL"), "{err}");
}
