//! Worker binaries run as a client meets them: started on a free loopback port, their log kept,
//! their temporary folder watched, and their Server-Sent Events read back as envelopes.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doctown_events::Envelope;

/// A worker binary, running until dropped, its temporary files under a folder of its own.
pub struct Worker {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The health port's base URL, when `PORT_HEALTH` was set.
    pub health_base: Option<String>,
    log: Arc<Mutex<String>>,
    temp: tempfile::TempDir,
}

impl Worker {
    /// Starts `binary` on a free port of 127.0.0.1 with `env` (and nothing else of this
    /// process's environment but `PATH`), its temporary files in a folder of its own. A variable
    /// given empty in `env` is left unset, so the binary's own default applies.
    pub fn start(binary: &str, env: &[(&str, &str)]) -> Worker {
        Self::start_with_args(binary, &[], env)
    }

    /// Starts `binary` with `args`, as [`Worker::start`] does.
    pub fn start_with_args(binary: &str, args: &[&str], env: &[(&str, &str)]) -> Worker {
        let temp = tempfile::tempdir().unwrap();
        let mut command = Command::new(binary);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PORT", "0")
            .env("DOCTOWN_BIND", "127.0.0.1")
            .env("RUST_LOG", "info")
            .env("TMPDIR", temp.path())
            .envs(env.iter().filter(|(_, value)| !value.is_empty()).copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (name, _) in env.iter().filter(|(_, value)| value.is_empty()) {
            command.env_remove(name);
        }
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (sender, receiver) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                for (marker, kind) in [("listening on ", "main"), ("health on ", "health")] {
                    if let Some(at) = line.find(marker) {
                        let url = line[at + marker.len()..].split_whitespace().next();
                        sender.send((kind, url.unwrap().to_owned())).ok();
                    }
                }
                let mut log = lines.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let expected = if env.iter().any(|(name, _)| *name == "PORT_HEALTH") {
            2
        } else {
            1
        };
        let (mut base, mut health_base) = (String::new(), None);
        for _ in 0..expected {
            let (kind, url) = receiver
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("the worker did not start: {}", log.lock().unwrap()));
            match kind {
                "main" => base = url,
                _ => health_base = Some(url),
            }
        }
        Worker {
            child,
            base,
            health_base,
            log,
            temp,
        }
    }

    /// POSTs `body` as JSON to `path`.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> reqwest::blocking::Response {
        client()
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .unwrap()
    }

    /// What `GET /health` answers.
    pub fn health(&self) -> serde_json::Value {
        client()
            .get(format!("{}/health", self.base))
            .send()
            .unwrap()
            .json()
            .unwrap()
    }

    /// Waits until `GET /ping` answers 200 (a model loaded, say); it answers 204 before.
    pub fn wait_until_ready(&self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let ping = client().get(format!("{}/ping", self.base)).send().unwrap();
            if ping.status() == 200 {
                return;
            }
            assert_eq!(ping.status(), 204, "initializing answers 204");
            assert!(
                Instant::now() < deadline,
                "the worker was not ready in time:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Folders the worker left in its temporary directory.
    pub fn leftovers(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.temp.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect()
    }

    /// Waits until the worker has removed its temporary folders.
    pub fn wait_until_clean(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.leftovers().is_empty() {
            assert!(
                Instant::now() < deadline,
                "temporary files left behind: {:?}\n{}",
                self.leftovers(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the worker logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// The settings of the test S3 server that `scripts/services start` runs, as a store's
/// `DOCTOWN_STORAGE=s3` settings; panics, saying what to run, when they are not set.
pub fn s3_settings() -> Vec<(&'static str, String)> {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run the tests with ./scripts/test, or `eval \"$(scripts/services start)\"` first")
        })
    };
    vec![
        ("DOCTOWN_STORAGE", "s3".to_owned()),
        ("DOCTOWN_S3_ENDPOINT", var("DOCTOWN_TEST_S3_ENDPOINT")),
        ("DOCTOWN_S3_BUCKET", var("DOCTOWN_TEST_S3_BUCKET")),
        (
            "DOCTOWN_S3_ACCESS_KEY_ID",
            var("DOCTOWN_TEST_S3_ACCESS_KEY_ID"),
        ),
        (
            "DOCTOWN_S3_SECRET_ACCESS_KEY",
            var("DOCTOWN_TEST_S3_SECRET_ACCESS_KEY"),
        ),
    ]
}

/// An HTTP client with a generous timeout.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Reads SSE frames from `reader` as envelopes, checking that each `id:` is the sequence.
pub struct Frames<R> {
    reader: BufReader<R>,
}

impl<R: Read> Iterator for Frames<R> {
    type Item = Envelope;

    fn next(&mut self) -> Option<Envelope> {
        let (mut id, mut event, mut data): (Option<String>, Option<String>, Option<String>) =
            (None, None, None);
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            let line = line.trim_end_matches('\n');
            if line.is_empty() {
                if let Some(data) = data.take() {
                    let envelope = Envelope::from_json(&data).unwrap();
                    assert_eq!(id, Some(envelope.sequence.to_string()));
                    assert_eq!(event.as_deref(), Some(envelope.event_type().as_str()));
                    return Some(envelope);
                }
            } else if let Some(value) = line.strip_prefix("id: ") {
                id = Some(value.to_owned());
            } else if let Some(value) = line.strip_prefix("event: ") {
                event = Some(value.to_owned());
            } else if let Some(value) = line.strip_prefix("data: ") {
                data = Some(value.to_owned());
            }
        }
    }
}

/// The envelopes streamed in `response`.
pub fn frames<R: Read>(response: R) -> Frames<R> {
    Frames {
        reader: BufReader::new(response),
    }
}

/// Waits for `child` to exit.
pub fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "the worker did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}
