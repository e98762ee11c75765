//! `doctown generate`: the main job in one process, a repository in and a `.docpack` out, with a
//! progress bar per stage (plain lines when stderr is not a terminal) and a summary at the end.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use doctown_common::Error;
use doctown_events::{Envelope, ErrorInfo, Payload, Status};
use doctown_pipeline::{PipelineOutcome, PipelineSettings, run};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ingest::{count, emitter, job, runtime_and_interrupt};
use crate::shown::shown;

/// How progress is shown.
enum View {
    /// Every envelope as a JSON line on stdout.
    Events(BufWriter<io::Stdout>),
    /// A bar per stage on a terminal, or a line per stage elsewhere.
    Bars(Bars),
}

/// The stages' bars.
struct Bars {
    all: MultiProgress,
    terminal: bool,
    ingest: Option<ProgressBar>,
    embed: Option<ProgressBar>,
    generate: Option<ProgressBar>,
    files: u64,
    chunks: u64,
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Bars {
    fn new() -> Self {
        let terminal = io::stderr().is_terminal();
        let all = MultiProgress::with_draw_target(if terminal {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Self {
            all,
            terminal,
            ingest: None,
            embed: None,
            generate: None,
            files: 0,
            chunks: 0,
        }
    }

    /// A line for logs when stderr is not a terminal.
    fn line(&self, text: &str) {
        let text = shown(text);
        if self.terminal {
            self.all.println(&text).ok();
        } else {
            eprintln!("{text}");
        }
    }

    fn bar(&self, length: Option<u64>, prefix: &str) -> ProgressBar {
        let bar = match length {
            Some(n) => self.all.add(ProgressBar::new(n)).with_style(style(
                "{prefix:>9} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {wide_msg}",
            )),
            None => self
                .all
                .add(ProgressBar::new_spinner())
                .with_style(style("{prefix:>9} {spinner} {elapsed} {wide_msg}")),
        };
        bar.set_prefix(prefix.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    fn show(&mut self, envelope: &Envelope) {
        if envelope.status == Some(Status::Failed) {
            // The run's error is printed once, at the end.
            self.clear();
            return;
        }
        match &envelope.payload {
            Payload::IngestStarted(started) => {
                self.ingest = Some(self.bar(None, "ingest"));
                if !self.terminal {
                    self.line(&format!("ingest: reading {}", started.source));
                }
            }
            Payload::IngestFileDetected(file) => {
                self.files += 1;
                if let Some(bar) = &self.ingest {
                    bar.set_message(format!("{} files · {}", self.files, shown(&file.path)));
                }
            }
            Payload::IngestChunkCreated(_) => {
                // Embedding runs beside ingest: its bar grows with the chunks made so far.
                self.chunks += 1;
                if let Some(bar) = &self.embed {
                    bar.set_length(self.chunks);
                }
            }
            Payload::IngestCompleted(done) => {
                if let Some(bar) = self.ingest.take() {
                    bar.finish_and_clear();
                }
                self.line(&format!(
                    "ingest: {}, {}, {} in {:.1} s",
                    count(done.files, "file"),
                    count(done.symbols_by_kind.values().sum(), "symbol"),
                    count(done.chunks, "chunk"),
                    done.duration_ms as f64 / 1000.0
                ));
            }
            Payload::EmbeddingBatchStarted(batch) => {
                if self.embed.is_none() {
                    self.embed = Some(self.bar(Some(self.chunks), "embed"));
                }
                if let Some(bar) = &self.embed {
                    bar.set_message(format!("batch {}", batch.batch_id));
                }
            }
            Payload::EmbeddingBatchCompleted(batch) => {
                if let Some(bar) = &self.embed {
                    bar.inc(batch.chunk_count);
                }
            }
            Payload::EmbeddingCompleted(done) => {
                if let Some(bar) = self.embed.take() {
                    bar.finish_and_clear();
                }
                self.line(&format!(
                    "embed: {} ({} from the cache) in {:.1} s",
                    count(done.chunk_count, "chunk"),
                    done.cached_count,
                    done.duration_ms as f64 / 1000.0
                ));
            }
            Payload::AssemblyCompleted(done) => self.line(&format!(
                "assemble: {}, {}, {} in {:.1} s",
                count(done.cluster_count, "cluster"),
                count(done.node_count, "node"),
                count(done.edge_count, "edge"),
                done.duration_ms as f64 / 1000.0
            )),
            Payload::GenerationStarted(started) => {
                self.generate = Some(self.bar(Some(started.symbol_count), "generate"));
                if !self.terminal {
                    self.line(&format!(
                        "generate: {} with {} (cost at most ${:.4})",
                        count(started.symbol_count, "symbol"),
                        started.model,
                        started.estimated_cost_usd
                    ));
                }
            }
            Payload::GenerationSymbolDocumented(_) => {
                if let Some(bar) = &self.generate {
                    bar.inc(1);
                }
            }
            Payload::GenerationCompleted(done) => {
                if let Some(bar) = self.generate.take() {
                    bar.finish_and_clear();
                }
                self.line(&format!(
                    "generate: {} in {:.1} s",
                    count(done.totals.documented, "summary"),
                    done.duration_ms as f64 / 1000.0
                ));
            }
            _ => {}
        }
    }

    fn clear(&mut self) {
        for bar in [self.ingest.take(), self.embed.take(), self.generate.take()]
            .into_iter()
            .flatten()
        {
            bar.finish_and_clear();
        }
    }
}

/// `owner/repo` → `repo.docpack`, `path/to/folder` → `folder.docpack`.
fn default_output(input: &str) -> PathBuf {
    let trimmed = input.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix(".git").unwrap_or(trimmed);
    let name = trimmed
        .rsplit('/')
        .find(|part| !part.is_empty() && *part != "." && *part != "..")
        .unwrap_or("repository");
    let name = [".tar.gz", ".tgz", ".zip"]
        .iter()
        .find_map(|ext| name.strip_suffix(ext))
        .unwrap_or(name);
    let name = if name.is_empty() || name == "." {
        std::env::current_dir()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "repository".into())
    } else {
        name.to_owned()
    };
    PathBuf::from(format!("{name}.docpack"))
}

/// Where the docpack goes, checked before any work: `-o` (a folder receives the default name),
/// else the default name here; its folder must exist and take a new file.
fn writable_output(output: Option<&Path>, input: &str) -> Result<PathBuf, String> {
    let output = match output {
        Some(path) if path.is_dir() => path.join(default_output(input)),
        Some(path) => path.to_path_buf(),
        None => default_output(input),
    };
    let folder = match output.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        return Err(format!(
            "cannot write {}: the folder {} does not exist; create it, or choose another path \
             with -o",
            output.display(),
            folder.display()
        ));
    }
    // The docpack is written beside its destination, then renamed: try that now, not after
    // the whole run.
    tempfile::Builder::new()
        .prefix(".doctown-")
        .tempfile_in(folder)
        .map_err(|err| Error::io("write in", folder, err).to_string())?;
    Ok(output)
}

/// Runs `doctown generate`.
pub(crate) fn generate(
    input: &str,
    git_ref: Option<&str>,
    output: Option<&Path>,
    events: bool,
    settings: &PipelineSettings,
) -> Result<(), String> {
    let job = job(input, git_ref, &settings.ingest)?;
    let output = writable_output(output, input)?;
    let emitter = emitter(&job);
    let mut view = if events {
        View::Events(BufWriter::new(io::stdout()))
    } else {
        View::Bars(Bars::new())
    };
    let (runtime, cancel) = runtime_and_interrupt()?;
    let mut write_error = None;
    let outcome = run(
        &job,
        settings,
        &output,
        &emitter,
        runtime.handle(),
        &cancel,
        &|| ErrorInfo::new("cancelled", "interrupted; nothing was kept"),
        &mut |envelope| match &mut view {
            View::Events(out) => {
                let written = serde_json::to_writer(&mut *out, envelope)
                    .map_err(io::Error::from)
                    .and_then(|()| out.write_all(b"\n"));
                if let Err(err) = written {
                    write_error.get_or_insert(err);
                }
            }
            View::Bars(bars) => bars.show(envelope),
        },
    );
    match &mut view {
        View::Events(out) => {
            if let Err(err) = out.flush() {
                write_error.get_or_insert(err);
            }
        }
        View::Bars(bars) => bars.clear(),
    }
    if let Some(err) = write_error.filter(|err| err.kind() != io::ErrorKind::BrokenPipe) {
        return Err(format!("cannot write the events: {err}"));
    }
    let outcome = outcome.map_err(|info| info.message)?;
    if !events {
        print_summary(&outcome);
    }
    Ok(())
}

fn print_summary(outcome: &PipelineOutcome) {
    let ingest = &outcome.ingest;
    let generation = &outcome.generation.totals;
    let languages: Vec<String> = doctown_ingest::ranked(&ingest.files_by_language)
        .into_iter()
        .map(|(language, n)| format!("{} {n}", language.display_name()))
        .collect();
    println!(
        "{}: {}",
        count(ingest.files, "file"),
        if languages.is_empty() {
            "no known language".to_owned()
        } else {
            languages.join(", ")
        }
    );
    println!(
        "{}, {} ({} embedded, {} from the cache)",
        count(ingest.symbols_by_kind.values().sum(), "symbol"),
        count(ingest.chunks, "chunk"),
        outcome.embedding.chunk_count - outcome.embedding.cached_count,
        outcome.embedding.cached_count
    );
    let labels: Vec<String> = outcome
        .clusters
        .iter()
        .take(8)
        .map(|(label, n)| format!("{} ({n})", shown(label)))
        .collect();
    println!(
        "{}: {}{}",
        count(outcome.clusters.len() as u64, "cluster"),
        labels.join(", "),
        if outcome.clusters.len() > labels.len() {
            ", …"
        } else {
            ""
        }
    );
    let edges: Vec<String> = outcome
        .edges
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    println!(
        "{}: {}",
        count(outcome.edges.values().sum(), "edge"),
        edges.join(", ")
    );
    let written = generation.documented - generation.cached - generation.offline;
    println!(
        "{}: {written} by the model, {} cached, {} offline{}",
        count(generation.documented, "summary"),
        generation.cached,
        generation.offline,
        if generation.failed > 0 {
            format!(" ({} after the model failed)", generation.failed)
        } else {
            String::new()
        }
    );
    let grounding = &outcome.grounding;
    if grounding.pages > 0 {
        let share = if grounding.identifiers == 0 {
            100.0
        } else {
            grounding.resolved as f64 * 100.0 / grounding.identifiers as f64
        };
        println!(
            "prose: {} by the model; {} of {} names in code resolve to the code ({share:.2} %, the rest shown as plain text)",
            count(grounding.pages as u64, "page"),
            grounding.resolved,
            grounding.identifiers
        );
    }
    println!(
        "tokens: {} in, {} out; cost ${:.4} (summaries and prose)",
        generation.input_tokens, generation.output_tokens, generation.cost_usd
    );
    let times: Vec<String> = outcome
        .durations
        .iter()
        .map(|(stage, d)| format!("{} {:.1} s", stage.name(), d.as_secs_f64()))
        .collect();
    println!(
        "time: {} (embedding runs beside ingest; total {:.1} s)",
        times.join(", "),
        outcome.elapsed.as_secs_f64()
    );
    println!(
        "wrote {} ({}, sha256 {})",
        shown(&outcome.path.display().to_string()),
        count(outcome.pack.size_bytes, "byte"),
        outcome.pack.checksum.as_deref().unwrap_or("?")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_named_after_the_source() {
        assert_eq!(
            default_output("https://github.com/rust-lang/log"),
            PathBuf::from("log.docpack")
        );
        assert_eq!(
            default_output("https://github.com/a/b.git"),
            PathBuf::from("b.docpack")
        );
        assert_eq!(
            default_output("../work/crates/"),
            PathBuf::from("crates.docpack")
        );
        assert_eq!(default_output("repo.tar.gz"), PathBuf::from("repo.docpack"));
    }
}
