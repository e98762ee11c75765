//! One ingest job from start to end, the same in the CLI and the worker: make the source a
//! folder (downloading and unpacking into a temporary folder that is always removed), ingest
//! it, and report everything as one event stream that ends with exactly one
//! `ingest.completed`.

use std::path::{Path, PathBuf};

use doctown_common::Error;
use doctown_events::{
    Envelope, ErrorInfo, EventEmitter, FileSkipped, IngestCompleted, IngestStarted,
};
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use crate::archive::{self, ArchiveLimits};
use crate::github::{GitHubClient, GitHubConfig, GitHubError};
use crate::{
    ArchiveFormat, GitHubRepo, IngestError, IngestItem, IngestOptions, Source, checkout_commit,
    ingest_tree,
};

/// What an ingest job reads and how.
#[derive(Debug, Clone)]
pub struct IngestJob {
    /// The source, as the user wrote it (for `ingest.started`).
    pub input: String,
    /// The source, parsed.
    pub source: Source,
    /// The reference asked for, when one was.
    pub git_ref: Option<String>,
    /// Limits of the run.
    pub options: IngestOptions,
    /// Where GitHub is.
    pub github: GitHubConfig,
}

/// Runs `job`, sending every event to `send` as soon as it is known: `ingest.started`, the
/// files, their symbols and chunks, and last `ingest.completed` (failed with the error when
/// anything failed). The downloads run on `runtime`, which must be driven by threads of its own
/// (a multi-thread runtime): this thread blocks until they are done.
/// Cancelling `cancel` stops the job soon; `cancelled` then says why, for the failed
/// completion. Gives the totals, or the error the completion reported.
pub fn run_job(
    job: &IngestJob,
    emitter: &EventEmitter,
    runtime: &Handle,
    cancel: &CancellationToken,
    cancelled: &dyn Fn() -> ErrorInfo,
    send: &mut dyn FnMut(Envelope),
) -> Result<IngestCompleted, ErrorInfo> {
    send(emitter.emit(IngestStarted {
        source: job.input.clone(),
        source_kind: job.source.kind(),
        git_ref: job.git_ref.clone(),
    }));
    let outcome = read_source(job, runtime, cancel, &mut |item| {
        send(item.into_envelope(emitter))
    });
    let outcome = match outcome {
        Ok(totals) => Ok(totals),
        Err(IngestError::Cancelled) => Err(cancelled()),
        Err(err) => Err(ErrorInfo::new(err.code(), err.to_string())),
    };
    match outcome {
        Ok(totals) => {
            send(emitter.finish(totals.clone(), Ok(())));
            Ok(totals)
        }
        Err(info) => {
            send(emitter.finish(IngestCompleted::default(), Err(info.clone())));
            Err(info)
        }
    }
}

/// Makes the source a folder and ingests it.
fn read_source(
    job: &IngestJob,
    runtime: &Handle,
    cancel: &CancellationToken,
    emit: &mut dyn FnMut(IngestItem),
) -> Result<IngestCompleted, IngestError> {
    let options = &job.options;
    // Held to the end: dropping it removes everything downloaded and unpacked.
    let mut _workspace: Option<tempfile::TempDir> = None;
    let (root, commit): (PathBuf, Option<String>) = match &job.source {
        Source::Directory(path) => (path.clone(), None),
        Source::GitCheckout(path) => (path.clone(), checkout_commit(path)),
        Source::Archive(path, format) => {
            let temp = _workspace.insert(temp_dir()?);
            let root = unpack(path, *format, temp.path(), options, emit)?;
            (root, None)
        }
        Source::GitHub(repo) => {
            let temp = _workspace.insert(temp_dir()?);
            let (root, sha) = download(
                repo,
                &job.github,
                temp.path(),
                options,
                runtime,
                cancel,
                emit,
            )?;
            (root, Some(sha))
        }
    };
    let mut totals = ingest_tree(&root, options, cancel, emit)?;
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
    archive: &Path,
    format: ArchiveFormat,
    into: &Path,
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
        emit(IngestItem::Skipped(FileSkipped {
            path: entry.path,
            reason: entry.reason,
            detail: Some(entry.detail),
        }));
    }
    Ok(unpacked.root)
}

/// Resolves the reference, downloads the commit's archive and unpacks it into `into`; gives the
/// folder to read and the commit. Cancelling `cancel` abandons the download at once.
fn download(
    repo: &GitHubRepo,
    github: &GitHubConfig,
    into: &Path,
    options: &IngestOptions,
    runtime: &Handle,
    cancel: &CancellationToken,
    emit: &mut dyn FnMut(IngestItem),
) -> Result<(PathBuf, String), IngestError> {
    let client = GitHubClient::new(github.clone())?;
    let archive = into.join("archive.zip");
    let fetch = async {
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
    };
    let sha = runtime.block_on(async {
        tokio::select! {
            fetched = fetch => fetched.map_err(IngestError::from),
            () = cancel.cancelled() => Err(IngestError::Cancelled),
        }
    })?;
    let files = into.join("files");
    std::fs::create_dir(&files).map_err(|err| Error::io("create directory", &files, err))?;
    let root = unpack(&archive, ArchiveFormat::Zip, &files, options, emit)?;
    Ok((root, sha))
}
