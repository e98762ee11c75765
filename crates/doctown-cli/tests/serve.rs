//! `doctown serve`: the coordinator's API on one machine with nothing else running (no
//! PostgreSQL, no Redis: the environment is cleared), a job from POST to docpack.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;

use doctown_events::{Payload, Status};
use doctown_testkit::process::{Worker, client, frames};
use doctown_testkit::{FakeGitHub, FakeRepo, github_zip};
use serde_json::{Value, json};

const SHA: &str = "6e1735597bb21c5d979a077395df85e1d633e077";

#[test]
fn serve_runs_a_job_from_post_to_docpack_with_no_other_service() {
    let github = FakeGitHub::start(vec![FakeRepo {
        owner: "octo",
        name: "hello",
        default_branch: "main",
        sha: SHA,
        archive: github_zip(
            "hello",
            SHA,
            &[
                (
                    "src/lib.rs",
                    "/// Adds.\npub fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n",
                ),
                (
                    "tools/run.py",
                    "def run(x):\n    \"\"\"Runs.\"\"\"\n    return x + 1\n",
                ),
            ],
        ),
        drip: None,
    }]);
    let storage = tempfile::tempdir().unwrap();
    let model = doctown_embedding::default_model_dir();
    let library = std::env::var("ORT_DYLIB_PATH").unwrap_or_default();
    let mut env = vec![
        ("DOCTOWN_GITHUB_API_URL", github.base.as_str()),
        ("DOCTOWN_GITHUB_ARCHIVE_URL", github.base.as_str()),
        ("DOCTOWN_STORAGE_DIR", storage.path().to_str().unwrap()),
        ("DOCTOWN_MODEL_DIR", model.to_str().unwrap()),
        ("DOCTOWN_NO_CACHE", "true"),
        ("DOCTOWN_OFFLINE", "true"),
    ];
    if !library.is_empty() {
        env.push(("ORT_DYLIB_PATH", library.as_str()));
    }
    let server = Worker::start_with_args(env!("CARGO_BIN_EXE_doctown"), &["serve"], &env);
    assert_eq!(server.health()["worker"], "doctown-serve");

    let accepted: Value = server
        .post(
            "/jobs",
            &json!({"repo_url": "https://github.com/octo/hello"}),
        )
        .json()
        .unwrap();
    let job_id = accepted["job_id"].as_str().unwrap();
    let events: Vec<_> = frames(
        client()
            .get(format!("{}/jobs/{job_id}/events", server.base))
            .send()
            .unwrap(),
    )
    .collect();
    let last = events.last().unwrap();
    assert!(
        matches!(last.payload, Payload::JobCompleted(_)),
        "{}",
        server.log()
    );
    assert_eq!(last.status, Some(Status::Success), "{:?}", last.error);

    let response = client()
        .get(format!("{}/jobs/{job_id}/docpack", server.base))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut bytes = Vec::new();
    response.take(u64::MAX).read_to_end(&mut bytes).unwrap();
    let job: Value = client()
        .get(format!("{}/jobs/{job_id}", server.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(job["status"], "completed");
    assert_eq!(job["docpack"]["size_bytes"], bytes.len() as u64);
}
