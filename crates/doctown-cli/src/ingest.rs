//! `doctown ingest`: read a repository and report its files, languages, symbols and chunks, with
//! live progress and a summary, or as the raw event stream (`--events`).

use std::io::{self, BufWriter, Write};
use std::time::Duration;

use doctown_common::{Error, JobId};
use doctown_events::{Envelope, ErrorInfo, EventContext, EventEmitter, IngestCompleted, Payload};
use doctown_ingest::{IngestJob, IngestSettings, Source, ranked, run_job};
use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::shown::shown;

/// Where envelopes go: printed as JSON lines, or folded into a progress line.
enum Output {
    Events(BufWriter<io::Stdout>),
    Progress {
        bar: ProgressBar,
        files: u64,
        symbols: u64,
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
            Output::Progress {
                bar,
                files,
                symbols,
                chunks,
            } => {
                match &envelope.payload {
                    Payload::IngestFileDetected(file) => {
                        *files += 1;
                        bar.set_message(format!(
                            "{files} files, {symbols} symbols, {chunks} chunks · {}",
                            shown(&file.path)
                        ));
                    }
                    Payload::IngestFileParsed(file) => *symbols += file.symbols.len() as u64,
                    Payload::IngestChunkCreated(_) => *chunks += 1,
                    _ => {}
                }
                bar.tick();
                Ok(())
            }
        }
    }
}

/// The ingest job `input` (at `git_ref`) names.
pub(crate) fn job(
    input: &str,
    git_ref: Option<&str>,
    settings: &IngestSettings,
) -> Result<IngestJob, String> {
    Ok(IngestJob {
        input: input.to_owned(),
        source: Source::parse(input, git_ref).map_err(|err| err.to_string())?,
        git_ref: git_ref.map(str::to_owned),
        options: settings.options(),
        github: settings.github(),
    })
}

/// The emitter of a new job reading `job`'s source.
pub(crate) fn emitter(job: &IngestJob) -> EventEmitter {
    let context = EventContext {
        repo_url: Some(job.source.to_string()),
        git_ref: job.git_ref.clone(),
        user_id: None,
    };
    EventEmitter::new(
        JobId::generate(),
        context,
        concat!("doctown-cli/", env!("CARGO_PKG_VERSION")),
    )
}

/// A runtime for downloads and model requests (the job itself blocks this thread), and a token
/// that Ctrl-C cancels, so an interrupted job still removes its temporary files and ends with a
/// failed completion.
pub(crate) fn runtime_and_interrupt() -> Result<(tokio::runtime::Runtime, CancellationToken), String>
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|err| Error::from(err).to_string())?;
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    ctrlc::set_handler(move || on_interrupt.cancel())
        .map_err(|err| format!("cannot handle Ctrl-C: {err}"))?;
    Ok((runtime, cancel))
}

/// Runs `doctown ingest`.
pub(crate) fn run(
    input: &str,
    git_ref: Option<&str>,
    events: bool,
    settings: &IngestSettings,
) -> Result<(), String> {
    let job = job(input, git_ref, settings)?;
    let emitter = emitter(&job);
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
            symbols: 0,
            chunks: 0,
        }
    };
    let (runtime, cancel) = runtime_and_interrupt()?;
    let mut write_error = None;
    let result = run_job(
        &job,
        &emitter,
        runtime.handle(),
        &cancel,
        &|| ErrorInfo::new("cancelled", "interrupted; nothing was kept"),
        &mut |envelope| {
            if let Err(err) = output.show(&envelope) {
                write_error.get_or_insert(err);
            }
        },
    );
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
    result.map(|_| ()).map_err(|info| info.message)
}

/// `1 file`, `2 files`, `3 summaries`.
pub(crate) fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else if let Some(stem) = noun.strip_suffix('y') {
        format!("{n} {stem}ies")
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
            println!("  {:<22} {count:>8}", shown(&name));
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
