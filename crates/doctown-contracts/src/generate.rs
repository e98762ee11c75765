//! Generation: symbols with their contexts (and code) in, one summary per symbol out.

use std::collections::HashMap;

use doctown_common::{JobId, SymbolId};
use doctown_docpack::SymbolContext;
use doctown_events::{GenerationCompleted, SymbolDocumented};
use serde::{Deserialize, Serialize};

/// The body of `POST /generate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// The caller's job id, which the events carry; a new one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    /// The symbols with their contexts (and, optionally, their code).
    pub symbols: Vec<SymbolInput>,
}

/// One symbol to document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolInput {
    /// The symbol.
    pub symbol_id: SymbolId,
    /// What assembly gathered about it.
    pub context: SymbolContext,
    /// Its source code, when known (the prompt carries an excerpt; the cache is keyed by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The JSON answer of `POST /generate`: every summary, in the request's order, and the totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateAnswer {
    /// One per documented symbol.
    pub summaries: Vec<SymbolDocumented>,
    /// The totals.
    pub completed: GenerationCompleted,
}

/// What generation made, as packing reads it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summaries {
    /// Each documented symbol's summary.
    pub summaries: HashMap<SymbolId, String>,
    /// The prompt each model summary was written from (a remote worker keeps its own).
    pub prompts: HashMap<SymbolId, String>,
    /// The stage's totals, for its completion.
    pub completed: GenerationCompleted,
}
