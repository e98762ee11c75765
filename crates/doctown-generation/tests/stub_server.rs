//! The generation shell against an OpenAI-shaped server on loopback, for what a real server
//! cannot be made to do on demand: rate limits with `Retry-After`, 500s, answers too slow, and
//! counting the requests a cached run does not make.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use doctown_common::{Language, SymbolKind};
use doctown_contracts::generate::SymbolInput;
use doctown_docpack::SymbolContext;
use doctown_events::{GenerationMode, SummarySource, SummaryTotals};
use doctown_generation::{Generator, LlmConfig, SummaryCache, SymbolSummary};
use doctown_testkit::{LoopbackServer, Response};

const ANSWER: &str = r#"{"id":"c1","object":"chat.completion","created":1,"model":"stub","choices":[{"index":0,"message":{"role":"assistant","content":"This function parses the config file.\n\nIt returns settings. And logs."},"finish_reason":"stop"}],"usage":{"prompt_tokens":57,"completion_tokens":11,"total_tokens":68}}"#;

fn symbols(n: usize) -> Vec<SymbolInput> {
    (0..n)
        .map(|i| SymbolInput {
            symbol_id: format!("{i:032x}").parse().unwrap(),
            context: SymbolContext {
                called_by: vec!["main".into()],
                calls: vec!["read_file".into()],
                centrality: 0.5,
                cluster_label: Some("config".into()),
                doc: None,
                file_path: "src/config.rs".into(),
                imports: Vec::new(),
                kind: SymbolKind::Function,
                language: Language::Rust,
                name: format!("parse_{i}"),
                members: Vec::new(),
                parameters: Vec::new(),
                returns: None,
                related: Vec::new(),
                signature: format!("fn parse_{i}(path: &Path) -> Settings"),
            },
            code: Some(format!(
                "fn parse_{i}(path: &Path) -> Settings {{ read_file(path) }}"
            )),
        })
        .collect()
}

fn config(base: &str, model: &str) -> LlmConfig {
    LlmConfig {
        base_url: format!("{base}/v1"),
        api_key: Some("test-key".into()),
        organization: None,
        model: model.into(),
        max_output_tokens: 60,
        timeout: Duration::from_secs(1),
        max_attempts: 3,
        retry_base: Duration::from_millis(10),
    }
}

async fn run(generator: &Generator, n: usize) -> (Vec<SymbolSummary>, SummaryTotals) {
    let mut summaries = Vec::new();
    let completed = generator
        .generate(symbols(n), |s| summaries.push(s))
        .await
        .unwrap();
    (summaries, completed.totals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn summaries_are_cleaned_counted_priced_and_cached() {
    let server = LoopbackServer::start(|_| Response::json(200, ANSWER));
    let cache_dir = tempfile::tempdir().unwrap();
    let generator = Generator::new(
        Some(config(&server.base, "gpt-4o-mini")),
        Some(SummaryCache::new(cache_dir.path())),
        2000,
        4,
    )
    .unwrap();
    assert_eq!(generator.mode(), GenerationMode::Llm);
    let estimate = generator.estimate(&symbols(5), &[]);
    assert_eq!(estimate.to_generate, 5);
    assert!(estimate.input_tokens > 5 * 50);
    assert_eq!(estimate.max_output_tokens, 5 * 60);
    assert!(Generator::check_budget(&estimate, Some(0.000_01)).is_err());
    assert!(Generator::check_budget(&estimate, Some(1.0)).is_ok());

    let (summaries, totals) = run(&generator, 5).await;
    assert_eq!(summaries.len(), 5);
    for summary in &summaries {
        assert_eq!(
            summary.documented.summary,
            "Parses the config file. It returns settings."
        );
        assert_eq!(summary.documented.source, SummarySource::Llm);
        assert_eq!(
            (
                summary.documented.input_tokens,
                summary.documented.output_tokens
            ),
            (57, 11)
        );
        assert!(
            summary
                .prompt
                .as_deref()
                .unwrap()
                .contains("Symbol: parse_")
        );
    }
    assert_eq!((totals.documented, totals.failed, totals.cached), (5, 0, 0));
    assert_eq!((totals.input_tokens, totals.output_tokens), (285, 55));
    assert!((totals.cost_usd - (285.0 * 0.15 + 55.0 * 0.60) / 1e6).abs() < 1e-12);
    let requests = server.requests();
    assert_eq!(requests.len(), 5);
    assert_eq!(requests[0].path, "/v1/chat/completions");
    assert_eq!(requests[0].header("authorization"), Some("Bearer test-key"));
    let body: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["max_tokens"], 60);

    // A second run over the same code asks nothing and spends nothing.
    assert_eq!(generator.estimate(&symbols(5), &[]).to_generate, 0);
    let (again, totals) = run(&generator, 5).await;
    assert!(
        again
            .iter()
            .all(|s| s.documented.source == SummarySource::Cached)
    );
    assert_eq!(
        (totals.cached, totals.input_tokens, totals.cost_usd),
        (5, 0, 0.0)
    );
    assert_eq!(server.requests().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_is_waited_out_as_retry_after_asks() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let server = LoopbackServer::start(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 {
            Response::json(429, r#"{"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}"#)
                .header("retry-after", 1)
        } else {
            Response::json(200, ANSWER)
        }
    });
    let generator =
        Generator::new(Some(config(&server.base, "gpt-4o-mini")), None, 2000, 1).unwrap();
    let started = Instant::now();
    let (summaries, totals) = run(&generator, 1).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(summaries[0].documented.source, SummarySource::Llm);
    assert_eq!(totals.failed, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_are_retried_then_the_job_goes_on_offline() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let server = LoopbackServer::start(move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
        Response::new(500, "upstream exploded")
    });
    let generator = Generator::new(Some(config(&server.base, "smollm2")), None, 2000, 2).unwrap();
    let (summaries, totals) = run(&generator, 3).await;
    assert_eq!(calls.load(Ordering::SeqCst), 9, "3 attempts per symbol");
    assert_eq!(
        (totals.documented, totals.failed, totals.offline),
        (3, 3, 3)
    );
    assert_eq!(totals.cost_usd, 0.0);
    for summary in &summaries {
        assert_eq!(summary.documented.source, SummarySource::Offline);
        assert!(
            summary.documented.summary.starts_with("Calls `read_file`"),
            "{}",
            summary.documented.summary
        );
        let error = summary.documented.error.as_deref().unwrap();
        assert!(
            error.contains("500") && error.contains("3 attempt"),
            "{error}"
        );
    }

    // Two 500s, then an answer: retried into a success.
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let flaky = LoopbackServer::start(move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) < 2 {
            Response::new(502, "bad gateway")
        } else {
            Response::json(200, ANSWER)
        }
    });
    let generator = Generator::new(Some(config(&flaky.base, "smollm2")), None, 2000, 1).unwrap();
    let (summaries, totals) = run(&generator, 1).await;
    assert_eq!(summaries[0].documented.source, SummarySource::Llm);
    assert_eq!((totals.failed, calls.load(Ordering::SeqCst)), (0, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_slower_than_the_timeout_is_retried_then_reported() {
    let server =
        LoopbackServer::start(|_| Response::json(200, ANSWER).delayed(Duration::from_millis(1500)));
    let generator = Generator::new(Some(config(&server.base, "smollm2")), None, 2000, 1).unwrap();
    let (summaries, totals) = run(&generator, 1).await;
    assert_eq!(
        server.requests().len(),
        3,
        "{:?}",
        summaries[0].documented.error
    );
    assert_eq!(totals.failed, 1);
    let error = summaries[0].documented.error.as_deref().unwrap();
    assert!(error.contains("did not answer within 1 s"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_stops_the_job_with_what_to_check_and_offline_needs_no_server() {
    // Nothing listening, a key refused, a model the server does not have: every request would
    // fail alike, so the job stops at the first with what to check.
    let refusals = [
        (None, "cannot connect", "DOCTOWN_LLM_BASE_URL"),
        (Some(401), "refused the request (401", "DOCTOWN_LLM_API_KEY"),
        (Some(404), "no model `smollm2`", "DOCTOWN_LLM_MODEL"),
    ];
    for (status, what, check) in refusals {
        let server = status.map(|status| {
            LoopbackServer::start(move |_| {
                Response::json(
                    status,
                    r#"{"error":{"message":"no","type":"invalid_request_error"}}"#,
                )
            })
        });
        let base = server
            .as_ref()
            .map_or_else(|| "http://127.0.0.1:9".to_owned(), |s| s.base.clone());
        let generator = Generator::new(Some(config(&base, "smollm2")), None, 2000, 1).unwrap();
        let mut summaries = Vec::new();
        let err = generator
            .generate(symbols(3), |s| summaries.push(s))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "llm_refused");
        let message = err.to_string();
        assert!(
            message.contains(what) && message.contains(check),
            "{message}"
        );
        assert!(summaries.is_empty(), "{summaries:?}");
        if let (Some(server), Some(401 | 404)) = (&server, status) {
            assert_eq!(server.requests().len(), 1, "a refusal is not retried");
        }
    }

    let offline = Generator::new(None, None, 2000, 4).unwrap();
    assert_eq!(offline.mode(), GenerationMode::Offline);
    assert_eq!(offline.estimate(&symbols(3), &[]).cost_usd, 0.0);
    let (summaries, totals) = run(&offline, 3).await;
    assert_eq!(
        (totals.offline, totals.failed, totals.input_tokens),
        (3, 0, 0)
    );
    assert!(
        summaries
            .iter()
            .all(|s| s.documented.error.is_none() && s.documented.summary.ends_with('.'))
    );
}

/// A module page and the overview above it, each with a few facts.
fn pages() -> Vec<doctown_contracts::generate::ProseTask> {
    use doctown_contracts::generate::{ProseFact, ProseTask};
    let task = |page_id: &str, kind, children: Vec<String>| ProseTask {
        page_id: page_id.into(),
        title: page_id.into(),
        kind,
        repository: "shop".into(),
        facts: (0..3)
            .map(|i| ProseFact {
                text: format!("function `parse_{i}`: fn parse_{i}(path: &str) -> Settings"),
                symbol: Some(format!("{i:032x}").parse().unwrap()),
            })
            .collect(),
        children,
        readme: None,
    };
    vec![
        task(
            "module/config",
            doctown_docpack::PageKind::Module,
            Vec::new(),
        ),
        task(
            "overview",
            doctown_docpack::PageKind::Overview,
            vec!["module/config".into()],
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_prose_is_in_the_estimate_written_bottom_up_counted_priced_and_cached() {
    let server = LoopbackServer::start(|_| Response::json(200, ANSWER));
    let cache_dir = tempfile::tempdir().unwrap();
    let generator = Generator::new(
        Some(config(&server.base, "gpt-4o-mini")),
        Some(SummaryCache::new(cache_dir.path())),
        2000,
        2,
    )
    .unwrap();
    let symbols_only = generator.estimate(&symbols(5), &[]);
    let with_pages = generator.estimate(&symbols(5), &pages());
    assert_eq!(with_pages.prose_prompts, 2);
    assert!(with_pages.input_tokens > symbols_only.input_tokens);
    assert!(with_pages.cost_usd > symbols_only.cost_usd);
    // A limit the summaries fit but the prose does not: refused before any request.
    let limit = (symbols_only.cost_usd + with_pages.cost_usd) / 2.0;
    let refused = generator
        .start(&symbols(5), &pages(), Some(limit))
        .unwrap_err();
    assert_eq!(refused.code(), "over_budget");
    assert_eq!(server.requests().len(), 0);

    let summaries = std::collections::HashMap::new();
    let written = generator.write_prose(&pages(), &summaries).await.unwrap();
    assert_eq!(written.texts.len(), 2);
    // Prose keeps the model's sentences (a summary keeps two, without the preamble).
    assert_eq!(
        written.texts["overview"],
        "This function parses the config file. It returns settings. And logs."
    );
    assert_eq!((written.prompts, written.cached, written.failed), (2, 0, 0));
    assert!(written.input_tokens > 0 && written.cost_usd > 0.0);
    // The overview's prompt carries the module's prose: it was asked second.
    let requests = server.requests();
    let overview_prompt = String::from_utf8_lossy(&requests[1].body);
    assert!(
        overview_prompt.contains("part `module/config`: This function parses the config file.")
    );
    // Again: all from the cache, nothing spent.
    let again = generator.write_prose(&pages(), &summaries).await.unwrap();
    assert_eq!(again.texts, written.texts);
    assert_eq!((again.prompts, again.cached, again.input_tokens), (0, 2, 0));
}
