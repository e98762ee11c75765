//! The GitHub client against a GitHub-shaped server on loopback: metadata, reference to commit,
//! the archive streamed to disk, and the error answers (404, 401, a spent rate limit).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use doctown_ingest::github::{GitHubClient, GitHubConfig, GitHubError};
use doctown_ingest::{ArchiveFormat, GitHubRepo, GitRef};
use doctown_testkit::{
    FakeGitHub, FakeRepo, LoopbackServer, Response, github_zip, rate_limited_github,
};

fn client(base: &str, token: Option<&str>) -> GitHubClient {
    GitHubClient::new(GitHubConfig {
        api_base: base.to_owned(),
        archive_base: base.to_owned(),
        token: token.map(str::to_owned),
        ..GitHubConfig::default()
    })
    .unwrap()
}

fn git_ref(text: &str) -> GitRef {
    GitRef::parse(text).unwrap()
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
    github_zip(
        "hello",
        SHA,
        &[("main.go", "package main\n\nfunc main() {}\n")],
    )
}

#[tokio::test]
async fn metadata_commit_and_archive_come_from_the_configured_host() {
    let archive = zip_archive();
    let github = FakeGitHub::start(vec![FakeRepo {
        owner: "octo",
        name: "hello",
        default_branch: "main",
        sha: SHA,
        archive: archive.clone(),
        drip: None,
    }]);
    let base = github.base.clone();
    let client = client(&base, Some("s3cret"));
    let info = client.repository(&repo()).await.unwrap();
    assert_eq!(
        (info.default_branch.as_str(), info.size, info.private),
        ("main", 1, false)
    );
    assert_eq!(
        client
            .resolve_commit(&repo(), &git_ref("main"))
            .await
            .unwrap(),
        SHA
    );

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

    let requests = github.requests();
    assert_eq!(requests.len(), 3);
    for request in requests {
        assert_eq!(request.header("authorization"), Some("Bearer s3cret"));
        assert!(
            request
                .header("user-agent")
                .unwrap()
                .starts_with("doctown/")
        );
    }
}

#[tokio::test]
async fn an_archive_over_the_limit_is_refused() {
    let archive = zip_archive();
    let server = LoopbackServer::start(move |_| Response::new(200, archive.clone()));
    let base = server.base;
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
    let base = FakeGitHub::start(Vec::new()).base;
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
    let base = rate_limited_github(chrono::Utc::now().timestamp(), 600).base;
    let err = client(&base, None)
        .resolve_commit(&repo(), &git_ref("main"))
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
    let base = LoopbackServer::start(|_| Response::json(401, "{}")).base;
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

#[tokio::test]
async fn every_segment_from_user_input_is_percent_encoded() {
    let server = LoopbackServer::start(|_| Response::new(200, SHA));
    let client = client(&format!("{}/api/v3/", server.base), Some("s3cret"));
    let repo = GitHubRepo {
        owner: "octo".into(),
        name: "hello.js".into(),
        git_ref: None,
    };
    // `#`, `%` and non-ASCII are allowed in git references; `/` separates components.
    for reference in ["feature/x", "v1#frag", "a%2Fb", "caf\u{e9}/x"] {
        client
            .resolve_commit(&repo, &git_ref(reference))
            .await
            .unwrap();
    }
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/api/v3/repos/octo/hello.js/commits/feature/x",
            "/api/v3/repos/octo/hello.js/commits/v1%23frag",
            "/api/v3/repos/octo/hello.js/commits/a%252Fb",
            "/api/v3/repos/octo/hello.js/commits/caf%C3%A9/x",
        ]
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_commit_is_never_repeated_in_the_error() {
    // What a path the token can read might hold: it must not reach a job's error, which
    // everyone can list.
    let secret = r#"{"login":"operator","email":"ops@example.com","token":"ghp_s3cret"}"#;
    let server = LoopbackServer::start(move |_| Response::json(200, secret));
    let err = client(&server.base, Some("s3cret"))
        .resolve_commit(&repo(), &git_ref("main"))
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("operator") && !err.contains("ghp_"), "{err}");
    assert!(err.contains("not a 40-digit commit SHA"), "{err}");

    // Nor in a metadata answer that cannot be read.
    let server = LoopbackServer::start(|_| Response::json(200, r#"{"default_branch":"ghp_s3cret"#));
    let err = client(&server.base, None)
        .repository(&repo())
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains("ghp_"), "{err}");

    // And a default branch git would refuse is not used as one.
    let server = LoopbackServer::start(|_| {
        Response::json(
            200,
            r#"{"default_branch":"../../user","size":1,"private":false}"#,
        )
    });
    let err = client(&server.base, None)
        .repository(&repo())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a valid git reference"), "{err}");
}
