//! Doctown's generation stage: a 1-2 sentence summary per symbol, then (with a model) a
//! paragraph of prose per page, bottom-up.
//!
//! The pure core builds prompts from the versioned template within a token budget
//! ([`build_prompt`], counted with [`TokenCounter`]), prices tokens ([`Price`]), cleans answers
//! ([`clean_summary`]) and writes offline summaries ([`offline_summary`]). The shell asks any
//! OpenAI-compatible server ([`LlmClient`], retried with backoff), keeps a [`SummaryCache`] on
//! disk, and runs a job with bounded concurrency ([`Generator`]).

mod cache;
mod clean;
mod client;
mod cost;
mod generate;
mod offline;
mod prompt;
mod prose;
mod settings;
mod tokens;

pub use cache::{CachedSummary, SummaryCache, cache_key};
pub use clean::clean_summary;
pub use client::{Completion, LlmClient, LlmConfig, LlmError};
pub use cost::Price;
pub use generate::{
    Estimate, GenerationError, Generator, OFFLINE_SUMMARIZER, ProseWritten, SymbolSummary,
};
pub use offline::offline_summary;
pub use prompt::{PROMPT_VERSION, Prompt, build_prompt};
pub use prose::{PROSE_MAX_TOKENS, PROSE_PROMPT_VERSION};
pub use settings::{GenerationSettings, OPENAI_BASE_URL};
pub use tokens::{MESSAGE_OVERHEAD, TokenCounter};
