//! The GitHub client: repository metadata, reference to commit, and the archive of one commit
//! streamed to disk. The API and archive hosts are configuration, so that tests (and GitHub
//! Enterprise) can point them elsewhere.
//!
//! The client sends the operator's token, so what users give never shapes a request beyond its
//! own path segments: URLs are built by [`endpoint`], which percent-encodes every segment
//! (owner, name, each component of a [`GitRef`], commit), and an answer's body never reaches an
//! error message (a status and a fixed description only), since job errors are shown to others.

use std::path::Path;
use std::time::Duration;

use doctown_common::Error;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::source::{GitHubRepo, GitRef, is_sha};

/// Where GitHub is and how to talk to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubConfig {
    /// The REST API's base URL (default `https://api.github.com`).
    pub api_base: String,
    /// The archive host's base URL (default `https://codeload.github.com`); archives are fetched
    /// from `{archive_base}/{owner}/{repo}/zip/{sha}`.
    pub archive_base: String,
    /// A token, for private repositories and a higher rate limit.
    pub token: Option<String>,
    /// How long one request may take.
    pub timeout: Duration,
}

impl Default for GitHubConfig {
    fn default() -> Self {
        Self {
            api_base: "https://api.github.com".to_owned(),
            archive_base: "https://codeload.github.com".to_owned(),
            token: None,
            timeout: Duration::from_secs(300),
        }
    }
}

/// What the API says about a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoInfo {
    /// The branch read when no reference is given.
    pub default_branch: GitRef,
    /// The repository's size as GitHub counts it, in KiB.
    pub size: u64,
    /// Whether it is private.
    pub private: bool,
}

/// The repository as the API answers it, before its default branch is checked.
#[derive(Deserialize)]
struct RepoAnswer {
    default_branch: String,
    /// The repository's size as GitHub counts it, in KiB.
    pub size: u64,
    /// Whether it is private.
    pub private: bool,
}

/// Why a GitHub request failed, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    /// The repository or reference does not exist, or is private and no token was given.
    #[error(
        "{what} was not found on GitHub; check the URL and reference, and for a private \
         repository set DOCTOWN_GITHUB_TOKEN"
    )]
    NotFound {
        /// What was looked for: `repository a/b`, `reference x of a/b`.
        what: String,
    },
    /// The API's rate limit is spent.
    #[error(
        "the GitHub API rate limit is reached; it resets at {reset} (in {minutes} min); set \
         DOCTOWN_GITHUB_TOKEN for a higher limit, or retry then"
    )]
    RateLimited {
        /// When the limit resets (RFC 3339, UTC).
        reset: String,
        /// Minutes until then, rounded up.
        minutes: i64,
    },
    /// The token was refused.
    #[error("GitHub refused the token (401); check DOCTOWN_GITHUB_TOKEN")]
    BadToken,
    /// The archive is larger than allowed.
    #[error(
        "the archive of {repo} is over the {limit}-byte download limit; raise \
         DOCTOWN_MAX_TOTAL_BYTES or ingest a smaller repository"
    )]
    TooLarge {
        /// The repository.
        repo: String,
        /// The limit.
        limit: u64,
    },
    /// Anything else: the network, an unexpected status, a malformed answer, the disk.
    #[error(transparent)]
    Other(#[from] Error),
}

impl GitHubError {
    /// A stable snake_case code for events.
    pub fn code(&self) -> &'static str {
        match self {
            GitHubError::NotFound { .. } => "not_found",
            GitHubError::RateLimited { .. } => "rate_limited",
            GitHubError::BadToken => "bad_token",
            GitHubError::TooLarge { .. } => "size_limit_exceeded",
            GitHubError::Other(err) => err.code(),
        }
    }
}

/// A client for one GitHub (or GitHub-shaped) host.
#[derive(Debug, Clone)]
pub struct GitHubClient {
    http: reqwest::Client,
    config: GitHubConfig,
}

impl GitHubClient {
    /// A client with `config`.
    pub fn new(config: GitHubConfig) -> Result<Self, Error> {
        let mut headers = HeaderMap::new();
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("doctown/", env!("CARGO_PKG_VERSION"))),
        );
        if let Some(token) = &config.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                Error::invalid("GitHub token", "(hidden)", "a token without line breaks")
            })?;
            headers.insert(AUTHORIZATION, value);
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(20))
            .build()?;
        Ok(Self { http, config })
    }

    /// The repository's metadata.
    pub async fn repository(&self, repo: &GitHubRepo) -> Result<RepoInfo, GitHubError> {
        let url = endpoint(
            &self.config.api_base,
            ["repos", repo.owner.as_str(), repo.name.as_str()],
        )?;
        let response = self.get(url, "application/vnd.github+json").await?;
        let response = check(response, || {
            format!("repository {}/{}", repo.owner, repo.name)
        })?;
        let answer: RepoAnswer = response
            .json()
            .await
            // reqwest's decode error is described without the body (`Error::from`).
            .map_err(Error::from)?;
        let default_branch = GitRef::parse(&answer.default_branch).map_err(|_| {
            unexpected(
                &self.config.api_base,
                "GitHub named a default branch that is not a valid git reference",
            )
        })?;
        Ok(RepoInfo {
            default_branch,
            size: answer.size,
            private: answer.private,
        })
    }

    /// The commit a branch, tag or (partial) SHA names.
    pub async fn resolve_commit(
        &self,
        repo: &GitHubRepo,
        git_ref: &GitRef,
    ) -> Result<String, GitHubError> {
        let segments = ["repos", repo.owner.as_str(), repo.name.as_str(), "commits"]
            .into_iter()
            .chain(git_ref.components());
        let url = endpoint(&self.config.api_base, segments)?;
        let response = self.get(url, "application/vnd.github.sha").await?;
        let response = check(response, || {
            format!("reference {git_ref} of {}/{}", repo.owner, repo.name)
        })?;
        let url = response.url().clone();
        let sha = response
            .text()
            .await
            .map_err(Error::from)?
            .trim()
            .to_owned();
        if !is_sha(&sha) {
            // The body is not repeated: job errors are shown to everyone, and a body is
            // whatever the server had at that path.
            return Err(unexpected(
                url.as_str(),
                "GitHub's answer for the reference was not a 40-digit commit SHA",
            )
            .into());
        }
        Ok(sha)
    }

    /// Streams the zip of `sha` into `destination` (never whole in memory), stopping at
    /// `max_bytes`; gives the bytes written.
    pub async fn download_archive(
        &self,
        repo: &GitHubRepo,
        sha: &str,
        destination: &Path,
        max_bytes: u64,
    ) -> Result<u64, GitHubError> {
        let url = endpoint(
            &self.config.archive_base,
            [repo.owner.as_str(), repo.name.as_str(), "zip", sha],
        )?;
        let response = self.get(url, "application/zip").await?;
        let mut response = check(response, || {
            format!("the archive of {}/{} at {sha}", repo.owner, repo.name)
        })?;
        let too_large = || GitHubError::TooLarge {
            repo: format!("{}/{}", repo.owner, repo.name),
            limit: max_bytes,
        };
        if response
            .content_length()
            .is_some_and(|length| length > max_bytes)
        {
            return Err(too_large());
        }
        let mut file = tokio::fs::File::create(destination)
            .await
            .map_err(|err| Error::io("create", destination, err))?;
        let mut written = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(Error::from)? {
            written += chunk.len() as u64;
            if written > max_bytes {
                return Err(too_large());
            }
            file.write_all(&chunk)
                .await
                .map_err(|err| Error::io("write", destination, err))?;
        }
        file.flush()
            .await
            .map_err(|err| Error::io("write", destination, err))?;
        Ok(written)
    }

    async fn get(
        &self,
        url: reqwest::Url,
        accept: &'static str,
    ) -> Result<reqwest::Response, GitHubError> {
        let response = self
            .http
            .get(url)
            .header(ACCEPT, accept)
            .send()
            .await
            .map_err(Error::from)?;
        Ok(response)
    }
}

/// `base` (a configured host, maybe with a path prefix) followed by `segments`, each
/// percent-encoded as one path segment: a segment can hold neither `/` nor a `.`/`..` that
/// would move the path, whatever it is.
pub fn endpoint<'a>(
    base: &str,
    segments: impl IntoIterator<Item = &'a str>,
) -> Result<reqwest::Url, Error> {
    let mut url = reqwest::Url::parse(base).map_err(|_| {
        Error::invalid(
            "GitHub base URL",
            base,
            "an absolute http(s) URL such as https://api.github.com",
        )
    })?;
    {
        let mut path = url.path_segments_mut().map_err(|()| {
            Error::invalid(
                "GitHub base URL",
                base,
                "an http(s) URL that can hold a path",
            )
        })?;
        path.pop_if_empty();
        for segment in segments {
            // `Url` encodes `/` and `%` in a pushed segment, but drops `.` and `..`; no segment
            // built from user input is either (a `GitRef`'s components and GitHub names never
            // are), and one that were would be refused here rather than moved.
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err(Error::invalid(
                    "path segment",
                    segment,
                    "a non-empty name other than `.` or `..`",
                ));
            }
            path.push(segment);
        }
    }
    Ok(url)
}

/// An answer GitHub should not have given, described without repeating its body.
fn unexpected(url: &str, detail: &str) -> Error {
    Error::Http {
        url: url.to_owned(),
        status: None,
        detail: detail.to_owned(),
    }
}

/// Turns error statuses into [`GitHubError`]s; `what` names the thing asked for.
fn check(
    response: reqwest::Response,
    what: impl FnOnce() -> String,
) -> Result<reqwest::Response, GitHubError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let spent = header("x-ratelimit-remaining").as_deref() == Some("0");
    match status.as_u16() {
        403 | 429 if spent => {
            let reset = header("x-ratelimit-reset")
                .and_then(|r| r.parse::<i64>().ok())
                .unwrap_or_default();
            let at = chrono::DateTime::from_timestamp(reset, 0).unwrap_or_default();
            let minutes = ((reset - chrono::Utc::now().timestamp()).max(0) + 59) / 60;
            Err(GitHubError::RateLimited {
                reset: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                minutes,
            })
        }
        404 => Err(GitHubError::NotFound { what: what() }),
        401 => Err(GitHubError::BadToken),
        code => Err(GitHubError::Other(Error::Http {
            url: response.url().to_string(),
            status: Some(code),
            detail: format!("GitHub answered {status}"),
        })),
    }
}
