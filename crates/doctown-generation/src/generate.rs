//! A generation job: every symbol's summary from the cache, the model or the offline summarizer,
//! with bounded concurrency, the tokens and cost counted, and failures reported without stopping
//! the job (a symbol the model fails keeps an offline summary).

use std::time::Instant;

use doctown_common::SymbolId;
use doctown_events::{
    GenerationCompleted, GenerationMode, GenerationStarted, SummarySource, SummaryTotals,
    SymbolDocumented,
};
use futures_util::StreamExt;

use crate::cache::{CachedSummary, SummaryCache, cache_key};
use crate::clean::clean_summary;
use crate::client::{LlmClient, LlmConfig, LlmError};
use crate::cost::Price;
use crate::offline::offline_summary;
use doctown_contracts::generate::SymbolInput;

use crate::prompt::{PROMPT_VERSION, build_prompt};
use crate::tokens::TokenCounter;

/// The name offline summaries are attributed to.
pub const OFFLINE_SUMMARIZER: &str = "doctown-offline-v1";

/// One symbol's summary: what its event reports, and the prompt that made it, which stays
/// behind.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolSummary {
    /// The `generation.symbol_documented` payload reporting it (the summary is the offline
    /// one when the model failed, with the error).
    pub documented: SymbolDocumented,
    /// The prompt sent, when one was.
    pub prompt: Option<String>,
}

impl SymbolSummary {
    /// A summary of `symbol_id` from `source` that spent nothing.
    fn unpaid(
        symbol_id: SymbolId,
        summary: String,
        source: SummarySource,
        error: Option<String>,
    ) -> Self {
        Self {
            documented: SymbolDocumented {
                symbol_id,
                summary,
                source,
                input_tokens: 0,
                output_tokens: 0,
                cost_usd: 0.0,
                error,
            },
            prompt: None,
        }
    }
}

/// What a job will cost at most, known before it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Symbols in the job.
    pub symbols: u64,
    /// Of them, those the model will be asked about (not cached).
    pub to_generate: u64,
    /// Input tokens of their prompts.
    pub input_tokens: u64,
    /// Output tokens at most (every summary at its maximum length).
    pub max_output_tokens: u64,
    /// The cost bound, in US dollars (0 for models without a known price).
    pub cost_usd: f64,
}

/// Why generation refused to start.
#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    /// The estimate is over the configured limit.
    #[error(
        "the job would cost up to ${estimated:.4} ({input_tokens} input tokens for {symbols} symbols, outputs at most {max_output_tokens} tokens), over the ${limit:.4} limit; raise DOCTOWN_MAX_COST_USD or document fewer symbols"
    )]
    OverBudget {
        /// The estimated bound.
        estimated: f64,
        /// The limit.
        limit: f64,
        /// Input tokens estimated.
        input_tokens: u64,
        /// Output tokens at most.
        max_output_tokens: u64,
        /// Symbols to ask the model about.
        symbols: u64,
    },
    /// The model client could not be built.
    #[error(transparent)]
    Client(#[from] LlmError),
    /// The model server refused in a way every request would meet (a bad key, an unknown
    /// model, nothing listening): the job stops rather than write offline summaries unasked.
    #[error(transparent)]
    Refused(LlmError),
}

impl GenerationError {
    /// The error's code in a failed completion event.
    pub fn code(&self) -> &'static str {
        match self {
            GenerationError::OverBudget { .. } => "over_budget",
            GenerationError::Client(_) => "generation_failed",
            GenerationError::Refused(_) => "llm_refused",
        }
    }
}

/// Who writes the summaries.
#[derive(Debug, Clone)]
enum Writer {
    Model {
        client: Box<LlmClient>,
        price: Option<Price>,
        /// The model's tokenizer (loading one costs ~0.1 s, so the offline writer has none).
        counter: TokenCounter,
    },
    Offline,
}

/// Writes the summaries of a job's symbols.
#[derive(Debug, Clone)]
pub struct Generator {
    writer: Writer,
    cache: Option<SummaryCache>,
    prompt_budget: u64,
    concurrency: usize,
}

impl Generator {
    /// A generator asking the model `llm` describes, or writing offline without one;
    /// `cache` keeps model summaries between runs.
    pub fn new(
        llm: Option<LlmConfig>,
        cache: Option<SummaryCache>,
        prompt_budget: u64,
        concurrency: usize,
    ) -> Result<Self, GenerationError> {
        let writer = match llm {
            Some(config) => Writer::Model {
                counter: TokenCounter::for_model(&config.model),
                price: Price::of(&config.model),
                client: Box::new(LlmClient::new(config)?),
            },
            None => Writer::Offline,
        };
        Ok(Self {
            writer,
            cache,
            prompt_budget,
            concurrency: concurrency.max(1),
        })
    }

    /// The generator `settings` describe.
    pub fn from_settings(settings: &crate::GenerationSettings) -> Result<Self, GenerationError> {
        Self::new(
            settings.llm(),
            Some(SummaryCache::new(settings.cache_dir())),
            settings.prompt_budget_tokens,
            settings.llm_concurrency,
        )
    }

    /// Whether a model or the offline summarizer writes.
    pub fn mode(&self) -> GenerationMode {
        match self.writer {
            Writer::Model { .. } => GenerationMode::Llm,
            Writer::Offline => GenerationMode::Offline,
        }
    }

    /// The model asked, or the offline summarizer's name.
    pub fn model(&self) -> &str {
        match &self.writer {
            Writer::Model { client, .. } => client.model(),
            Writer::Offline => OFFLINE_SUMMARIZER,
        }
    }

    /// What `symbols` will cost at most: their prompts counted, cached ones left out.
    pub fn estimate(&self, symbols: &[SymbolInput]) -> Estimate {
        let Writer::Model {
            client,
            price,
            counter,
        } = &self.writer
        else {
            return Estimate {
                symbols: symbols.len() as u64,
                to_generate: 0,
                input_tokens: 0,
                max_output_tokens: 0,
                cost_usd: 0.0,
            };
        };
        let uncached: Vec<&SymbolInput> = symbols
            .iter()
            .filter(|s| self.cached(s, client.model()).is_none())
            .collect();
        let input_tokens: u64 = uncached
            .iter()
            .map(|s| build_prompt(s, counter, self.prompt_budget).tokens)
            .sum();
        let max_output_tokens = uncached.len() as u64 * u64::from(client.max_output_tokens());
        Estimate {
            symbols: symbols.len() as u64,
            to_generate: uncached.len() as u64,
            input_tokens,
            max_output_tokens,
            cost_usd: price.map_or(0.0, |p| p.cost(input_tokens, max_output_tokens)),
        }
    }

    /// How a job of `symbols` starts: its estimate checked against `limit` dollars (refused
    /// over it, before any request), then the `generation.started` payload announcing it.
    /// Every driver (the pipeline, the worker) starts a job through this.
    pub fn start(
        &self,
        symbols: &[SymbolInput],
        limit: Option<f64>,
    ) -> Result<GenerationStarted, GenerationError> {
        let estimate = self.estimate(symbols);
        Self::check_budget(&estimate, limit)?;
        Ok(GenerationStarted {
            symbol_count: estimate.symbols,
            mode: self.mode(),
            model: self.model().to_owned(),
            estimated_input_tokens: estimate.input_tokens,
            estimated_cost_usd: estimate.cost_usd,
        })
    }

    /// Refuses `estimate` when it is over `limit` dollars.
    pub fn check_budget(estimate: &Estimate, limit: Option<f64>) -> Result<(), GenerationError> {
        match limit {
            Some(limit) if estimate.cost_usd > limit => Err(GenerationError::OverBudget {
                estimated: estimate.cost_usd,
                limit,
                input_tokens: estimate.input_tokens,
                max_output_tokens: estimate.max_output_tokens,
                symbols: estimate.to_generate,
            }),
            _ => Ok(()),
        }
    }

    fn cached(&self, symbol: &SymbolInput, model: &str) -> Option<CachedSummary> {
        let entry = self.cache.as_ref()?.get(&cache_key(symbol, model))?;
        (entry.model == model && entry.prompt_version == PROMPT_VERSION).then_some(entry)
    }

    /// Documents every symbol, `concurrency` at a time, calling `on_summary` as each is done
    /// (in completion order); answers the totals. A symbol the model fails gets an offline
    /// summary with the error; a refusal every request would meet stops the job.
    pub async fn generate(
        &self,
        symbols: Vec<SymbolInput>,
        mut on_summary: impl FnMut(SymbolSummary),
    ) -> Result<GenerationCompleted, GenerationError> {
        let started = Instant::now();
        let mut totals = SummaryTotals::default();
        let mut done = futures_util::stream::iter(symbols)
            .map(|symbol| self.document(symbol))
            .buffer_unordered(self.concurrency);
        let price = match &self.writer {
            Writer::Model { price, .. } => *price,
            Writer::Offline => None,
        };
        while let Some(summary) = done.next().await {
            let mut summary = summary.map_err(GenerationError::Refused)?;
            let documented = &mut summary.documented;
            if let Some(price) = price {
                documented.cost_usd = price.cost(documented.input_tokens, documented.output_tokens);
            }
            totals.add(documented);
            on_summary(summary);
        }
        // The whole cost at the price, rather than the sum of each summary's rounded one.
        if let Some(price) = price {
            totals.cost_usd = price.cost(totals.input_tokens, totals.output_tokens);
        }
        Ok(GenerationCompleted {
            totals,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// One symbol's summary; an error only for a refusal.
    async fn document(&self, symbol: SymbolInput) -> Result<SymbolSummary, LlmError> {
        let offline = |error: Option<String>| {
            let summary = offline_summary(&symbol.context);
            SymbolSummary::unpaid(symbol.symbol_id, summary, SummarySource::Offline, error)
        };
        let Writer::Model {
            client, counter, ..
        } = &self.writer
        else {
            return Ok(offline(None));
        };
        if let Some(entry) = self.cached(&symbol, client.model()) {
            let source = SummarySource::Cached;
            return Ok(SymbolSummary::unpaid(
                symbol.symbol_id,
                entry.summary,
                source,
                None,
            ));
        }
        let prompt = build_prompt(&symbol, counter, self.prompt_budget);
        let completion = match client.complete(&prompt.text).await {
            Ok(completion) => completion,
            Err(err) if err.is_refusal() => return Err(err),
            Err(err) => {
                tracing::warn!(symbol = %symbol.context.name, "{err}");
                return Ok(offline(Some(err.to_string())));
            }
        };
        let summary = clean_summary(&completion.text);
        let input_tokens = completion.input_tokens.unwrap_or(prompt.tokens);
        let output_tokens = completion
            .output_tokens
            .unwrap_or_else(|| counter.count(&completion.text));
        if summary.is_empty() {
            let mut failed = offline(Some(format!(
                "the model answered no usable text: {:?}",
                completion.text.chars().take(120).collect::<String>()
            )));
            failed.documented.input_tokens = input_tokens;
            failed.documented.output_tokens = output_tokens;
            return Ok(failed);
        }
        if let Some(cache) = &self.cache {
            let entry = CachedSummary {
                summary: summary.clone(),
                model: client.model().to_owned(),
                prompt_version: PROMPT_VERSION.to_owned(),
            };
            if let Err(err) = cache.put(&cache_key(&symbol, client.model()), &entry) {
                tracing::warn!(dir = %cache.dir().display(), "cannot write the summary cache: {err}");
            }
        }
        Ok(SymbolSummary {
            documented: SymbolDocumented {
                symbol_id: symbol.symbol_id,
                summary,
                source: SummarySource::Llm,
                input_tokens,
                output_tokens,
                cost_usd: 0.0,
                error: None,
            },
            prompt: Some(prompt.text),
        })
    }
}
