//! `doctown ingest`: read a repository and report its files, languages, symbols and chunks, with
//! live progress and a summary, or as the raw event stream (`--events`).

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use doctown_common::{Error, JobId};
use doctown_events::{
    Envelope, ErrorInfo, EventContext, EventEmitter, IngestCompleted, IngestStarted,
};
use doctown_ingest::archive::{self, ArchiveLimits};
use doctown_ingest::github::{GitHubClient, GitHubConfig, GitHubError};
use doctown_ingest::{
    ArchiveFormat, GitHubRepo, IngestError, IngestItem, IngestOptions, Source, checkout_commit,
    ingest_tree, ranked,
};
use indicatif::{ProgressBar, ProgressStyle};

/// Where envelopes go: printed as JSON lines, or folded into a progress line.
enum Output {
    Events(BufWriter<io::Stdout>),
    Progress {
        bar: ProgressBar,
        files: u64,
        chunks: u64,
    },
}

impl Output {
    fn show(&mut self, envelope: &Envelope) -> io::Result<()> {
        match self {
            Output::Events(out) => {
                serde_json::to_writer(&mut *out, envelope)?;
                out.write_all(b"\n")
            }
            Output::Progress { bar, files, chunks } => {
                match &envelope.payload {
                    doctown_events::Payload::IngestFileDetected(file) => {
                        *files += 1;
                        bar.set_message(format!("{files} files, {chunks} chunks · {}", file.path));
                    }
                    doctown_events::Payload::IngestChunkCreated(_) => *chunks += 1,
                    _ => {}
                }
                bar.tick();
                Ok(())
            }
        }
    }
}

/// Runs `doctown ingest`.
pub(crate) fn run(input: &str, git_ref: Option<&str>, events: bool) -> Result<(), String> {
    let source = Source::parse(input, git_ref).map_err(|err| err.to_string())?;
    let context = EventContext {
        repo_url: Some(source.to_string()),
        git_ref: git_ref.map(str::to_owned),
        user_id: None,
    };
    let mut emitter = EventEmitter::new(
        JobId::generate(),
        context,
        concat!("doctown-cli/", env!("CARGO_PKG_VERSION")),
    );
    let mut output = if events {
        Output::Events(BufWriter::new(io::stdout()))
    } else {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Output::Progress {
            bar,
            files: 0,
            chunks: 0,
        }
    };
    let started = IngestStarted {
        source: input.to_owned(),
        source_kind: source.kind(),
        git_ref: git_ref.map(str::to_owned),
    };
    let mut write_error = None;
    let mut show = |envelope: Envelope, output: &mut Output| {
        if let Err(err) = output.show(&envelope) {
            write_error.get_or_insert(err);
        }
    };
    show(emitter.emit(started), &mut output);
    let outcome = ingest(&source, &mut |item| {
        show(item.into_envelope(&mut emitter), &mut output)
    });
    let (finished, result) = match outcome {
        Ok(totals) => (emitter.finish(totals.clone(), Ok(())), Ok(totals)),
        Err(err) => {
            let info = ErrorInfo::new(err.code(), err.to_string());
            (
                emitter.finish(IngestCompleted::default(), Err(info)),
                Err(err.to_string()),
            )
        }
    };
    show(finished, &mut output);
    match output {
        Output::Events(mut out) => {
            if let Err(err) = out.flush() {
                write_error.get_or_insert(err);
            }
        }
        Output::Progress { bar, .. } => {
            bar.finish_and_clear();
            if let Ok(totals) = &result {
                print_summary(totals);
            }
        }
    }
    if let Some(err) = write_error.filter(|err| err.kind() != io::ErrorKind::BrokenPipe) {
        return Err(Error::from(err).to_string());
    }
    result.map(|_| ())
}

/// Prepares the folder to read (unpacking an archive into a temporary folder that is removed
/// afterwards) and ingests it.
fn ingest(
    source: &Source,
    emit: &mut dyn FnMut(IngestItem),
) -> Result<IngestCompleted, IngestError> {
    let options = IngestOptions::default();
    let cancel = AtomicBool::new(false);
    let (root, commit, _unpacked_into): (PathBuf, Option<String>, Option<tempfile::TempDir>) =
        match source {
            Source::Directory(path) => (path.clone(), None, None),
            Source::GitCheckout(path) => (path.clone(), checkout_commit(path), None),
            Source::Archive(path, format) => {
                let temp = temp_dir()?;
                let root = unpack(path, *format, temp.path(), &options, emit)?;
                (root, None, Some(temp))
            }
            Source::GitHub(repo) => {
                let temp = temp_dir()?;
                let (unpacked, sha) = download(repo, temp.path(), &options, emit)?;
                (unpacked, Some(sha), Some(temp))
            }
        };
    let mut totals = ingest_tree(&root, &options, &cancel, emit)?;
    totals.commit_sha = commit;
    Ok(totals)
}

/// A temporary folder for the job, removed when dropped.
fn temp_dir() -> Result<tempfile::TempDir, Error> {
    tempfile::Builder::new()
        .prefix("doctown-ingest-")
        .tempdir()
        .map_err(|err| Error::io("create a temporary folder in", std::env::temp_dir(), err))
}

/// Unpacks an archive into `into`, reporting the entries left out; gives the folder to read.
fn unpack(
    archive: &std::path::Path,
    format: ArchiveFormat,
    into: &std::path::Path,
    options: &IngestOptions,
    emit: &mut dyn FnMut(IngestItem),
) -> Result<PathBuf, Error> {
    let limits = ArchiveLimits {
        max_file_bytes: options.max_file_bytes,
        max_total_bytes: options.max_total_bytes,
        max_entries: options.max_files.saturating_mul(4),
    };
    let unpacked = archive::unpack(archive, format, into, &limits)?;
    for entry in unpacked.skipped {
        emit(IngestItem::Skipped(doctown_events::FileSkipped {
            path: entry.path,
            reason: entry.reason,
            detail: Some(entry.detail),
        }));
    }
    Ok(unpacked.root)
}

/// GitHub settings from the environment: `DOCTOWN_GITHUB_TOKEN`, `DOCTOWN_GITHUB_API_URL`,
/// `DOCTOWN_GITHUB_ARCHIVE_URL`.
fn github_config() -> GitHubConfig {
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let defaults = GitHubConfig::default();
    GitHubConfig {
        api_base: env("DOCTOWN_GITHUB_API_URL").unwrap_or(defaults.api_base),
        archive_base: env("DOCTOWN_GITHUB_ARCHIVE_URL").unwrap_or(defaults.archive_base),
        token: env("DOCTOWN_GITHUB_TOKEN"),
        timeout: defaults.timeout,
    }
}

/// Resolves the reference, downloads the commit's archive and unpacks it into `into`; gives the
/// folder to read and the commit.
fn download(
    repo: &GitHubRepo,
    into: &std::path::Path,
    options: &IngestOptions,
    emit: &mut dyn FnMut(IngestItem),
) -> Result<(PathBuf, String), IngestError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Error::from)?;
    let client = GitHubClient::new(github_config())?;
    let archive = into.join("archive.zip");
    let sha = runtime.block_on(async {
        let git_ref = match &repo.git_ref {
            Some(git_ref) => git_ref.clone(),
            None => client.repository(repo).await?.default_branch,
        };
        let sha = client.resolve_commit(repo, &git_ref).await?;
        // The compressed archive is bounded by the same total as the files it holds.
        client
            .download_archive(repo, &sha, &archive, options.max_total_bytes)
            .await?;
        Ok::<_, GitHubError>(sha)
    })?;
    let files = into.join("files");
    std::fs::create_dir(&files).map_err(|err| Error::io("create directory", &files, err))?;
    let root = unpack(&archive, ArchiveFormat::Zip, &files, options, emit)?;
    Ok((root, sha))
}

/// `1 file`, `2 files`.
fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn print_summary(totals: &IngestCompleted) {
    println!(
        "Ingested {} ({}) in {:.1} s: {}, {}",
        count(totals.files, "file"),
        count(totals.bytes, "byte"),
        totals.duration_ms as f64 / 1000.0,
        count(totals.chunks, "chunk"),
        count(totals.symbols_by_kind.values().sum::<u64>(), "symbol"),
    );
    if let Some(commit) = &totals.commit_sha {
        println!("Commit {commit}");
    }
    let table = |title: &str, rows: Vec<(String, u64)>| {
        if rows.is_empty() {
            return;
        }
        println!("\n{title:<24} {:>8}", "count");
        for (name, count) in rows {
            println!("  {name:<22} {count:>8}");
        }
    };
    let other = totals.files - totals.files_by_language.values().sum::<u64>();
    let mut languages: Vec<(String, u64)> = ranked(&totals.files_by_language)
        .into_iter()
        .map(|(k, v)| (k.display_name().to_owned(), v))
        .collect();
    if other > 0 {
        languages.push(("other text".to_owned(), other));
    }
    table("Files by language", languages);
    table(
        "Symbols by kind",
        ranked(&totals.symbols_by_kind)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    );
    table(
        "Skipped by reason",
        ranked(&totals.skipped_by_reason)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    );
}
