//! The ingest settings every front end reads the same way: flags, else environment variables,
//! else defaults. The CLI and the ingest worker flatten [`IngestSettings`] into their own
//! command lines, so a limit is named once.

use std::time::Duration;

use crate::github::GitHubConfig;
use crate::{GitRef, IngestJob, IngestOptions, Source};

/// A request for a GitHub job that cannot be run: which field is at fault, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRequest {
    /// The request's field: `repo_url` or `git_ref`.
    pub field: &'static str,
    /// What is wrong and what to give instead.
    pub message: String,
}

/// Limits of an ingest run and where GitHub is.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Ingest settings")]
pub struct IngestSettings {
    /// Files larger than this many bytes are skipped.
    #[arg(long, env = "DOCTOWN_MAX_FILE_BYTES", default_value_t = IngestOptions::default().max_file_bytes, value_name = "BYTES")]
    pub max_file_bytes: u64,

    /// A run whose files to read (or whose downloaded archive) hold more bytes than this fails.
    #[arg(long, env = "DOCTOWN_MAX_TOTAL_BYTES", default_value_t = IngestOptions::default().max_total_bytes, value_name = "BYTES")]
    pub max_total_bytes: u64,

    /// Files past this count are skipped.
    #[arg(long, env = "DOCTOWN_MAX_FILES", default_value_t = IngestOptions::default().max_files, value_name = "COUNT")]
    pub max_files: usize,

    /// A GitHub token, for private repositories and a higher API rate limit.
    #[arg(
        long,
        env = "DOCTOWN_GITHUB_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub github_token: Option<String>,

    /// GitHub's REST API base URL.
    #[arg(long, env = "DOCTOWN_GITHUB_API_URL", default_value_t = GitHubConfig::default().api_base, value_name = "URL")]
    pub github_api_url: String,

    /// Where commit archives are fetched: `{URL}/{owner}/{repo}/zip/{sha}`.
    #[arg(long, env = "DOCTOWN_GITHUB_ARCHIVE_URL", default_value_t = GitHubConfig::default().archive_base, value_name = "URL")]
    pub github_archive_url: String,

    /// How many seconds one GitHub request, the archive download included, may take.
    #[arg(long, env = "DOCTOWN_GITHUB_TIMEOUT_SECS", default_value_t = GitHubConfig::default().timeout.as_secs(), value_name = "SECONDS")]
    pub github_timeout_secs: u64,
}

impl Default for IngestSettings {
    fn default() -> Self {
        let options = IngestOptions::default();
        let github = GitHubConfig::default();
        Self {
            max_file_bytes: options.max_file_bytes,
            max_total_bytes: options.max_total_bytes,
            max_files: options.max_files,
            github_token: None,
            github_api_url: github.api_base,
            github_archive_url: github.archive_base,
            github_timeout_secs: github.timeout.as_secs(),
        }
    }
}

impl IngestSettings {
    /// The limits of a run.
    pub fn options(&self) -> IngestOptions {
        IngestOptions {
            max_file_bytes: self.max_file_bytes,
            max_total_bytes: self.max_total_bytes,
            max_files: self.max_files,
            ..IngestOptions::default()
        }
    }

    /// The job a service runs for `repo_url` (a GitHub repository URL, in any of the accepted
    /// forms) at `git_ref` (a branch, tag or commit overriding the URL's), under these limits.
    /// Services read GitHub only: a local path is refused, as is an empty reference.
    pub fn github_job(
        &self,
        repo_url: &str,
        git_ref: Option<&str>,
    ) -> Result<IngestJob, InvalidRequest> {
        if git_ref.is_some_and(|git_ref| git_ref.trim().is_empty()) {
            return Err(InvalidRequest {
                field: "git_ref",
                message: "`git_ref` is empty; give a branch, tag or commit, or leave it out for \
                          the default branch"
                    .into(),
            });
        }
        if let Some(git_ref) = git_ref {
            GitRef::parse(git_ref.trim()).map_err(|err| InvalidRequest {
                field: "git_ref",
                message: err.to_string(),
            })?;
        }
        let source = Source::parse_github(repo_url, git_ref).map_err(|err| InvalidRequest {
            field: "repo_url",
            message: err.to_string(),
        })?;
        Ok(IngestJob {
            input: repo_url.to_owned(),
            source,
            git_ref: git_ref.map(str::to_owned),
            options: self.options(),
            github: self.github(),
        })
    }

    /// Where GitHub is and how to talk to it; an empty token counts as none.
    pub fn github(&self) -> GitHubConfig {
        GitHubConfig {
            api_base: self.github_api_url.clone(),
            archive_base: self.github_archive_url.clone(),
            token: self.github_token.clone().filter(|token| !token.is_empty()),
            timeout: Duration::from_secs(self.github_timeout_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        settings: IngestSettings,
    }

    #[test]
    fn defaults_match_the_library_defaults() {
        let parsed = Command::try_parse_from(["doctown"]).unwrap().settings;
        let expected = IngestSettings::default();
        // The environment of the test run may set a token; compare the rest.
        assert_eq!(parsed.max_file_bytes, expected.max_file_bytes);
        assert_eq!(parsed.max_total_bytes, expected.max_total_bytes);
        assert_eq!(parsed.max_files, expected.max_files);
        assert_eq!(parsed.github_timeout_secs, expected.github_timeout_secs);
    }

    #[test]
    fn flags_set_limits_and_hosts() {
        let parsed = Command::try_parse_from([
            "doctown",
            "--max-total-bytes",
            "1000",
            "--github-api-url",
            "http://127.0.0.1:9/api",
            "--github-token",
            "",
        ])
        .unwrap()
        .settings;
        assert_eq!(parsed.options().max_total_bytes, 1000);
        assert_eq!(parsed.github().api_base, "http://127.0.0.1:9/api");
        assert_eq!(parsed.github().token, None);
    }
}
