//! The happy path against a real OpenAI-compatible server: llama.cpp's llama-server with
//! SmolLM2-135M-Instruct on loopback (`scripts/fetch-llm` builds it once, `scripts/services
//! start` runs it and sets DOCTOWN_TEST_LLM_URL). Asserts on structure, never on wording: a
//! 135M model's sentences vary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use doctown_common::{Language, SymbolKind};
use doctown_contracts::generate::SymbolInput;
use doctown_docpack::SymbolContext;
use doctown_events::SummarySource;
use doctown_generation::{Generator, LlmConfig, SummaryCache};

/// The server's base URL; `None` (the test then says so and passes) only outside CI.
fn server() -> Option<String> {
    match std::env::var("DOCTOWN_TEST_LLM_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "DOCTOWN_TEST_LLM_URL is not set: CI runs scripts/fetch-llm and scripts/services start"
            )
        }
        _ => {
            eprintln!(
                "skipped: no llama-server (run `eval \"$(scripts/fetch-llm)\"; eval \"$(scripts/services start)\"`)"
            );
            None
        }
    }
}

fn symbol(i: usize, name: &str, signature: &str, code: &str) -> SymbolInput {
    SymbolInput {
        symbol_id: format!("{i:032x}").parse().unwrap(),
        context: SymbolContext {
            called_by: vec!["main".into()],
            calls: Vec::new(),
            centrality: 0.3,
            cluster_label: Some("math".into()),
            doc: None,
            file_path: "src/math.rs".into(),
            imports: Vec::new(),
            kind: SymbolKind::Function,
            language: Language::Rust,
            name: name.into(),
            members: Vec::new(),
            parameters: Vec::new(),
            returns: None,
            related: Vec::new(),
            signature: signature.into(),
        },
        code: Some(code.into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn llama_server_writes_counted_summaries_and_a_second_run_costs_nothing() {
    let Some(base_url) = server() else { return };
    let cache = tempfile::tempdir().unwrap();
    let config = LlmConfig {
        base_url,
        api_key: Some("local".into()),
        organization: None,
        model: "smollm2".into(),
        max_output_tokens: 48,
        timeout: Duration::from_secs(120),
        max_attempts: 3,
        retry_base: Duration::from_millis(500),
    };
    let generator =
        Generator::new(Some(config), Some(SummaryCache::new(cache.path())), 2000, 2).unwrap();
    let symbols = vec![
        symbol(
            0,
            "add",
            "pub fn add(a: i64, b: i64) -> i64",
            "pub fn add(a: i64, b: i64) -> i64 {\n    a + b\n}",
        ),
        symbol(
            1,
            "is_even",
            "pub fn is_even(n: u32) -> bool",
            "pub fn is_even(n: u32) -> bool {\n    n % 2 == 0\n}",
        ),
        symbol(
            2,
            "mean",
            "pub fn mean(values: &[f64]) -> f64",
            "pub fn mean(values: &[f64]) -> f64 {\n    values.iter().sum::<f64>() / values.len() as f64\n}",
        ),
    ];
    let mut summaries = Vec::new();
    let totals = generator
        .generate(symbols.clone(), |s| summaries.push(s.documented))
        .await
        .unwrap()
        .totals;
    assert_eq!(totals.documented, 3);
    assert_eq!(totals.failed, 0, "{summaries:?}");
    for summary in &summaries {
        assert_eq!(summary.source, SummarySource::Llm, "{summary:?}");
        assert!(!summary.summary.trim().is_empty());
        assert!(!summary.summary.contains("```"));
        assert!(
            summary.input_tokens > 50 && summary.output_tokens > 0,
            "{summary:?}"
        );
    }
    assert!(totals.input_tokens > 150 && totals.output_tokens > 0);
    // A local model has no price: its tokens are counted, its cost is zero.
    assert_eq!(totals.cost_usd, 0.0);

    let mut again = Vec::new();
    let totals = generator
        .generate(symbols, |s| again.push(s.documented))
        .await
        .unwrap()
        .totals;
    assert_eq!(
        (totals.cached, totals.input_tokens, totals.output_tokens),
        (3, 0, 0)
    );
    assert!(again.iter().all(|s| s.source == SummarySource::Cached));
}
