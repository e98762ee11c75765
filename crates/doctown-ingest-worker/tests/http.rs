//! The ingest worker as a client meets it: the real binary on a loopback port, driven over HTTP,
//! reading from a GitHub-shaped server on loopback that serves real zip archives, a spent rate
//! limit and a 404.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use doctown_events::{Envelope, EventType, Payload, SequenceCheck, Status};
use doctown_testkit::process::{Frames, Worker, client, frames, wait_for_exit};
use doctown_testkit::{FakeGitHub, FakeRepo, LoopbackServer, github_zip, rate_limited_github};
use serde_json::{Value, json};

const SHA: &str = "6e1735597bb21c5d979a077395df85e1d633e077";

/// The ingest worker reading from `github`, with `env`.
fn start(github: &str, env: &[(&str, &str)]) -> Worker {
    let mut all = vec![
        ("DOCTOWN_GITHUB_API_URL", github),
        ("DOCTOWN_GITHUB_ARCHIVE_URL", github),
    ];
    all.extend_from_slice(env);
    Worker::start(env!("CARGO_BIN_EXE_doctown-ingest"), &all)
}

fn hello_repo() -> FakeRepo {
    FakeRepo {
        owner: "octo",
        name: "hello",
        default_branch: "main",
        sha: SHA,
        archive: github_zip(
            "hello",
            SHA,
            &[
                (
                    "main.go",
                    "package main\n\n// Greet says hello.\nfunc Greet() string { return \"hi\" }\n\nfunc main() { Greet() }\n",
                ),
                (
                    "tools/build.py",
                    "import os\n\n\nclass Builder:\n    def run(self):\n        return os.getcwd()\n",
                ),
                ("README.md", "# hello\n"),
                ("go.sum", "example.com/x v1.0.0 h1:abc=\n"),
            ],
        ),
        drip: None,
    }
}

/// A repository whose archive takes many seconds to arrive.
fn slow_repo() -> FakeRepo {
    let files: Vec<(String, String)> = (0..40)
        .map(|i| {
            (
                format!("pkg/file{i}.py"),
                format!("def function_{i}(x):\n    return x * {i} + {}\n", i * 7919),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    FakeRepo {
        owner: "octo",
        name: "slow",
        drip: Some(DRIP),
        archive: github_zip("slow", SHA, &files),
        ..hello_repo()
    }
}

#[test]
fn health_and_ping_answer_on_the_main_and_the_health_port() {
    let github = FakeGitHub::start(Vec::new());
    let worker = start(&github.base, &[("PORT_HEALTH", "0")]);
    for base in [&worker.base, worker.health_base.as_ref().unwrap()] {
        let health: Value = client()
            .get(format!("{base}/health"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(
            health,
            json!({"status": "ok", "worker": "doctown-ingest", "version": env!("CARGO_PKG_VERSION"), "ready": true})
        );
        let ping = client().get(format!("{base}/ping")).send().unwrap();
        assert_eq!(ping.status(), 200);
    }
    // The health port serves nothing else.
    let health_base = worker.health_base.as_ref().unwrap();
    let response = client()
        .post(format!("{health_base}/ingest"))
        .json(&json!({"repo_url": "https://github.com/octo/hello"}))
        .send()
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[test]
fn bad_requests_get_json_errors_naming_the_field() {
    let github = FakeGitHub::start(Vec::new());
    let worker = start(&github.base, &[("DOCTOWN_MAX_BODY_BYTES", "200")]);
    let cases = [
        (
            json!({}),
            400,
            Some("repo_url"),
            "the request has no `repo_url`",
        ),
        (
            json!({"repo_url": 42}),
            400,
            Some("repo_url"),
            "invalid type",
        ),
        (
            json!({"repo_url": "https://github.com/octo/hello", "branch": "x"}),
            400,
            Some("branch"),
            "unknown field",
        ),
        (
            json!({"repo_url": "https://gitlab.com/a/b"}),
            422,
            Some("repo_url"),
            "github.com",
        ),
        (
            json!({"repo_url": "/etc"}),
            422,
            Some("repo_url"),
            "expected a GitHub repository URL",
        ),
        (
            json!({"repo_url": "https://github.com/octo/hello", "git_ref": " "}),
            422,
            Some("git_ref"),
            "is empty",
        ),
        (
            json!({"repo_url": "https://github.com/octo/hello", "job_id": "42"}),
            400,
            Some("job_id"),
            "expected a UUID",
        ),
        (
            json!({"repo_url": "x".repeat(300)}),
            413,
            None,
            "over the 200-byte limit",
        ),
    ];
    for (body, status, field, message) in cases {
        let response = worker.post("/ingest", &body);
        assert_eq!(response.status(), status, "{body}");
        let error: Value = response.json().unwrap();
        let error = &error["error"];
        assert_eq!(error["field"].as_str(), field, "{body}: {error}");
        assert!(
            error["message"].as_str().unwrap().contains(message),
            "{body}: {error}"
        );
    }
    let response = client()
        .post(format!("{}/ingest", worker.base))
        .body("repo_url=https://github.com/octo/hello")
        .send()
        .unwrap();
    assert_eq!(response.status(), 415);
    let response = client()
        .post(format!("{}/ingest", worker.base))
        .header("content-type", "application/json")
        .body("{\"repo_url\": ")
        .send()
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().unwrap();
    assert_eq!(error["error"]["code"], "invalid_json");
}

#[test]
fn a_github_repository_streams_its_files_symbols_and_chunks() {
    let github = FakeGitHub::start(vec![hello_repo()]);
    let worker = start(&github.base, &[]);
    let job_id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
    let response = worker.post(
        "/ingest",
        &json!({
            "repo_url": "https://github.com/octo/hello/tree/main",
            "job_id": job_id,
        }),
    );
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let events: Vec<Envelope> = frames(response).collect();
    let mut sequence = SequenceCheck::new();
    for event in &events {
        event.validate().unwrap();
        sequence.observe(event).unwrap();
        assert_eq!(event.job_id.to_string(), job_id);
    }
    let types: Vec<EventType> = events.iter().map(Envelope::event_type).collect();
    assert_eq!(types.first(), Some(&EventType::IngestStarted));
    assert_eq!(types.last(), Some(&EventType::IngestCompleted));
    let last = events.last().unwrap();
    assert_eq!(last.status, Some(Status::Success));
    let Payload::IngestCompleted(totals) = &last.payload else {
        panic!("{last:?}")
    };
    assert_eq!(totals.commit_sha.as_deref(), Some(SHA));
    assert_eq!(totals.files, 3, "main.go, tools/build.py, README.md");
    let skipped: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::IngestFileSkipped(skip) => Some(skip.path.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(skipped, ["go.sum"]);
    let symbols: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::IngestFileParsed(file) => Some(file),
            _ => None,
        })
        .flat_map(|file| {
            file.symbols
                .iter()
                .map(move |s| format!("{}:{}", file.path, s.qualified_name))
        })
        .collect();
    let mut symbols = symbols;
    symbols.sort();
    assert_eq!(
        symbols,
        [
            "main.go:Greet",
            "main.go:main",
            "tools/build.py:Builder",
            "tools/build.py:Builder.run"
        ]
    );
    let chunks = types
        .iter()
        .filter(|t| **t == EventType::IngestChunkCreated)
        .count();
    assert_eq!(totals.chunks, chunks as u64);
    assert!(chunks >= 3);
    worker.wait_until_clean(Duration::from_secs(5));
    // Three requests: metadata is skipped when the URL names the reference.
    let paths: Vec<String> = github.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/repos/octo/hello/commits/main".to_owned(),
            format!("/octo/hello/zip/{SHA}")
        ]
    );
}

/// The last event of a job that failed against `github`, with the worker's temporary files gone.
fn failed_completion(github: &LoopbackServer, repo_url: &str) -> Envelope {
    let worker = start(&github.base, &[]);
    let response = worker.post("/ingest", &json!({ "repo_url": repo_url }));
    assert_eq!(response.status(), 200);
    let events: Vec<Envelope> = frames(response).collect();
    assert_eq!(events.len(), 2, "started, then the failed completion");
    let last = events.into_iter().next_back().unwrap();
    assert_eq!(last.status, Some(Status::Failed));
    worker.wait_until_clean(Duration::from_secs(5));
    last
}

#[test]
fn a_spent_rate_limit_fails_the_job_with_the_reset_time() {
    let github = rate_limited_github(chrono::Utc::now().timestamp(), 900);
    let last = failed_completion(&github, "https://github.com/octo/hello");
    let error = last.error.unwrap();
    assert_eq!(error.code, "rate_limited");
    assert!(error.message.contains("resets at 20"), "{}", error.message);
    assert!(
        error.message.contains("DOCTOWN_GITHUB_TOKEN"),
        "{}",
        error.message
    );
}

#[test]
fn a_missing_repository_fails_the_job_saying_what_to_check() {
    let github = FakeGitHub::start(vec![hello_repo()]);
    let last = failed_completion(&github, "https://github.com/octo/missing");
    let error = last.error.unwrap();
    assert_eq!(error.code, "not_found");
    assert!(
        error
            .message
            .starts_with("repository octo/missing was not found on GitHub"),
        "{}",
        error.message
    );
}

/// Posts a job for the slow repository and reads until its first event.
fn start_slow_job(worker: &Worker) -> Frames<reqwest::blocking::Response> {
    let response = worker.post(
        "/ingest",
        &json!({"repo_url": "https://github.com/octo/slow"}),
    );
    assert_eq!(response.status(), 200);
    let mut frames = frames(response);
    let started = frames.next().unwrap();
    assert_eq!(started.event_type(), EventType::IngestStarted);
    // The download is under way: its temporary folder exists.
    let deadline = Instant::now() + Duration::from_secs(5);
    while worker.leftovers().is_empty() {
        assert!(Instant::now() < deadline, "no temporary folder appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    frames
}

/// The pause between the slow archive's 64-byte pieces.
const DRIP: Duration = Duration::from_millis(250);

/// How long the slow archive takes to arrive.
fn archive_duration(repo: &FakeRepo) -> Duration {
    DRIP * u32::try_from(repo.archive.len().div_ceil(64)).unwrap()
}

#[test]
fn a_client_that_disconnects_cancels_the_job_and_frees_its_files() {
    let repo = slow_repo();
    assert!(
        archive_duration(&repo) >= Duration::from_secs(20),
        "the download must outlast the test"
    );
    let github = FakeGitHub::start(vec![repo]);
    // A client gone is noticed at the next write: keep-alives every second bound it.
    let worker = start(&github.base, &[("DOCTOWN_SSE_KEEP_ALIVE_SECS", "1")]);
    let frames = start_slow_job(&worker);
    drop(frames);
    worker.wait_until_clean(Duration::from_secs(10));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !worker.log().contains("the client disconnected") {
        assert!(Instant::now() < deadline, "{}", worker.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_ends_running_streams_with_a_failed_completion() {
    let repo = slow_repo();
    assert!(archive_duration(&repo) >= Duration::from_secs(20));
    let github = FakeGitHub::start(vec![repo]);
    let mut worker = start(&github.base, &[]);
    let frames = start_slow_job(&worker);
    worker.terminate();
    let rest: Vec<Envelope> = frames.collect();
    let last = rest.last().expect("a completion after SIGTERM");
    assert_eq!(last.event_type(), EventType::IngestCompleted);
    assert_eq!(last.status, Some(Status::Failed));
    assert_eq!(last.error.as_ref().unwrap().code, "shutting_down");
    let status = wait_for_exit(&mut worker.child, Duration::from_secs(15));
    assert!(status.success(), "{status}\n{}", worker.log());
    assert!(worker.leftovers().is_empty(), "{:?}", worker.leftovers());
}

#[test]
fn cors_allows_the_configured_origins_only() {
    let github = FakeGitHub::start(Vec::new());
    let worker = start(
        &github.base,
        &[("DOCTOWN_CORS_ORIGINS", "https://doctown.dev")],
    );
    let preflight = |origin: &str| {
        client()
            .request(reqwest::Method::OPTIONS, format!("{}/ingest", worker.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .unwrap()
    };
    let allowed = preflight("https://doctown.dev");
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://doctown.dev"
    );
    let refused = preflight("https://evil.example");
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
