//! Summaries of a real tree's first N symbols (default 200) by the model at DOCTOWN_LLM_BASE_URL
//! (`scripts/bench-generation` starts llama.cpp's server), twice: the first run for summaries per
//! second, tokens and cost, the second for the cache's hit rate. Contexts come from the
//! extraction core and the code graph (no embeddings: no related symbols or cluster labels).
//!
//! ```text
//! cargo bench -p doctown-generation --bench generate -- DIR [SYMBOLS]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use doctown_assembly::{code_graph, symbol_contexts};
use doctown_common::Language;
use doctown_contracts::generate::SymbolInput;
use doctown_generation::{Generator, LlmConfig, Price, SummaryCache};

/// The language-known files under `dir`, sorted by path.
fn sources(dir: &Path, root: &Path, found: &mut Vec<(String, Vec<u8>, Language)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, root, found);
        } else if let Some(language) = Language::detect(&path, b"") {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            found.push((relative, std::fs::read(&path).unwrap(), language));
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let dir = Path::new(args.first().expect("usage: generate DIR [SYMBOLS]"));
    let limit: usize = args.get(1).map_or(200, |n| n.parse().unwrap());
    let base_url = std::env::var("DOCTOWN_LLM_BASE_URL").expect("set DOCTOWN_LLM_BASE_URL");
    let model = std::env::var("DOCTOWN_LLM_MODEL").unwrap_or_else(|_| "smollm2".into());
    let concurrency: usize =
        std::env::var("DOCTOWN_LLM_CONCURRENCY").map_or(2, |n| n.parse().unwrap());

    let mut found = Vec::new();
    sources(dir, dir, &mut found);
    let mut files: Vec<_> = found
        .iter()
        .map(|(path, bytes, language)| doctown_intel::extract(path, bytes, *language))
        .collect();
    doctown_intel::resolve_calls(&mut files);
    let graph = code_graph(&files, &[]);
    let code: HashMap<_, _> = files
        .iter()
        .zip(&found)
        .flat_map(|(file, (_, bytes, _))| {
            file.symbols.iter().map(move |s| {
                let range = s.byte_range;
                (
                    s.id,
                    String::from_utf8_lossy(&bytes[range.start()..range.end()]).into_owned(),
                )
            })
        })
        .collect();
    let symbols: Vec<SymbolInput> = symbol_contexts(&files, &graph, &HashMap::new())
        .into_iter()
        .take(limit)
        .map(|(symbol_id, context)| SymbolInput {
            symbol_id,
            context,
            code: code.get(&symbol_id).cloned(),
        })
        .collect();

    let cache = tempfile::tempdir().unwrap();
    let config = LlmConfig {
        base_url,
        api_key: Some("local".into()),
        organization: None,
        model: model.clone(),
        max_output_tokens: 60,
        timeout: Duration::from_secs(300),
        max_attempts: 3,
        retry_base: Duration::from_millis(500),
    };
    let generator = Generator::new(
        Some(config),
        Some(SummaryCache::new(cache.path())),
        2000,
        concurrency,
    )
    .unwrap();
    let estimate = generator.estimate(&symbols, &[]);
    println!(
        "{} symbols of {} ({} files); model {model}, {concurrency} at a time; estimated {} input tokens, at most {} output tokens",
        symbols.len(),
        dir.display(),
        files.len(),
        estimate.input_tokens,
        estimate.max_output_tokens
    );
    let mut samples = Vec::new();
    let started = Instant::now();
    let totals = generator
        .generate(symbols.clone(), |s| {
            if samples.len() < 5 {
                samples.push(s.documented);
            }
        })
        .await
        .unwrap()
        .totals;
    let elapsed = started.elapsed().as_secs_f64();
    let mini = Price::of("gpt-4o-mini").unwrap();
    println!(
        "first run: {} summaries ({} failed) in {elapsed:.1} s = {:.2} summaries/s; {} input + {} output tokens; cost ${:.6} at this model's price, ${:.6} at gpt-4o-mini's",
        totals.documented,
        totals.failed,
        totals.documented as f64 / elapsed,
        totals.input_tokens,
        totals.output_tokens,
        totals.cost_usd,
        mini.cost(totals.input_tokens, totals.output_tokens)
    );
    for sample in &samples {
        println!("  {:?}: {}", sample.source, sample.summary);
    }
    let started = Instant::now();
    let again = generator.generate(symbols, |_| {}).await.unwrap().totals;
    println!(
        "second run: {} of {} from the cache ({:.1} %), {} tokens, in {:.3} s",
        again.cached,
        again.documented,
        100.0 * again.cached as f64 / again.documented.max(1) as f64,
        again.input_tokens + again.output_tokens,
        started.elapsed().as_secs_f64()
    );
}
