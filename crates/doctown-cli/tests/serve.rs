//! `doctown serve`: the coordinator's API on one machine with nothing else running (no
//! PostgreSQL, no Redis: the environment is cleared), a job from POST to docpack.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;

use doctown_events::{Payload, Status};
use doctown_testkit::process::{Worker, client, frames};
use doctown_testkit::{FakeGitHub, FakeRepo, github_zip};
use serde_json::{Value, json};

const SHA: &str = "6e1735597bb21c5d979a077395df85e1d633e077";

/// `doctown serve` with the model, offline summaries, no caches, a docpack folder of its own
/// (kept as long as the folder returned) and `env`.
fn serve(env: &[(&str, &str)]) -> (Worker, tempfile::TempDir) {
    let storage = tempfile::tempdir().unwrap();
    let model = doctown_embedding::default_model_dir();
    let library = std::env::var("ORT_DYLIB_PATH").unwrap_or_default();
    let mut all = vec![
        ("DOCTOWN_STORAGE_DIR", storage.path().to_str().unwrap()),
        ("DOCTOWN_MODEL_DIR", model.to_str().unwrap()),
        ("DOCTOWN_NO_CACHE", "true"),
        ("DOCTOWN_OFFLINE", "true"),
    ];
    if !library.is_empty() {
        all.push(("ORT_DYLIB_PATH", library.as_str()));
    }
    all.extend_from_slice(env);
    let server = Worker::start_with_args(env!("CARGO_BIN_EXE_doctown"), &["serve"], &all);
    (server, storage)
}

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
    let (server, _storage) = serve(&[
        ("DOCTOWN_GITHUB_API_URL", github.base.as_str()),
        ("DOCTOWN_GITHUB_ARCHIVE_URL", github.base.as_str()),
    ]);
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

#[test]
fn serve_serves_the_website_beside_the_api() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("index.html"),
        "<!doctype html><title>app</title>",
    )
    .unwrap();
    std::fs::create_dir(site.path().join("_app")).unwrap();
    std::fs::write(site.path().join("_app/start.js"), "export {};").unwrap();
    let (server, _storage) = serve(&[("DOCTOWN_SITE_DIR", site.path().to_str().unwrap())]);
    let get = |path: &str, accept: &str| {
        client()
            .get(format!("{}{path}", server.base))
            .header("accept", accept)
            .send()
            .unwrap()
    };
    // The app's pages, its files, and the API side by side.
    for page in ["/", "/job/7d3c6a52-0f0e-4a8e-9d55-2a4e1c1b2f10", "/open"] {
        let response = get(page, "text/html,application/xhtml+xml");
        assert_eq!(response.status(), 200, "{page}");
        assert!(
            response.text().unwrap().contains("<title>app</title>"),
            "{page}"
        );
    }
    let script = get("/_app/start.js", "*/*");
    assert_eq!(script.status(), 200);
    assert_eq!(script.text().unwrap(), "export {};");
    assert_eq!(get("/health", "application/json").status(), 200);
    let jobs: Value = get("/jobs", "application/json").json().unwrap();
    assert!(jobs["jobs"].as_array().unwrap().is_empty());
    // What is not a page keeps the API's JSON 404.
    let missing = get("/jobs/x/nothing", "application/json");
    assert_eq!(missing.status(), 404);
    let error: Value = missing.json().unwrap();
    assert_eq!(error["error"]["code"], "not_found");
}

#[test]
fn serve_refuses_a_website_folder_that_was_not_built() {
    let empty = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_doctown"))
        .arg("serve")
        .env("DOCTOWN_SITE_DIR", empty.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("holds no index.html") && stderr.contains("npm run build"),
        "{stderr}"
    );
}
