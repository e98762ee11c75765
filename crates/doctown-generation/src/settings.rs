//! Generation's settings as command-line flags and `DOCTOWN_*` variables, shared by the worker
//! and the CLI.

use std::path::PathBuf;
use std::time::Duration;

use crate::client::LlmConfig;

/// Which model writes the summaries, how it is reached, and what a job may cost.
#[derive(Debug, Clone, PartialEq, clap::Args)]
#[command(next_help_heading = "Generation settings")]
pub struct GenerationSettings {
    /// The OpenAI-compatible API's base URL (llama.cpp, vLLM and Ollama serve one at
    /// `http://HOST:PORT/v1`). With neither this nor an API key, summaries are written offline.
    #[arg(long, env = "DOCTOWN_LLM_BASE_URL", value_name = "URL")]
    pub llm_base_url: Option<String>,

    /// The API key (OpenAI's, or any value a local server accepts).
    #[arg(
        long,
        env = "DOCTOWN_LLM_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub llm_api_key: Option<String>,

    /// The OpenAI organisation the key should bill.
    #[arg(long, env = "DOCTOWN_LLM_ORGANIZATION", value_name = "ID")]
    pub llm_organization: Option<String>,

    /// The model that writes summaries.
    #[arg(
        long,
        env = "DOCTOWN_LLM_MODEL",
        default_value = "gpt-4o-mini",
        value_name = "NAME"
    )]
    pub model: String,

    /// Summaries requested at once.
    #[arg(
        long,
        env = "DOCTOWN_LLM_CONCURRENCY",
        default_value_t = 10,
        value_name = "COUNT"
    )]
    pub llm_concurrency: usize,

    /// Attempts per summary on 429, 5xx, refused connections and timeouts.
    #[arg(
        long,
        env = "DOCTOWN_LLM_MAX_ATTEMPTS",
        default_value_t = 3,
        value_name = "COUNT"
    )]
    pub llm_max_attempts: usize,

    /// Seconds one attempt may take.
    #[arg(
        long,
        env = "DOCTOWN_LLM_TIMEOUT_SECS",
        default_value_t = 60,
        value_name = "SECONDS"
    )]
    pub llm_timeout_secs: u64,

    /// Input tokens per prompt at most; the code excerpt, then callers and callees, then the
    /// doc comment are cut to fit.
    #[arg(
        long,
        env = "DOCTOWN_PROMPT_BUDGET_TOKENS",
        default_value_t = 2000,
        value_name = "TOKENS"
    )]
    pub prompt_budget_tokens: u64,

    /// Completion tokens per summary at most.
    #[arg(
        long,
        env = "DOCTOWN_SUMMARY_MAX_TOKENS",
        default_value_t = 100,
        value_name = "TOKENS"
    )]
    pub summary_max_tokens: u32,

    /// Refuse a job whose estimated cost (every output at its maximum length) is above this.
    #[arg(long, env = "DOCTOWN_MAX_COST_USD", value_name = "DOLLARS")]
    pub max_cost_usd: Option<f64>,

    /// Where summaries are cached (default: `summaries` in Doctown's cache folder).
    #[arg(long, env = "DOCTOWN_SUMMARY_CACHE_DIR", value_name = "DIR")]
    pub summary_cache_dir: Option<PathBuf>,

    /// Write every summary offline, even with a model configured.
    #[arg(long, env = "DOCTOWN_OFFLINE")]
    pub offline: bool,
}

/// OpenAI's API, used when only a key is given.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

impl GenerationSettings {
    /// The model client's configuration, or `None` for offline summaries.
    pub fn llm(&self) -> Option<LlmConfig> {
        if self.offline || (self.llm_base_url.is_none() && self.llm_api_key.is_none()) {
            return None;
        }
        Some(LlmConfig {
            base_url: self
                .llm_base_url
                .clone()
                .unwrap_or_else(|| OPENAI_BASE_URL.into()),
            api_key: self.llm_api_key.clone(),
            organization: self.llm_organization.clone(),
            model: self.model.clone(),
            max_output_tokens: self.summary_max_tokens,
            timeout: Duration::from_secs(self.llm_timeout_secs.max(1)),
            max_attempts: self.llm_max_attempts.max(1),
            retry_base: Duration::from_millis(500),
        })
    }

    /// The summary cache's folder, with Doctown's cache folder at `root`.
    pub fn cache_dir_in(&self, root: &std::path::Path) -> PathBuf {
        self.summary_cache_dir
            .clone()
            .unwrap_or_else(|| root.join("summaries"))
    }

    /// The summary cache's folder.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir_in(&doctown_common::cache_dir())
    }
}
