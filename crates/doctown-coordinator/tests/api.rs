//! The coordinator binary as API users meet it, on the real Redis and PostgreSQL that
//! `scripts/services start` runs (DOCTOWN_TEST_REDIS_URL, DOCTOWN_TEST_DATABASE_URL), the real
//! model (`scripts/fetch-model`), a local docpack store, and a GitHub-shaped server on loopback:
//! a job from POST to docpack with every event streamed in order, resumed streams, errors, and
//! cancellation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use doctown_events::{Envelope, JobStatus, Payload, Status};
use doctown_testkit::process::{Worker, client, frames, s3_settings};
use doctown_testkit::{FakeGitHub, FakeRepo};
use serde_json::{Value, json};
use support::{Fleet, SHA, repo};

fn hello_repo() -> FakeRepo {
    repo(
        "hello",
        &[
            (
                "main.go",
                "package main\n\n// Greet says hello.\nfunc Greet() string { return \"hi\" }\n\nfunc main() { Greet() }\n",
            ),
            (
                "tools/build.py",
                "import os\n\n\nclass Builder:\n    \"\"\"Builds the project.\"\"\"\n\n    def run(self):\n        return os.getcwd()\n\n\ndef clean(path):\n    return os.remove(path)\n",
            ),
            (
                "src/lib.rs",
                "/// Adds two numbers.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n\n/// Doubles.\npub fn double(a: i32) -> i32 {\n    add(a, a)\n}\n",
            ),
            ("README.md", "# hello\n"),
        ],
        None,
    )
}

fn statuses(events: &[Envelope]) -> Vec<JobStatus> {
    let mut statuses = vec![JobStatus::Queued];
    for envelope in events {
        if let Payload::JobStageChanged(change) = &envelope.payload {
            assert_eq!(Some(&change.from), statuses.last());
            statuses.push(change.to);
        }
    }
    statuses
}

#[test]
fn a_job_goes_from_post_to_docpack_with_every_event_in_order() {
    let github = FakeGitHub::start(vec![hello_repo()]);
    let fleet = Fleet::new();
    let coordinator = fleet.start(&github.base, &[]);

    let health: Value = coordinator.worker.health();
    assert_eq!(health["worker"], "doctown-coordinator");
    let accepted = coordinator.submit("https://github.com/octo/hello");
    let job_id = accepted["job_id"].as_str().unwrap().to_owned();
    assert_eq!(accepted["status"], "queued");
    assert_eq!(accepted["status_url"], format!("/jobs/{job_id}"));
    assert_eq!(accepted["events_url"], format!("/jobs/{job_id}/events"));

    // Every event, numbered from 1 without a gap, through every status, ending the stream.
    let events = coordinator.events(&job_id, None);
    let log = coordinator.worker.log();
    for (envelope, sequence) in events.iter().zip(1..) {
        assert_eq!(envelope.sequence, sequence, "{log}");
        assert_eq!(envelope.job_id.to_string(), job_id);
    }
    assert!(matches!(events[0].payload, Payload::JobCreated(_)));
    let last = events.last().unwrap();
    assert!(matches!(last.payload, Payload::JobCompleted(_)), "{log}");
    assert_eq!(last.status, Some(Status::Success), "{:?}", last.error);
    assert_eq!(
        statuses(&events),
        [
            JobStatus::Queued,
            JobStatus::Ingesting,
            JobStatus::Embedding,
            JobStatus::Assembling,
            JobStatus::Generating,
            JobStatus::Packing,
            JobStatus::Completed,
        ]
    );
    let count = |f: fn(&Payload) -> bool| events.iter().filter(|e| f(&e.payload)).count();
    assert_eq!(count(|p| matches!(p, Payload::IngestCompleted(_))), 1);
    assert_eq!(count(|p| matches!(p, Payload::EmbeddingCompleted(_))), 1);
    assert_eq!(count(|p| matches!(p, Payload::AssemblyCompleted(_))), 1);
    assert_eq!(count(|p| matches!(p, Payload::GenerationCompleted(_))), 1);
    assert_eq!(count(|p| matches!(p, Payload::PackCompleted(_))), 1);
    // The public log carries progress, never a stage's data (source text, analyses, vectors).
    let data = |p: &Payload| {
        matches!(
            p,
            Payload::IngestFileDetected(_)
                | Payload::IngestFileParsed(_)
                | Payload::IngestFileSkipped(_)
                | Payload::IngestChunkCreated(_)
                | Payload::GenerationSymbolDocumented(_)
        )
    };
    assert_eq!(count(data), 0, "{events:#?}");
    // Ingest's last progress, just before its completion, has the exact totals.
    let at = events
        .iter()
        .position(|e| matches!(e.payload, Payload::IngestCompleted(_)))
        .unwrap();
    let (Payload::IngestProgress(progress), Payload::IngestCompleted(ingested)) =
        (&events[at - 1].payload, &events[at].payload)
    else {
        panic!("no progress before ingest.completed: {events:#?}");
    };
    assert_eq!(progress.chunks, ingested.chunks);
    assert_eq!(progress.files_detected, ingested.files);
    let chunks = ingested.chunks as usize;
    assert!(chunks >= 5, "{chunks} chunks");
    let embedded = events.iter().find_map(|e| match &e.payload {
        Payload::EmbeddingCompleted(done) => Some(done.chunk_count),
        _ => None,
    });
    assert_eq!(embedded, Some(chunks as u64));

    // Compressed when the client accepts it, with the same events.
    let plain = client()
        .get(coordinator.url(&format!("/jobs/{job_id}/events")))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let compressed = client()
        .get(coordinator.url(&format!("/jobs/{job_id}/events")))
        .header("accept-encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    let compressed = compressed.bytes().unwrap();
    let mut decoded = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&compressed[..]),
        &mut decoded,
    )
    .unwrap();
    assert_eq!(decoded, plain);
    assert!(compressed.len() < plain.len());

    // A stream resumed after an event starts at the next.
    let resumed = coordinator.events(&job_id, Some(5));
    assert_eq!(resumed.first().unwrap().sequence, 6);
    assert_eq!(resumed.len(), events.len() - 5);
    // Resumed at its end, or past it, a finished job's stream ends at once: what a browser's
    // EventSource asks when it reconnects after `job.completed`.
    for after in [last.sequence, last.sequence + 100] {
        for request in [
            client().get(coordinator.url(&format!("/jobs/{job_id}/events?after={after}"))),
            client()
                .get(coordinator.url(&format!("/jobs/{job_id}/events")))
                .header("last-event-id", after.to_string()),
        ] {
            let body = request
                .timeout(Duration::from_secs(10))
                .send()
                .unwrap()
                .text()
                .expect("the stream ends at once");
            assert_eq!(body, "", "resumed after {after}");
        }
    }

    // The job, its docpack, and the list.
    let job: Value = coordinator.get(&format!("/jobs/{job_id}")).json().unwrap();
    assert_eq!(job["status"], "completed");
    assert_eq!(job["stage"], "packing");
    assert_eq!(job["commit_sha"], SHA);
    assert!(job["duration_ms"].as_u64().is_some());
    assert!(job["completed_at"].is_string());
    let read = coordinator.docpack(&job_id);
    // Every chunk once.
    let packed: usize = read.source_map.files.iter().map(|f| f.chunks.len()).sum();
    assert_eq!(packed, chunks);
    assert!(read.nodes.nodes.iter().all(|n| n.summary.is_some()));

    let listed: Value = coordinator.get("/jobs").json().unwrap();
    assert_eq!(listed["jobs"][0]["job_id"], job_id.as_str());
    assert_eq!(listed["next"], Value::Null);

    // An ended job cannot be cancelled.
    let response = client()
        .delete(coordinator.url(&format!("/jobs/{job_id}")))
        .send()
        .unwrap();
    assert_eq!(response.status(), 409);
    let body: Value = response.json().unwrap();
    assert_eq!(body["error"]["code"], "job_ended");
}

#[test]
fn bad_requests_get_json_errors_that_say_what_to_do() {
    let github = FakeGitHub::start(Vec::new());
    let fleet = Fleet::new();
    let coordinator = fleet.start(&github.base, &[]);
    let error = |response: reqwest::blocking::Response, status: u16| -> Value {
        assert_eq!(response.status(), status);
        response.json::<Value>().unwrap()["error"].clone()
    };

    let local = coordinator
        .worker
        .post("/jobs", &json!({"repo_url": "/home/me/project"}));
    let local = error(local, 422);
    assert_eq!(local["field"], "repo_url");
    assert!(
        local["message"].as_str().unwrap().contains("GitHub"),
        "{local}"
    );
    let empty_ref = coordinator.worker.post(
        "/jobs",
        &json!({"repo_url": "https://github.com/octo/hello", "git_ref": " "}),
    );
    assert_eq!(error(empty_ref, 422)["field"], "git_ref");
    let unknown = coordinator.worker.post(
        "/jobs",
        &json!({"repo_url": "https://github.com/o/r", "priority": 1}),
    );
    assert!(unknown.status().is_client_error());

    let not_an_id = error(coordinator.get("/jobs/42"), 404);
    assert!(
        not_an_id["message"]
            .as_str()
            .unwrap()
            .contains("POST /jobs")
    );
    let unknown_job = format!("/jobs/{}", uuid::Uuid::new_v4());
    assert_eq!(
        error(coordinator.get(&unknown_job), 404)["code"],
        "not_found"
    );
    assert_eq!(
        error(coordinator.get("/jobs?limit=0"), 422)["field"],
        "limit"
    );
    assert_eq!(
        error(coordinator.get("/jobs/x/nothing"), 404)["code"],
        "not_found"
    );

    // Every error is JSON, actix's own included: a malformed or unknown query parameter, a
    // body that is an array, a preflight from an origin that is not allowed.
    for path in [
        "/jobs?limit=-1",
        "/jobs?limit=abc",
        "/jobs?priority=1",
        &format!("{unknown_job}/events?after=abc"),
    ] {
        let body = error(coordinator.get(path), 400);
        assert_eq!(body["code"], "invalid_query", "{path}: {body}");
    }
    let array = error(
        coordinator
            .worker
            .post("/jobs", &json!(["https://github.com/octo/hello"])),
        400,
    );
    assert!(
        array["message"]
            .as_str()
            .unwrap()
            .contains("not a JSON object"),
        "{array}"
    );
    let preflight = client()
        .request(reqwest::Method::OPTIONS, coordinator.url("/jobs"))
        .header("origin", "https://elsewhere.example")
        .header("access-control-request-method", "POST")
        .send()
        .unwrap();
    assert_eq!(preflight.status(), 400);
    assert!(
        preflight.json::<Value>().unwrap()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Origin is not allowed")
    );

    // A reference git would refuse never reaches GitHub; nor does another host's URL, and
    // the API does not offer what only the command line takes.
    for git_ref in ["../../../../user", "main\nHost: x", "a..b"] {
        let refused = error(
            coordinator.worker.post(
                "/jobs",
                &json!({"repo_url": "https://github.com/octo/hello", "git_ref": git_ref}),
            ),
            422,
        );
        assert_eq!(refused["field"], "git_ref", "{git_ref:?}");
    }
    let gitlab = error(
        coordinator
            .worker
            .post("/jobs", &json!({"repo_url": "https://gitlab.com/a/b"})),
        422,
    );
    let message = gitlab["message"].as_str().unwrap();
    assert!(!message.contains("local folder"), "{message}");
}

#[test]
fn a_repository_github_does_not_have_fails_the_job_with_the_reason() {
    let github = FakeGitHub::start(Vec::new());
    let fleet = Fleet::new();
    let coordinator = fleet.start(&github.base, &[]);
    let accepted = coordinator.submit("https://github.com/octo/missing");
    let job_id = accepted["job_id"].as_str().unwrap();
    let events = coordinator.events(job_id, None);
    let last = events.last().unwrap();
    assert!(matches!(last.payload, Payload::JobCompleted(_)));
    assert_eq!(last.status, Some(Status::Failed));
    let job: Value = coordinator.get(&format!("/jobs/{job_id}")).json().unwrap();
    assert_eq!(job["status"], "failed");
    assert_eq!(job["stage"], "ingesting");
    assert!(
        job["error"]["message"]
            .as_str()
            .unwrap()
            .contains("octo/missing")
    );
    let no_docpack = coordinator.get(&format!("/jobs/{job_id}/docpack"));
    assert_eq!(no_docpack.status(), 404);
}

#[test]
fn a_cancelled_job_stops_and_says_so() {
    let files: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("pkg/f{i}.py"),
                format!("def f{i}(x):\n    return x * {i}\n"),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let github = FakeGitHub::start(vec![repo("slow", &files, Some(Duration::from_millis(20)))]);
    let fleet = Fleet::new();
    let coordinator = fleet.start(&github.base, &[]);
    let accepted = coordinator.submit("https://github.com/octo/slow");
    let job_id = accepted["job_id"].as_str().unwrap().to_owned();
    let mut stream = frames(
        client()
            .get(coordinator.url(&format!("/jobs/{job_id}/events")))
            .send()
            .unwrap(),
    );
    // Wait until ingest has begun.
    for envelope in stream.by_ref() {
        if matches!(envelope.payload, Payload::IngestStarted(_)) {
            break;
        }
    }
    let response = client()
        .delete(coordinator.url(&format!("/jobs/{job_id}")))
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
    let body: Value = response.json().unwrap();
    assert_eq!(body["status"], "cancelled");
    let rest: Vec<Envelope> = stream.collect();
    let last = rest.last().unwrap();
    assert!(matches!(last.payload, Payload::JobCompleted(_)));
    assert_eq!(last.error.as_ref().unwrap().code, "cancelled");
    // The job stays cancelled: its stage, stopped, does not move it on.
    std::thread::sleep(Duration::from_secs(1));
    let job: Value = coordinator.get(&format!("/jobs/{job_id}")).json().unwrap();
    assert_eq!(job["status"], "cancelled");
    assert_eq!(job["docpack"], Value::Null);
}

#[test]
fn a_job_over_the_cost_budget_is_refused_with_the_estimate_before_any_request() {
    let github = FakeGitHub::start(vec![hello_repo()]);
    let fleet = Fleet::new();
    // A model nobody listens for: the estimate refuses the job before a request is sent.
    let coordinator = fleet.start(
        &github.base,
        &[
            ("DOCTOWN_OFFLINE", "false"),
            ("DOCTOWN_LLM_BASE_URL", "http://127.0.0.1:9/v1"),
            ("DOCTOWN_LLM_MODEL", "gpt-4o-mini"),
            ("DOCTOWN_MAX_COST_USD", "0.000001"),
        ],
    );
    let job_id = coordinator.submit_job("https://github.com/octo/hello");
    let events = coordinator.events(&job_id, None);
    let generation = events
        .iter()
        .find(|e| matches!(e.payload, Payload::GenerationCompleted(_)))
        .unwrap();
    assert_eq!(generation.status, Some(Status::Failed));
    let job: Value = coordinator.get(&format!("/jobs/{job_id}")).json().unwrap();
    assert_eq!(job["status"], "failed");
    assert_eq!(job["stage"], "generating");
    assert_eq!(job["error"]["code"], "over_budget");
    let message = job["error"]["message"].as_str().unwrap();
    // The estimate, with what it counts, and what to do.
    assert!(
        message.contains("input tokens for") && message.contains("DOCTOWN_MAX_COST_USD"),
        "{message}"
    );
    assert_eq!(job["input_tokens"], 0);
    assert_eq!(job["docpack"], Value::Null);
}

#[test]
fn docpacks_kept_in_s3_are_downloaded_through_a_presigned_url() {
    let s3 = s3_settings();
    let endpoint = s3[1].1.clone();
    let github = FakeGitHub::start(vec![hello_repo()]);
    let fleet = Fleet::new();
    let coordinator = fleet.start(
        &github.base,
        &s3.iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect::<Vec<_>>(),
    );
    let job_id = coordinator.submit_job("https://github.com/octo/hello");
    let events = coordinator.events(&job_id, None);
    assert_eq!(events.last().unwrap().status, Some(Status::Success));
    let no_redirects = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirects
        .get(coordinator.url(&format!("/jobs/{job_id}/docpack")))
        .send()
        .unwrap();
    assert_eq!(response.status(), 302);
    let location = response.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&endpoint) && location.contains("X-Amz-Signature="),
        "{location}"
    );
    // Followed, the link gives the docpack the job recorded.
    coordinator.docpack(&job_id);
}

#[test]
fn a_job_runs_on_remote_workers_of_every_stage() {
    let github = FakeGitHub::start(vec![hello_repo()]);
    let ingest = Worker::start(
        support::worker_binary("doctown-ingest").to_str().unwrap(),
        &[
            ("DOCTOWN_GITHUB_API_URL", github.base.as_str()),
            ("DOCTOWN_GITHUB_ARCHIVE_URL", github.base.as_str()),
        ],
    );
    let embedding = support::embedding_worker(0);
    let fleet = Fleet::new();
    let shared = fleet.storage.path().to_str().unwrap();
    // Assembly reads its input from the store it shares with the coordinator; generation,
    // given another store, is sent its input inline instead.
    let assembly = Worker::start(
        support::worker_binary("doctown-assembly").to_str().unwrap(),
        &[("DOCTOWN_STORAGE_DIR", shared)],
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let generation = Worker::start(
        support::worker_binary("doctown-generation")
            .to_str()
            .unwrap(),
        &[
            ("DOCTOWN_OFFLINE", "true"),
            ("DOCTOWN_STORAGE_DIR", elsewhere.path().to_str().unwrap()),
        ],
    );
    // The packer stores where the coordinator reads.
    let packer = packer(fleet.storage.path());
    // The coordinator itself cannot reach GitHub: only the ingest worker can.
    let coordinator = fleet.start(
        "http://127.0.0.1:9",
        &[
            ("DOCTOWN_INGEST_WORKERS", ingest.base.as_str()),
            ("DOCTOWN_EMBEDDING_WORKERS", embedding.base.as_str()),
            ("DOCTOWN_ASSEMBLY_WORKERS", assembly.base.as_str()),
            ("DOCTOWN_GENERATION_WORKERS", generation.base.as_str()),
            ("DOCTOWN_PACKER_WORKERS", packer.base.as_str()),
        ],
    );
    let health = coordinator.worker.health();
    for stage in ["ingest", "embedding", "assembly", "generation", "packer"] {
        assert_eq!(
            health[format!("{stage}_workers")].as_array().unwrap().len(),
            1,
            "{health}"
        );
    }
    let job_id = coordinator.submit_job("https://github.com/octo/hello");
    let events = coordinator.events(&job_id, None);
    let last = events.last().unwrap();
    assert_eq!(
        last.status,
        Some(Status::Success),
        "{:?}\n{}",
        last.error,
        coordinator.worker.log()
    );
    let documented = events
        .iter()
        .rev()
        .find_map(|e| match &e.payload {
            Payload::GenerationProgress(progress) => Some(progress.totals.documented as usize),
            _ => None,
        })
        .unwrap_or_default();
    // The stream has the same shape as when the stages run in the coordinator.
    for first_of_stage in [
        "ingest.started.v1",
        "embedding.batch_started.v1",
        "assembly.started.v1",
        "generation.started.v1",
        "pack.started.v1",
    ] {
        assert!(
            events
                .iter()
                .any(|e| e.event_type().as_str() == first_of_stage),
            "no {first_of_stage}"
        );
    }
    let docpack = coordinator.docpack(&job_id);
    assert_eq!(documented, docpack.nodes.nodes.len());
    assert!(docpack.nodes.nodes.iter().all(|n| n.summary.is_some()));
    assert!(!docpack.clusters.clusters.is_empty());
    // The work was done there.
    assert!(
        assembly.log().contains("assembly job started"),
        "{}",
        assembly.log()
    );
    assert!(
        generation.log().contains("generation job started"),
        "{}",
        generation.log()
    );
    assert!(
        packer.log().contains("pack job started"),
        "{}",
        packer.log()
    );
    let log = coordinator.worker.log();
    let inline: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("sending the input inline"))
        .collect();
    assert!(
        !inline.is_empty() && inline.iter().all(|line| line.contains("generate")),
        "{log}"
    );
}

/// A packer worker storing docpacks in `folder`.
fn packer(folder: &std::path::Path) -> Worker {
    Worker::start(
        support::worker_binary("doctown-packer").to_str().unwrap(),
        &[("DOCTOWN_STORAGE_DIR", folder.to_str().unwrap())],
    )
}

#[test]
fn a_packer_that_stores_elsewhere_fails_the_job_with_what_to_configure() {
    let github = FakeGitHub::start(vec![hello_repo()]);
    let elsewhere = tempfile::tempdir().unwrap();
    let packer = packer(elsewhere.path());
    let fleet = Fleet::new();
    let coordinator = fleet.start(
        &github.base,
        &[("DOCTOWN_PACKER_WORKERS", packer.base.as_str())],
    );
    let job_id = coordinator.submit_job("https://github.com/octo/hello");
    let events = coordinator.events(&job_id, None);
    assert_eq!(events.last().unwrap().status, Some(Status::Failed));
    let job: Value = coordinator.get(&format!("/jobs/{job_id}")).json().unwrap();
    assert_eq!(job["status"], "failed");
    assert_eq!(job["stage"], "packing");
    assert_eq!(job["error"]["code"], "storage_failed", "{job}");
    let message = job["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("the same DOCTOWN_S3_* bucket"),
        "{message}"
    );
}
