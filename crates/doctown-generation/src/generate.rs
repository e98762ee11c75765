//! A generation job: every symbol's summary from the cache, the model or the offline summarizer,
//! with bounded concurrency, the tokens and cost counted, and failures reported without stopping
//! the job (a symbol the model fails keeps an offline summary); then, with a model, the pages'
//! prose, bottom-up, the same way (a page the model fails keeps its offline text).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use doctown_common::SymbolId;
use doctown_contracts::generate::ProseTask;
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
use crate::prose::{
    PROSE_MAX_TOKENS, PROSE_PROMPT_VERSION, Step, bound, clean_prose, material, plan,
    prose_cache_key,
};
use crate::tokens::{MESSAGE_OVERHEAD, TokenCounter};

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
    /// Prompts for pages' prose at most (bottom-up, summarised in parts where a page's
    /// material does not fit one prompt).
    pub prose_prompts: u64,
    /// Input tokens of their prompts (the prose prompts' at most).
    pub input_tokens: u64,
    /// Output tokens at most (every summary and every prose answer at its maximum length).
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

    /// What `symbols` and the prose of `pages` will cost at most: the symbols' prompts
    /// counted (cached ones left out), the pages' bounded ([`crate::PROSE_MAX_TOKENS`] an
    /// answer, every prompt at the budget).
    pub fn estimate(&self, symbols: &[SymbolInput], pages: &[ProseTask]) -> Estimate {
        let Writer::Model {
            client,
            price,
            counter,
        } = &self.writer
        else {
            return Estimate {
                symbols: symbols.len() as u64,
                to_generate: 0,
                prose_prompts: 0,
                input_tokens: 0,
                max_output_tokens: 0,
                cost_usd: 0.0,
            };
        };
        let uncached: Vec<&SymbolInput> = symbols
            .iter()
            .filter(|s| self.cached(s, client.model()).is_none())
            .collect();
        let summary_tokens = u64::from(client.max_output_tokens());
        let (prose_prompts, prose_input) = pages
            .iter()
            .map(|task| bound(task, counter, self.prompt_budget, summary_tokens))
            .fold((0, 0), |(p, i), (prompts, input)| (p + prompts, i + input));
        let input_tokens: u64 = uncached
            .iter()
            .map(|s| build_prompt(s, counter, self.prompt_budget).tokens)
            .sum::<u64>()
            + prose_input;
        let max_output_tokens =
            uncached.len() as u64 * summary_tokens + prose_prompts * u64::from(PROSE_MAX_TOKENS);
        Estimate {
            symbols: symbols.len() as u64,
            to_generate: uncached.len() as u64,
            prose_prompts,
            input_tokens,
            max_output_tokens,
            cost_usd: price.map_or(0.0, |p| p.cost(input_tokens, max_output_tokens)),
        }
    }

    /// How a job of `symbols` (and the prose of `pages`) starts: its estimate checked against
    /// `limit` dollars (refused over it, before any request), then the `generation.started`
    /// payload announcing it. Every driver (the pipeline, the worker) starts a job through this.
    pub fn start(
        &self,
        symbols: &[SymbolInput],
        pages: &[ProseTask],
        limit: Option<f64>,
    ) -> Result<GenerationStarted, GenerationError> {
        let estimate = self.estimate(symbols, pages);
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

/// The prose a model wrote for pages, and what it took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProseWritten {
    /// Each page's paragraph, by page id.
    pub texts: BTreeMap<String, String>,
    /// Prompts the model answered (parts included).
    pub prompts: u64,
    /// Answers taken from the cache instead.
    pub cached: u64,
    /// Pages left without prose because the model failed them (each logged).
    pub failed: u64,
    /// Input tokens spent.
    pub input_tokens: u64,
    /// Output tokens spent.
    pub output_tokens: u64,
    /// Their cost in US dollars (0 for models without a known price).
    pub cost_usd: f64,
}

impl ProseWritten {
    /// Adds what it took to a generation's totals.
    pub fn add_to(&self, totals: &mut SummaryTotals) {
        totals.input_tokens += self.input_tokens;
        totals.output_tokens += self.output_tokens;
        totals.cost_usd += self.cost_usd;
    }
}

/// One answer: its text and what it took.
struct Answer {
    text: String,
    input_tokens: u64,
    output_tokens: u64,
    cached: bool,
}

impl Generator {
    /// Writes the prose of `pages` (as [`crate::prose`] plans it), a page only once the pages
    /// it draws on are written, `concurrency` pages at a time; `summaries` join the facts
    /// about their symbols. Offline, nothing is written. A page the model fails keeps no
    /// prose (the error is logged); a refusal every request would meet stops it.
    pub async fn write_prose(
        &self,
        pages: &[ProseTask],
        summaries: &HashMap<SymbolId, String>,
    ) -> Result<ProseWritten, GenerationError> {
        let mut written = ProseWritten::default();
        let Writer::Model { price, .. } = &self.writer else {
            return Ok(written);
        };
        let titles: HashMap<&str, &str> = pages
            .iter()
            .map(|task| (task.page_id.as_str(), task.title.as_str()))
            .collect();
        let mut done: HashSet<String> = HashSet::new();
        let mut left: Vec<&ProseTask> = pages.iter().collect();
        while !left.is_empty() {
            let (ready, waiting): (Vec<&ProseTask>, Vec<&ProseTask>) =
                left.into_iter().partition(|task| {
                    task.children.iter().all(|child| {
                        done.contains(child.as_str()) || !titles.contains_key(child.as_str())
                    })
                });
            if ready.is_empty() {
                // Pages that wait on each other: modules nest as a tree, so this is a bug.
                tracing::warn!(
                    pages = waiting.len(),
                    "pages wait on each other; their prose is not written"
                );
                break;
            }
            let asked: Vec<_> = ready
                .iter()
                .map(|task| {
                    let lines = material(task, &written.texts, &titles, summaries);
                    self.page_prose(task, lines)
                })
                .collect();
            let mut answers = futures_util::stream::iter(asked).buffer_unordered(self.concurrency);
            let mut finished = Vec::new();
            while let Some(answer) = answers.next().await {
                finished.push(answer.map_err(GenerationError::Refused)?);
            }
            drop(answers);
            for (page_id, text, tally) in finished {
                written.prompts += tally.prompts;
                written.cached += tally.cached;
                written.input_tokens += tally.input_tokens;
                written.output_tokens += tally.output_tokens;
                match text {
                    Some(text) => {
                        written.texts.insert(page_id.clone(), text);
                    }
                    None => written.failed += 1,
                }
                done.insert(page_id);
            }
            left = waiting;
        }
        if let Some(price) = price {
            written.cost_usd = price.cost(written.input_tokens, written.output_tokens);
        }
        Ok(written)
    }

    /// One page's prose from its material, with the page's id: parts first while it does not
    /// fit one prompt. `None` when the model failed it; an error only for a refusal.
    async fn page_prose(
        &self,
        task: &ProseTask,
        mut lines: Vec<String>,
    ) -> Result<(String, Option<String>, ProseWritten), LlmError> {
        let page_id = task.page_id.clone();
        let mut tally = ProseWritten::default();
        let Writer::Model {
            client, counter, ..
        } = &self.writer
        else {
            return Ok((page_id, None, tally));
        };
        loop {
            let (prompts, last) = match plan(task, &lines, counter, self.prompt_budget) {
                Step::Final(prompt) => (vec![prompt], true),
                Step::Parts(prompts) => (prompts, false),
            };
            let mut answers = Vec::with_capacity(prompts.len());
            for prompt in &prompts {
                match self.ask(client, counter, prompt).await {
                    Ok(answer) => {
                        tally.prompts += u64::from(!answer.cached);
                        tally.cached += u64::from(answer.cached);
                        tally.input_tokens += answer.input_tokens;
                        tally.output_tokens += answer.output_tokens;
                        answers.push(answer.text);
                    }
                    Err(err) if err.is_refusal() => return Err(err),
                    Err(err) => {
                        tracing::warn!(page = %task.page_id, "no prose: {err}");
                        return Ok((page_id, None, tally));
                    }
                }
            }
            if last {
                return Ok((page_id, answers.pop(), tally));
            }
            lines = answers
                .into_iter()
                .enumerate()
                .map(|(index, note)| format!("notes on part {}: {note}", index + 1))
                .collect();
        }
    }

    /// The model's answer to a prose prompt, from the cache when it has it.
    async fn ask(
        &self,
        client: &LlmClient,
        counter: &TokenCounter,
        prompt: &str,
    ) -> Result<Answer, LlmError> {
        let key = prose_cache_key(prompt, client.model());
        if let Some(entry) = self.cache.as_ref().and_then(|cache| cache.get(&key))
            && entry.model == client.model()
            && entry.prompt_version == PROSE_PROMPT_VERSION
        {
            return Ok(Answer {
                text: entry.summary,
                input_tokens: 0,
                output_tokens: 0,
                cached: true,
            });
        }
        let completion = client.complete_within(prompt, PROSE_MAX_TOKENS).await?;
        let text = clean_prose(&completion.text);
        if text.is_empty() {
            return Err(LlmError::failed(format!(
                "the model answered no usable prose: {:?}",
                completion.text.chars().take(120).collect::<String>()
            )));
        }
        if let Some(cache) = &self.cache {
            let entry = CachedSummary {
                summary: text.clone(),
                model: client.model().to_owned(),
                prompt_version: PROSE_PROMPT_VERSION.to_owned(),
            };
            if let Err(err) = cache.put(&key, &entry) {
                tracing::warn!(dir = %cache.dir().display(), "cannot write the summary cache: {err}");
            }
        }
        Ok(Answer {
            input_tokens: completion
                .input_tokens
                .unwrap_or_else(|| counter.count(prompt) + MESSAGE_OVERHEAD),
            output_tokens: completion
                .output_tokens
                .unwrap_or_else(|| counter.count(&completion.text)),
            text,
            cached: false,
        })
    }
}
