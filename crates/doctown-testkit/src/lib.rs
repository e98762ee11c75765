//! Test support shared by Doctown's integration tests (a dev-dependency only).
//!
//! [`LoopbackServer`] is a small real HTTP/1.1 server on `127.0.0.1` that answers each request
//! from a routing function, records what it was asked, and can send a body slowly (to hold a
//! download open while a test disconnects or shuts a worker down). [`FakeGitHub`] routes it like
//! GitHub's API and archive host; [`github_zip`] builds the zip GitHub would serve.
//! [`docpack::sample_contents`] makes docpack contents from real code; [`process::Worker`] runs a
//! worker binary and reads its event streams.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod docpack;
pub mod process;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`…
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body (as long as `content-length` said).
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// When set, the body goes out in 64-byte pieces with this pause between them.
    pub drip: Option<Duration>,
    /// When set, nothing is sent before this pause (a server still thinking).
    pub delay: Option<Duration>,
}

impl Response {
    /// A response with `status` and `body`.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            drip: None,
            delay: None,
        }
    }

    /// A JSON response.
    pub fn json(status: u16, body: &str) -> Self {
        Self::new(status, body).header("content-type", "application/json")
    }

    /// The response with one more header.
    pub fn header(mut self, name: &str, value: impl ToString) -> Self {
        self.headers.push((name.to_owned(), value.to_string()));
        self
    }

    /// The response, sent only after `pause`.
    pub fn delayed(mut self, pause: Duration) -> Self {
        self.delay = Some(pause);
        self
    }

    /// The response, its body sent slowly.
    pub fn dripping(mut self, pause: Duration) -> Self {
        self.drip = Some(pause);
        self
    }
}

type Route = dyn Fn(&Request) -> Response + Send + Sync;

/// A real HTTP server on a loopback port, one thread per connection, that lives as long as the
/// test process.
pub struct LoopbackServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl LoopbackServer {
    /// Starts a server on any free port answering every request with `route`.
    pub fn start(route: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Self {
        Self::start_on(0, route)
    }

    /// Starts a server on `port` (any free one for 0) answering every request with `route`.
    pub fn start_on(
        port: u16,
        route: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let route: Arc<Route> = Arc::new(route);
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (route, log) = (Arc::clone(&route), Arc::clone(&log));
                std::thread::spawn(move || answer(stream, &*route, &log));
            }
        });
        Self { base, seen }
    }

    /// Every request seen so far.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().unwrap().clone()
    }
}

/// Reads one request head and writes the route's answer; the connection then closes.
fn answer(stream: TcpStream, route: &Route, log: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let mut request = Request {
        method,
        path,
        headers,
        body: Vec::new(),
    };
    if let Some(length) = request
        .header("content-length")
        .and_then(|l| l.parse::<u64>().ok())
    {
        (&mut reader)
            .take(length)
            .read_to_end(&mut request.body)
            .ok();
    }
    let response = route(&request);
    log.lock().unwrap().push(request);
    if let Some(pause) = response.delay {
        std::thread::sleep(pause);
    }
    let mut stream = reader.into_inner();
    let mut head = format!(
        "HTTP/1.1 {} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        response.status,
        response.body.len()
    );
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    match response.drip {
        None => {
            stream.write_all(&response.body).ok();
        }
        Some(pause) => {
            for piece in response.body.chunks(64) {
                if stream
                    .write_all(piece)
                    .and_then(|()| stream.flush())
                    .is_err()
                {
                    return;
                }
                std::thread::sleep(pause);
            }
        }
    }
}

/// A zip as GitHub serves a commit's archive: every file under `<name>-<sha>/`.
pub fn github_zip(name: &str, sha: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, content) in files {
        zip.start_file(format!("{name}-{sha}/{path}"), options)
            .unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// One repository as GitHub's API and archive host would serve it.
#[derive(Debug, Clone)]
pub struct FakeRepo {
    /// The owner.
    pub owner: &'static str,
    /// The name.
    pub name: &'static str,
    /// The default branch.
    pub default_branch: &'static str,
    /// The commit every reference resolves to.
    pub sha: &'static str,
    /// The archive of that commit.
    pub archive: Vec<u8>,
    /// When set, the archive is sent slowly with this pause between 64-byte pieces.
    pub drip: Option<Duration>,
}

/// Routes for a GitHub-shaped host serving `repos`: `GET /repos/{o}/{r}` (metadata),
/// `GET /repos/{o}/{r}/commits/{ref}` (the SHA; a reference's components are segments of their
/// own, percent-decoded), `GET /{o}/{r}/zip/{sha}` (the archive); anything
/// else is GitHub's 404.
pub struct FakeGitHub;

impl FakeGitHub {
    /// A server for `repos`.
    pub fn start(repos: Vec<FakeRepo>) -> LoopbackServer {
        Self::start_on(0, repos)
    }

    /// A server for `repos` on `port` (any free one for 0).
    pub fn start_on(port: u16, repos: Vec<FakeRepo>) -> LoopbackServer {
        LoopbackServer::start_on(port, move |request| route(&repos, request))
    }
}

fn route(repos: &[FakeRepo], request: &Request) -> Response {
    let not_found = Response::json(
        404,
        r#"{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}"#,
    );
    let path = request.path.split('?').next().unwrap_or_default();
    let decoded: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let find = |owner: &str, name: &str| repos.iter().find(|r| r.owner == owner && r.name == name);
    match segments.as_slice() {
        ["repos", owner, name] => find(owner, name).map_or(not_found.clone(), |repo| {
            Response::json(
                200,
                &format!(
                    r#"{{"name":"{}","default_branch":"{}","size":{},"private":false}}"#,
                    repo.name,
                    repo.default_branch,
                    repo.archive.len().div_ceil(1024)
                ),
            )
        }),
        // A reference may have several components (`feature/x`), each percent-encoded as
        // GitHub's clients send them.
        ["repos", owner, name, "commits", reference @ ..]
            if !reference.is_empty() && reference.iter().all(|c| !c.is_empty()) =>
        {
            find(owner, name).map_or(not_found.clone(), |repo| Response::new(200, repo.sha))
        }
        [owner, name, "zip", sha] => match find(owner, name) {
            Some(repo) if repo.sha == *sha => {
                let response = Response::new(200, repo.archive.clone())
                    .header("content-type", "application/zip");
                match repo.drip {
                    Some(pause) => response.dripping(pause),
                    None => response,
                }
            }
            _ => not_found,
        },
        _ => not_found,
    }
}

/// A server that answers every request with GitHub's spent-rate-limit 403, resetting
/// `reset_in_secs` from `now_unix`.
pub fn rate_limited_github(now_unix: i64, reset_in_secs: i64) -> LoopbackServer {
    let reset = now_unix + reset_in_secs;
    LoopbackServer::start(move |_| {
        Response::json(
            403,
            r#"{"message":"API rate limit exceeded for 127.0.0.1."}"#,
        )
        .header("x-ratelimit-limit", 60)
        .header("x-ratelimit-remaining", 0)
        .header("x-ratelimit-reset", reset)
    })
}
