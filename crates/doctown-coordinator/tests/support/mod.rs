//! What the coordinator's tests share: a database of their own on the test PostgreSQL.

#![allow(dead_code, unreachable_pub)]

use std::io::{Cursor, Read};
use std::time::Duration;

use doctown_common::JobId;
use doctown_docpack::{Docpack, ReadLimits, read_docpack};
use doctown_events::Envelope;
use doctown_testkit::process::{Frames, Worker, client, frames};
use doctown_testkit::{FakeRepo, github_zip};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};

/// A database of its own for this test, dropped at the end.
pub struct Scratch {
    pub pool: PgPool,
    pub url: String,
    admin: PgConnectOptions,
    name: String,
}

impl Scratch {
    pub async fn new() -> Self {
        let url = std::env::var("DOCTOWN_TEST_DATABASE_URL").unwrap_or_else(|_| {
            panic!("DOCTOWN_TEST_DATABASE_URL is not set: run the tests with scripts/test, or `eval \"$(scripts/services start)\"` first")
        });
        let admin: PgConnectOptions = url.parse().unwrap();
        let name = format!("test_{}", JobId::generate().to_string().replace('-', "_"));
        let mut connection = admin.connect().await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(admin.clone().database(&name))
            .await
            .unwrap();
        let url = format!(
            "{}/{name}",
            url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base)
        );
        Self {
            pool,
            url,
            admin,
            name,
        }
    }

    pub async fn drop(self) {
        self.pool.close().await;
        let mut connection = self.admin.connect().await.unwrap();
        sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            .execute(&mut connection)
            .await
            .unwrap();
    }
}

/// What a coordinator keeps between its processes: a database, a docpack folder and stream
/// names of its own, on the test Redis unless another is given. Dropped last, it drops the
/// database.
pub struct Fleet {
    scratch: Option<Scratch>,
    runtime: tokio::runtime::Runtime,
    pub storage: tempfile::TempDir,
    pub namespace: String,
    pub redis: String,
}

impl Fleet {
    pub fn new() -> Self {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let scratch = runtime.block_on(Scratch::new());
        let redis = std::env::var("DOCTOWN_TEST_REDIS_URL").unwrap_or_else(|_| {
            panic!("DOCTOWN_TEST_REDIS_URL is not set: run the tests with scripts/test, or `eval \"$(scripts/services start)\"` first")
        });
        Self {
            scratch: Some(scratch),
            runtime,
            storage: tempfile::tempdir().unwrap(),
            namespace: format!("test-{}", uuid::Uuid::new_v4().simple()),
            redis,
        }
    }

    /// What a coordinator process on this fleet reads: its database, streams and folder,
    /// GitHub at `github`, summaries offline, no caches.
    fn settings(&self, github: &str) -> Vec<(&'static str, String)> {
        let database = &self.scratch.as_ref().unwrap().url;
        let model = doctown_embedding::default_model_dir();
        let mut all = vec![
            ("DOCTOWN_DATABASE_URL", database.clone()),
            ("DOCTOWN_REDIS_URL", self.redis.clone()),
            ("DOCTOWN_QUEUE_NAMESPACE", self.namespace.clone()),
            (
                "DOCTOWN_STORAGE_DIR",
                self.storage.path().display().to_string(),
            ),
            ("DOCTOWN_GITHUB_API_URL", github.to_owned()),
            ("DOCTOWN_GITHUB_ARCHIVE_URL", github.to_owned()),
            ("DOCTOWN_MODEL_DIR", model.display().to_string()),
            ("DOCTOWN_NO_CACHE", "true".to_owned()),
            ("DOCTOWN_OFFLINE", "true".to_owned()),
        ];
        let library = std::env::var("ORT_DYLIB_PATH").unwrap_or_default();
        if !library.is_empty() {
            all.push(("ORT_DYLIB_PATH", library));
        }
        all
    }

    /// A coordinator process on this fleet, reading GitHub at `github`, with `env`.
    pub fn start(&self, github: &str, env: &[(&str, &str)]) -> Coordinator {
        let settings = self.settings(github);
        let mut all: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(env);
        Coordinator {
            worker: Worker::start(env!("CARGO_BIN_EXE_doctown-coordinator"), &all),
        }
    }

    /// Runs `doctown-coordinator` with `args` (an operator's subcommand) on this fleet, to its
    /// end.
    pub fn run(&self, github: &str, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_doctown-coordinator"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.settings(github))
            .output()
            .unwrap()
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Some(scratch) = self.scratch.take() {
            self.runtime.block_on(scratch.drop());
        }
    }
}

/// A coordinator process, killed when dropped.
pub struct Coordinator {
    pub worker: Worker,
}

impl Coordinator {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.worker.base)
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        client().get(self.url(path)).send().unwrap()
    }

    /// Submits a job for `repo_url`; gives its id.
    pub fn submit_job(&self, repo_url: &str) -> String {
        self.submit(repo_url)["job_id"].as_str().unwrap().to_owned()
    }

    /// Submits a job for `repo_url`; gives the 202's body.
    pub fn submit(&self, repo_url: &str) -> Value {
        let response = self.worker.post("/jobs", &json!({ "repo_url": repo_url }));
        assert_eq!(response.status(), 202, "{}", self.worker.log());
        response.json().unwrap()
    }

    /// The job's event stream, from after `after`.
    pub fn stream(&self, job_id: &str, after: Option<u64>) -> Frames<reqwest::blocking::Response> {
        let mut request = client().get(self.url(&format!("/jobs/{job_id}/events")));
        if let Some(after) = after {
            request = request.header("Last-Event-ID", after.to_string());
        }
        let response = request.send().unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["content-type"],
            doctown_events::sse::CONTENT_TYPE
        );
        frames(response)
    }

    /// Every event of the job, from after `after` to `job.completed`.
    pub fn events(&self, job_id: &str, after: Option<u64>) -> Vec<Envelope> {
        self.stream(job_id, after).collect()
    }

    /// The job's docpack, read and checked against the job's record.
    pub fn docpack(&self, job_id: &str) -> Docpack<Cursor<Vec<u8>>> {
        let job: Value = self.get(&format!("/jobs/{job_id}")).json().unwrap();
        let record = &job["docpack"];
        let response = self.get(&format!("/jobs/{job_id}/docpack"));
        assert_eq!(response.status(), 200, "{job}");
        let mut bytes = Vec::new();
        response.take(u64::MAX).read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes.len() as u64, record["size_bytes"].as_u64().unwrap());
        let checksum: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(checksum, record["checksum"].as_str().unwrap());
        let docpack =
            read_docpack(&bytes[..], Cursor::new(Vec::new()), &ReadLimits::default()).unwrap();
        assert_eq!(
            docpack.manifest.docpack_id,
            record["docpack_id"].as_str().unwrap()
        );
        docpack
    }
}

/// A repository of `owner/name` at [`SHA`] holding `files`, its archive sent with `drip`
/// between 64-byte pieces when given.
pub fn repo(name: &'static str, files: &[(&str, &str)], drip: Option<Duration>) -> FakeRepo {
    FakeRepo {
        owner: "octo",
        name,
        default_branch: "main",
        sha: SHA,
        archive: github_zip(name, SHA, files),
        drip,
    }
}

/// A repository of `count` Python files of two functions each.
pub fn python_repo(name: &'static str, count: usize) -> FakeRepo {
    let files: Vec<(String, String)> = (0..count)
        .map(|i| {
            (
                format!("pkg/module_{i}.py"),
                format!(
                    "def load_{i}(path):\n    \"\"\"Reads record {i}.\"\"\"\n    return open(path).read() + \"{i}\"\n\n\ndef save_{i}(path, text):\n    with open(path, \"w\") as f:\n        f.write(text * {i})\n"
                ),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    repo(name, &files, None)
}

/// The commit every test repository is at.
pub const SHA: &str = "6e1735597bb21c5d979a077395df85e1d633e077";

/// The binary of the worker `name`, built beside this test (`scripts/test` builds the
/// workspace).
pub fn worker_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(std::path::Path::parent)
        .unwrap()
        .join(name);
    assert!(
        binary.exists(),
        "{} is missing: build it with `cargo build --workspace` (scripts/test builds the whole workspace)",
        binary.display()
    );
    binary
}

/// An embedding worker on `port` (any free one for 0), once its model is loaded.
pub fn embedding_worker(port: u16) -> Worker {
    let model = doctown_embedding::default_model_dir();
    let library = std::env::var("ORT_DYLIB_PATH").unwrap_or_default();
    let port = port.to_string();
    let mut env = vec![
        ("DOCTOWN_MODEL_DIR", model.to_str().unwrap()),
        ("PORT", port.as_str()),
    ];
    if !library.is_empty() {
        env.push(("ORT_DYLIB_PATH", library.as_str()));
    }
    let worker = Worker::start(worker_binary("doctown-embedding").to_str().unwrap(), &env);
    worker.wait_until_ready(Duration::from_secs(120));
    worker
}
