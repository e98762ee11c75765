//! What the coordinator survives, on the real Redis and PostgreSQL: a coordinator killed with
//! SIGKILL in the middle of a job, Redis killed and restarted (with its append-only file) in the
//! middle of a job, an embedding worker killed and restarted in the middle of a job, and 20
//! jobs at once. After a failure the job completes, and its docpack is
//! the very one an undisturbed run makes (docpacks are reproducible: dated by
//! SOURCE_DATE_EPOCH here), so no chunk was lost or counted twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use doctown_events::{Envelope, Payload, Status};
use doctown_testkit::FakeGitHub;
use support::{Coordinator, Fleet, embedding_worker, python_repo};

/// The date every docpack here gets, so equal contents give equal ids.
const EPOCH: (&str, &str) = ("SOURCE_DATE_EPOCH", "1700000000");

/// Follows the job's stream until `stop` says so; gives that event's sequence.
fn follow_until(coordinator: &Coordinator, job_id: &str, stop: fn(&Envelope) -> bool) -> u64 {
    for envelope in coordinator.stream(job_id, None) {
        if stop(&envelope) {
            return envelope.sequence;
        }
    }
    panic!(
        "the stream ended before the awaited event:\n{}",
        coordinator.worker.log()
    );
}

fn first_batch_embedded(envelope: &Envelope) -> bool {
    matches!(envelope.payload, Payload::EmbeddingBatchCompleted(_))
}

/// Checks that the job's events after `after` run on from `after + 1` to a successful
/// `job.completed`.
fn completes_from(coordinator: &Coordinator, job_id: &str, after: u64) {
    let rest = coordinator.events(job_id, Some(after));
    let log = coordinator.worker.log();
    assert_eq!(rest.first().map(|e| e.sequence), Some(after + 1), "{log}");
    for pair in rest.windows(2) {
        assert_eq!(pair[1].sequence, pair[0].sequence + 1);
    }
    let last = rest.last().unwrap();
    assert!(matches!(last.payload, Payload::JobCompleted(_)), "{log}");
    assert_eq!(
        last.status,
        Some(Status::Success),
        "{:?}\n{log}",
        last.error
    );
}

/// Checks the interrupted job's docpack against an undisturbed run of the same repository.
fn same_docpack_as_an_undisturbed_run(coordinator: &Coordinator, job_id: &str, repo_url: &str) {
    let interrupted = coordinator.docpack(job_id);
    let chunks: Vec<_> = interrupted
        .source_map
        .files
        .iter()
        .flat_map(|f| f.chunks.iter().map(|c| c.chunk_id))
        .collect();
    let unique: HashSet<_> = chunks.iter().collect();
    assert_eq!(
        unique.len(),
        chunks.len(),
        "a chunk is in the docpack twice"
    );
    let clean = coordinator.submit_job(repo_url);
    completes_from(coordinator, &clean, 0);
    assert_eq!(
        coordinator.docpack(&clean).manifest.docpack_id,
        interrupted.manifest.docpack_id,
        "the interrupted job's docpack differs from an undisturbed run's"
    );
}

#[test]
fn a_coordinator_killed_mid_job_finishes_it_after_a_restart() {
    let github = FakeGitHub::start(vec![python_repo("big", 150)]);
    let fleet = Fleet::new();
    let env = [EPOCH, ("DOCTOWN_CONSUMER_NAME", "coordinator-a")];
    let mut first = fleet.start(&github.base, &env);
    let repo_url = "https://github.com/octo/big";
    let job_id = first.submit_job(repo_url);
    let seen = follow_until(&first, &job_id, first_batch_embedded);
    first.worker.child.kill().unwrap();
    first.worker.child.wait().unwrap();

    // Restarted under its name, it takes back the work it had and carries on; a client picks
    // the stream up where it broke off.
    let second = fleet.start(&github.base, &env);
    completes_from(&second, &job_id, seen);
    same_docpack_as_an_undisturbed_run(&second, &job_id, repo_url);
}

/// A Redis of its own, writing every command to its append-only file before answering.
struct PrivateRedis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let child = Self::spawn(port, dir.path());
        Self { child, port, dir }
    }

    fn spawn(port: u16, dir: &Path) -> Child {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is not on PATH: scripts/services installs it");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL, a pause, and a start on the same port and files.
    fn kill_and_restart(&mut self, down: Duration) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        std::thread::sleep(down);
        self.child = Self::spawn(self.port, self.dir.path());
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

#[test]
fn a_job_survives_redis_killed_and_restarted_with_its_append_only_file() {
    let mut redis = PrivateRedis::start();
    let github = FakeGitHub::start(vec![python_repo("big", 150)]);
    let mut fleet = Fleet::new();
    fleet.redis = redis.url();
    // Work whose handler failed while Redis was down is taken again after this long.
    let env = [EPOCH, ("DOCTOWN_QUEUE_VISIBILITY_SECS", "2")];
    let coordinator = fleet.start(&github.base, &env);
    let repo_url = "https://github.com/octo/big";
    let job_id = coordinator.submit_job(repo_url);
    let seen = follow_until(&coordinator, &job_id, first_batch_embedded);
    redis.kill_and_restart(Duration::from_secs(1));
    completes_from(&coordinator, &job_id, seen);
    same_docpack_as_an_undisturbed_run(&coordinator, &job_id, repo_url);
}

/// Events with when they arrived.
type Arrivals = Vec<(Envelope, chrono::DateTime<Utc>)>;

/// Milliseconds from each event's creation (its timestamp) to its arrival on the stream.
fn latencies(events: &Arrivals) -> Vec<f64> {
    events
        .iter()
        .map(|(envelope, arrived)| {
            (*arrived - envelope.timestamp).num_microseconds().unwrap() as f64 / 1000.0
        })
        .collect()
}

#[test]
fn twenty_jobs_at_once_all_complete_and_report_their_event_latency() {
    const JOBS: usize = 20;
    let github = FakeGitHub::start(vec![python_repo("small", 12)]);
    let fleet = Fleet::new();
    let coordinator = fleet.start(&github.base, &[EPOCH]);
    // Each client submits its job and follows it at once, as the website does.
    let started = Instant::now();
    let followed: Vec<(String, Arrivals, chrono::DateTime<Utc>)> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..JOBS)
            .map(|_| {
                let coordinator = &coordinator;
                scope.spawn(move || {
                    let job_id = coordinator.submit_job("https://github.com/octo/small");
                    let stream = coordinator.stream(&job_id, None);
                    let opened = Utc::now();
                    let events = stream.map(|envelope| (envelope, Utc::now())).collect();
                    (job_id, events, opened)
                })
            })
            .collect();
        clients.into_iter().map(|c| c.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();
    let mut docpacks = HashSet::new();
    for (job_id, events, _) in &followed {
        let (last, _) = events.last().unwrap();
        assert!(matches!(last.payload, Payload::JobCompleted(_)));
        assert_eq!(last.status, Some(Status::Success), "{:?}", last.error);
        docpacks.insert(coordinator.docpack(job_id).manifest.docpack_id);
    }

    // Latency of live events only: those made after their client's stream opened (the rest
    // were read from the store, as history).
    let live: Vec<Arrivals> = followed
        .into_iter()
        .map(|(_, events, opened)| {
            events
                .into_iter()
                .filter(|(envelope, _)| envelope.timestamp >= opened)
                .collect()
        })
        .collect();
    assert_eq!(
        docpacks.len(),
        1,
        "the same repository gave different docpacks"
    );

    let mut all: Vec<f64> = live.iter().flat_map(latencies).collect();
    all.sort_by(f64::total_cmp);
    let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
    eprintln!(
        "{JOBS} jobs in {:.2} s ({:.2} jobs/min); {} live events; creation to SSE delivery: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        elapsed.as_secs_f64(),
        JOBS as f64 * 60.0 / elapsed.as_secs_f64(),
        all.len(),
        at(0.5),
        at(0.99),
        all[all.len() - 1],
    );
}

fn chunk_ids(coordinator: &Coordinator, job_id: &str) -> Vec<String> {
    let docpack = coordinator.docpack(job_id);
    let mut ids: Vec<String> = docpack
        .source_map
        .files
        .iter()
        .flat_map(|f| f.chunks.iter().map(|c| c.chunk_id.to_string()))
        .collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "a chunk is in the docpack twice");
    ids
}

#[test]
fn an_embedding_worker_killed_mid_job_is_restarted_and_the_job_completes() {
    let worker = embedding_worker(0);
    let base = worker.base.clone();
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let github = FakeGitHub::start(vec![python_repo("big", 150)]);
    let fleet = Fleet::new();
    let env = [
        EPOCH,
        ("DOCTOWN_EMBEDDING_WORKERS", base.as_str()),
        // A batch whose calls all failed is taken again after this long.
        ("DOCTOWN_QUEUE_VISIBILITY_SECS", "3"),
        ("DOCTOWN_WORKER_OPEN_SECS", "1"),
    ];
    let coordinator = fleet.start(&github.base, &env);
    // Operators see the workers and their health.
    let health = coordinator.worker.health();
    assert_eq!(
        health["embedding_workers"][0]["url"],
        base.as_str(),
        "{health}"
    );
    let repo_url = "https://github.com/octo/big";
    let job_id = coordinator.submit_job(repo_url);
    let seen = follow_until(&coordinator, &job_id, first_batch_embedded);
    // SIGKILL, a pause, and a new worker on the same address.
    drop(worker);
    std::thread::sleep(Duration::from_millis(500));
    let _restarted = embedding_worker(port);
    completes_from(&coordinator, &job_id, seen);
    let log = coordinator.worker.log();
    assert!(
        log.contains("a worker call failed, retrying"),
        "no call failed:\n{log}"
    );

    // Every chunk once, and the same chunks as an undisturbed run.
    let interrupted = chunk_ids(&coordinator, &job_id);
    let clean = coordinator.submit_job(repo_url);
    completes_from(&coordinator, &clean, 0);
    assert_eq!(interrupted, chunk_ids(&coordinator, &clean));
}
