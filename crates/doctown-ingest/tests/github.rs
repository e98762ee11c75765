//! The GitHub client against a GitHub-shaped server on loopback: metadata, reference to commit,
//! the archive streamed to disk, and the error answers (404, 401, a spent rate limit).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use doctown_ingest::github::{GitHubClient, GitHubConfig, GitHubError};
use doctown_ingest::{ArchiveFormat, GitHubRepo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// An answer: status line, extra headers, body.
type Answer = (&'static str, Vec<(String, String)>, Vec<u8>);

/// Serves `route(request_head)` to every connection on a loopback port; gives the base URL and
/// the request heads seen.
async fn serve(
    route: impl Fn(&str) -> Answer + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buffer = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buffer).await.unwrap();
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buffer[..n]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            let (status, headers, body) = route(&head);
            log.lock().unwrap().push(head);
            let mut answer = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                answer.push_str(&format!("{name}: {value}\r\n"));
            }
            answer.push_str("\r\n");
            socket.write_all(answer.as_bytes()).await.unwrap();
            socket.write_all(&body).await.unwrap();
            socket.shutdown().await.ok();
        }
    });
    (base, seen)
}

fn client(base: &str, token: Option<&str>) -> GitHubClient {
    GitHubClient::new(GitHubConfig {
        api_base: base.to_owned(),
        archive_base: base.to_owned(),
        token: token.map(str::to_owned),
        ..GitHubConfig::default()
    })
    .unwrap()
}

fn repo() -> GitHubRepo {
    GitHubRepo {
        owner: "octo".into(),
        name: "hello".into(),
        git_ref: None,
    }
}

const SHA: &str = "6e1735597bb21c5d979a077395df85e1d633e077";

fn zip_archive() -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file(format!("hello-{SHA}/main.go"), options)
        .unwrap();
    zip.write_all(b"package main\n\nfunc main() {}\n").unwrap();
    zip.finish().unwrap().into_inner()
}

#[tokio::test]
async fn metadata_commit_and_archive_come_from_the_configured_host() {
    let archive = zip_archive();
    let body = archive.clone();
    let (base, seen) = serve(move |head| {
        if head.starts_with("GET /repos/octo/hello/commits/main ") {
            ("200 OK", vec![], SHA.as_bytes().to_vec())
        } else if head.starts_with("GET /repos/octo/hello ") {
            let json = r#"{"default_branch":"main","size":42,"private":false,"name":"hello"}"#;
            (
                "200 OK",
                vec![("content-type".into(), "application/json".into())],
                json.into(),
            )
        } else if head.starts_with(&format!("GET /octo/hello/zip/{SHA} ")) {
            (
                "200 OK",
                vec![("content-type".into(), "application/zip".into())],
                body.clone(),
            )
        } else {
            ("404 Not Found", vec![], b"{}".to_vec())
        }
    })
    .await;
    let client = client(&base, Some("s3cret"));
    let info = client.repository(&repo()).await.unwrap();
    assert_eq!(
        (info.default_branch.as_str(), info.size, info.private),
        ("main", 42, false)
    );
    assert_eq!(client.resolve_commit(&repo(), "main").await.unwrap(), SHA);

    let temp = tempfile::tempdir().unwrap();
    let file = temp.path().join("repo.zip");
    let written = client
        .download_archive(&repo(), SHA, &file, 1024 * 1024)
        .await
        .unwrap();
    assert_eq!(written, archive.len() as u64);
    let out = temp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let limits = doctown_ingest::archive::ArchiveLimits {
        max_file_bytes: 1 << 20,
        max_total_bytes: 1 << 24,
        max_entries: 100,
    };
    let unpacked =
        doctown_ingest::archive::unpack(&file, ArchiveFormat::Zip, &out, &limits).unwrap();
    assert!(unpacked.root.join("main.go").is_file());

    let heads = seen.lock().unwrap().clone();
    assert!(
        heads.iter().all(|h| h
            .to_ascii_lowercase()
            .contains("authorization: bearer s3cret")),
        "{heads:?}"
    );
    assert!(
        heads
            .iter()
            .all(|h| h.to_ascii_lowercase().contains("user-agent: doctown/"))
    );
}

#[tokio::test]
async fn an_archive_over_the_limit_is_refused() {
    let archive = zip_archive();
    let (base, _) = serve(move |_| ("200 OK", vec![], archive.clone())).await;
    let temp = tempfile::tempdir().unwrap();
    let err = client(&base, None)
        .download_archive(&repo(), SHA, &temp.path().join("a.zip"), 10)
        .await
        .unwrap_err();
    assert!(matches!(err, GitHubError::TooLarge { .. }));
    assert!(
        err.to_string().contains("over the 10-byte download limit"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_repository_says_what_to_check() {
    let (base, _) = serve(|_| {
        (
            "404 Not Found",
            vec![],
            br#"{"message":"Not Found"}"#.to_vec(),
        )
    })
    .await;
    let err = client(&base, None).repository(&repo()).await.unwrap_err();
    assert_eq!(err.code(), "not_found");
    assert_eq!(
        err.to_string(),
        "repository octo/hello was not found on GitHub; check the URL and reference, and for a \
         private repository set DOCTOWN_GITHUB_TOKEN"
    );
}

#[tokio::test]
async fn a_spent_rate_limit_says_when_it_resets() {
    let reset = chrono::Utc::now().timestamp() + 600;
    let (base, _) = serve(move |_| {
        let headers = vec![
            ("x-ratelimit-remaining".into(), "0".into()),
            ("x-ratelimit-reset".into(), reset.to_string()),
        ];
        (
            "403 Forbidden",
            headers,
            br#"{"message":"API rate limit exceeded"}"#.to_vec(),
        )
    })
    .await;
    let err = client(&base, None)
        .resolve_commit(&repo(), "main")
        .await
        .unwrap_err();
    let GitHubError::RateLimited { minutes, .. } = &err else {
        panic!("{err:?}")
    };
    assert!((9..=10).contains(minutes), "{minutes}");
    assert!(
        err.to_string()
            .contains("set DOCTOWN_GITHUB_TOKEN for a higher limit"),
        "{err}"
    );
}

#[tokio::test]
async fn a_refused_token_and_an_unreachable_host_are_clear() {
    let (base, _) = serve(|_| ("401 Unauthorized", vec![], b"{}".to_vec())).await;
    let err = client(&base, Some("wrong"))
        .repository(&repo())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "GitHub refused the token (401); check DOCTOWN_GITHUB_TOKEN"
    );

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let err = client(&format!("http://{closed}"), None)
        .repository(&repo())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not connect"), "{err}");
}
