//! The main job end to end on real source files (doctown-intel's samples, copied into a folder)
//! with the real embedding model (`scripts/fetch-model`) and offline summaries: a verified
//! docpack, the same bytes from a warm second run that embeds nothing, only an edited file's
//! chunks embedded again, and bad input refused with nothing left behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::path::{Path, PathBuf};

use clap::Parser;
use doctown_common::JobId;
use doctown_docpack::{ReadLimits, read_docpack};
use doctown_events::{Envelope, ErrorInfo, EventContext, EventEmitter, EventType, SequenceCheck};
use doctown_ingest::{IngestJob, Source};
use doctown_pipeline::{PipelineOutcome, PipelineSettings, run};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    settings: PipelineSettings,
}

fn settings(cache: &Path) -> PipelineSettings {
    settings_with(cache, &["--offline"])
}

fn settings_with(cache: &Path, flags: &[&str]) -> PipelineSettings {
    let mut args = vec!["test", "--cache-dir", cache.to_str().unwrap()];
    args.extend_from_slice(flags);
    Args::parse_from(args).settings
}

/// Runs the pipeline; cancels the run when the event `cancel_at` is sent.
fn run_with(
    repo: &Path,
    settings: &PipelineSettings,
    output: &Path,
    cancel_at: Option<EventType>,
) -> (Result<PipelineOutcome, ErrorInfo>, Vec<Envelope>) {
    let input = repo.to_str().unwrap();
    let job = IngestJob {
        input: input.to_owned(),
        source: Source::parse(input, None).unwrap(),
        git_ref: None,
        options: settings.ingest.options(),
        github: settings.ingest.github(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let emitter = EventEmitter::new(JobId::generate(), EventContext::default(), "test");
    let cancel = CancellationToken::new();
    let mut events = Vec::new();
    let outcome = run(
        &job,
        settings,
        output,
        &emitter,
        runtime.handle(),
        &cancel,
        &|| ErrorInfo::new("cancelled", "cancelled"),
        &mut |envelope| {
            if Some(envelope.event_type()) == cancel_at {
                cancel.cancel();
            }
            events.push(envelope.clone());
        },
    );
    (outcome, events)
}

/// A temporary folder holding `repo/`, a copy of the sample files, and the path of `cache/`.
fn workspace() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let (repo, cache) = (work.path().join("repo"), work.path().join("cache"));
    std::fs::create_dir_all(&repo).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../doctown-intel/tests/fixtures");
    for name in ["sample.py", "sample.rs", "sample.go", "sample.ts"] {
        std::fs::copy(fixtures.join(name), repo.join(name)).unwrap();
    }
    (work, repo, cache)
}

/// Neither the docpack nor a partial one is left: only `repo/` and `cache/` are in `work`.
fn nothing_written(work: &Path, output: &Path) {
    assert!(!output.exists());
    let mut left: Vec<_> = std::fs::read_dir(work)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["cache", "repo"]);
}

fn generate(
    repo: &Path,
    cache: &Path,
    output: &Path,
) -> (Result<PipelineOutcome, ErrorInfo>, Vec<Envelope>) {
    run_with(repo, &settings(cache), output, None)
}

#[test]
fn a_folder_becomes_a_verified_docpack_and_an_unchanged_one_the_same_bytes() {
    let (work, repo, cache) = workspace();
    let output = work.path().join("out.docpack");

    let (first, events) = generate(&repo, &cache, &output);
    let first = first.unwrap();
    // One stream, in order: each stage's events end with its completion.
    let mut check = SequenceCheck::new();
    for envelope in &events {
        envelope.validate().unwrap();
        check.observe(envelope).unwrap();
    }
    let completions: Vec<EventType> = events
        .iter()
        .filter(|e| e.status.is_some())
        .map(Envelope::event_type)
        .collect();
    assert_eq!(
        completions,
        [
            EventType::IngestCompleted,
            EventType::EmbeddingCompleted,
            EventType::AssemblyCompleted,
            EventType::GenerationCompleted,
            EventType::PackCompleted,
        ]
    );
    assert_eq!(first.embedding.cached_count, 0);
    assert!(first.embedding.chunk_count > 20);
    let bytes = std::fs::read(&output).unwrap();
    let docpack =
        read_docpack(&bytes[..], Cursor::new(Vec::new()), &ReadLimits::default()).unwrap();
    let symbols: u64 = first.ingest.symbols_by_kind.values().sum();
    assert_eq!(docpack.nodes.nodes.len() as u64, symbols);
    assert!(docpack.nodes.nodes.iter().all(|n| n.summary.is_some()));
    assert!(!docpack.clusters.clusters.is_empty());
    assert_eq!(
        docpack.embeddings.as_ref().unwrap().len() as u64,
        first.embedding.chunk_count
    );
    assert_eq!(first.generation.totals.offline, symbols);

    // Warm: nothing embedded, the same bytes.
    let second_output = work.path().join("again.docpack");
    let (second, _) = generate(&repo, &cache, &second_output);
    let second = second.unwrap();
    assert_eq!(second.embedding.cached_count, second.embedding.chunk_count);
    assert_eq!(
        second.pack.checksum, first.pack.checksum,
        "a warm run writes the same bytes"
    );

    // One file edited: only its changed chunks are embedded again.
    let edited = repo.join("sample.py");
    let original = std::fs::read_to_string(&edited).unwrap();
    let modified = std::fs::metadata(&edited).unwrap().modified().unwrap();
    let mut text = original.clone();
    text.push_str("\n\ndef added_later(x):\n    return x * 2\n");
    std::fs::write(&edited, text).unwrap();
    let (third, _) = generate(&repo, &cache, &work.path().join("edited.docpack"));
    let third = third.unwrap();
    let embedded = third.embedding.chunk_count - third.embedding.cached_count;
    assert!(
        (1..=3).contains(&embedded),
        "{embedded} chunks embedded again"
    );
    assert_ne!(third.pack.checksum, first.pack.checksum);

    // Cold again, without the caches: batches made in whatever order ingest's threads finish
    // give the same vectors, so the same bytes.
    std::fs::write(&edited, original).unwrap();
    // The docpack is dated by the newest file: the restored file gets its date back too.
    let file = std::fs::File::options().write(true).open(&edited).unwrap();
    file.set_modified(modified).unwrap();
    drop(file);
    let mut uncached = settings(&cache);
    uncached.no_cache = true;
    let (fourth, _) = run_with(&repo, &uncached, &work.path().join("cold.docpack"), None);
    let fourth = fourth.unwrap();
    assert_eq!(fourth.embedding.cached_count, 0);
    assert_eq!(fourth.pack.checksum, first.pack.checksum);
}

#[test]
fn a_run_cancelled_between_stages_ends_the_next_stage_failed_and_writes_nothing() {
    let (work, repo, cache) = workspace();
    let output = work.path().join("out.docpack");
    for (cancel_at, ends) in [
        (EventType::EmbeddingCompleted, EventType::AssemblyCompleted),
        (EventType::GenerationStarted, EventType::GenerationCompleted),
        (EventType::GenerationCompleted, EventType::PackCompleted),
    ] {
        let (outcome, events) = run_with(&repo, &settings(&cache), &output, Some(cancel_at));
        assert_eq!(outcome.unwrap_err().code, "cancelled");
        let last = events.last().unwrap();
        assert_eq!(last.event_type(), ends, "cancelled at {cancel_at:?}");
        assert_eq!(last.error.as_ref().unwrap().code, "cancelled");
        assert!(!output.exists());
    }
}

#[test]
fn an_unwritable_output_fails_and_leaves_nothing() {
    let (work, repo, cache) = workspace();
    let output = work.path().join("missing-folder").join("out.docpack");
    let (outcome, events) = generate(&repo, &cache, &output);
    let err = outcome.unwrap_err();
    assert!(err.message.contains("missing-folder"), "{}", err.message);
    let last = events.last().unwrap();
    assert_eq!(last.event_type(), EventType::PackCompleted);
    assert!(last.error.is_some());
    nothing_written(work.path(), &output);
}

#[test]
fn a_missing_model_or_a_refusing_model_server_fails_with_what_to_do_and_leaves_nothing() {
    let (work, repo, cache) = workspace();
    let output = work.path().join("out.docpack");

    let no_model = work.path().join("no-model");
    let missing = settings_with(
        &cache,
        &["--offline", "--model-dir", no_model.to_str().unwrap()],
    );
    let (outcome, events) = run_with(&repo, &missing, &output, None);
    let err = outcome.unwrap_err();
    assert_eq!(err.code, "model_unavailable");
    assert!(
        err.message.contains("scripts/fetch-model"),
        "{}",
        err.message
    );
    assert_eq!(
        events.last().unwrap().event_type(),
        EventType::EmbeddingCompleted
    );
    assert!(!output.exists());

    // Nothing listens on port 9: the job stops at generation instead of writing offline
    // summaries nobody asked for.
    let refusing = settings_with(
        &cache,
        &[
            "--llm-base-url",
            "http://127.0.0.1:9/v1",
            "--llm-max-attempts",
            "1",
        ],
    );
    let (outcome, events) = run_with(&repo, &refusing, &output, None);
    let err = outcome.unwrap_err();
    assert_eq!(err.code, "llm_refused");
    assert!(err.message.contains("--offline"), "{}", err.message);
    let last = events.last().unwrap();
    assert_eq!(last.event_type(), EventType::GenerationCompleted);
    assert_eq!(last.error.as_ref().unwrap().code, "llm_refused");
    nothing_written(work.path(), &output);
}

/// The llama-server `scripts/services start` runs (DOCTOWN_TEST_LLM_URL); `None`, and the test
/// says so and passes, only outside CI.
fn llama_server() -> Option<String> {
    match std::env::var("DOCTOWN_TEST_LLM_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("DOCTOWN_TEST_LLM_URL is not set: CI runs scripts/services start")
        }
        _ => {
            eprintln!("skipped: no llama-server (run `eval \"$(scripts/services start)\"`)");
            None
        }
    }
}

#[test]
fn with_a_model_each_page_gets_grounded_prose_bottom_up_and_a_rerun_costs_nothing() {
    let Some(url) = llama_server() else { return };
    // A small real tree (a 135M model on two cores writes a few answers a second): a README,
    // a package of two modules and a program that uses it.
    let work = tempfile::tempdir().unwrap();
    let (repo, cache) = (work.path().join("shop"), work.path().join("cache"));
    for (path, text) in [
        (
            "README.md",
            "# shop\n\nShop keeps orders and prints a report of them.\n",
        ),
        (
            "store/orders.py",
            "\"\"\"Where orders are kept.\"\"\"\n\n\ndef add(orders, order):\n    \"\"\"Adds an order.\"\"\"\n    orders.append(order)\n\n\ndef total(orders):\n    \"\"\"The sum of the orders.\"\"\"\n    return sum(orders)\n",
        ),
        ("store/__init__.py", "\"\"\"The order store.\"\"\"\n"),
        (
            "report.py",
            "from store.orders import add, total\n\n\ndef main():\n    orders = []\n    add(orders, 3)\n    print(total(orders))\n\n\nif __name__ == \"__main__\":\n    main()\n",
        ),
    ] {
        let file = repo.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    // A small budget, so a page's material is summarised in parts first.
    let flags = [
        "--llm-base-url",
        url.as_str(),
        "--llm-api-key",
        "local",
        "--model",
        "smollm2",
        "--summary-max-tokens",
        "40",
        "--prompt-budget-tokens",
        "400",
    ];
    let settings = settings_with(&cache, &flags);
    let output = work.path().join("prose.docpack");
    let (outcome, events) = run_with(&repo, &settings, &output, None);
    let outcome = outcome.unwrap();
    let started = events
        .iter()
        .find_map(|e| match &e.payload {
            doctown_events::Payload::GenerationStarted(started) => Some(started.clone()),
            _ => None,
        })
        .unwrap();
    let totals = &outcome.generation.totals;
    // The estimate bounds what was spent, prose included.
    assert!(
        started.estimated_input_tokens >= totals.input_tokens,
        "{} < {}",
        started.estimated_input_tokens,
        totals.input_tokens
    );
    let bytes = std::fs::read(&output).unwrap();
    let docpack =
        read_docpack(&bytes[..], Cursor::new(Vec::new()), &ReadLimits::default()).unwrap();
    let pages = docpack.pages.unwrap().pages;
    let modules = pages.iter().filter(|p| p.id.starts_with("module/")).count();
    // Prose on the module pages and the overview, but where the model failed a page (a 135M
    // model sometimes answers nothing usable; the page keeps its offline text).
    let grounding = outcome.grounding;
    assert!(
        grounding.pages >= 1 && grounding.pages <= modules + 1,
        "{grounding:?}"
    );
    assert!(grounding.resolved <= grounding.identifiers);
    // Prose sits under each module page's first line; no `doctown:` link of it is dangling
    // (the reader checks every citation and link when it reads the docpack).
    let overview = pages.iter().find(|p| p.id == "overview").unwrap();
    assert!(overview.body.lines().count() > 10);

    // The same run again: every summary and paragraph the model wrote comes from the cache.
    // What it failed (not cached) is asked again, so only a run it failed nothing in is free.
    let first = outcome.generation.totals.clone();
    let all_written = first.failed == 0 && grounding.pages == modules + 1;
    let again = work.path().join("again.docpack");
    let (outcome, _) = run_with(&repo, &settings, &again, None);
    let outcome = outcome.unwrap();
    let rerun_totals = &outcome.generation.totals;
    // `offline` counts the summaries the model failed too.
    assert!(rerun_totals.cached >= first.documented - first.offline);
    assert!(rerun_totals.input_tokens < first.input_tokens);
    assert!(outcome.grounding.pages >= grounding.pages);
    if all_written {
        assert_eq!(rerun_totals.input_tokens, 0);
        assert_eq!(outcome.grounding, grounding);
        let bytes = std::fs::read(&again).unwrap();
        let rerun =
            read_docpack(&bytes[..], Cursor::new(Vec::new()), &ReadLimits::default()).unwrap();
        assert!(rerun.pages.unwrap().pages == pages, "the same pages");
    }
}
