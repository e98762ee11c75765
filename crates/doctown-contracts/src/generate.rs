//! Generation: symbols with their contexts (and code) in, one summary per symbol out.

use std::collections::HashMap;

use doctown_common::{Artifact, JobId, SymbolId};
use doctown_docpack::SymbolContext;
use doctown_events::{GenerationCompleted, SymbolDocumented};
use serde::{Deserialize, Serialize};

use crate::{BadField, Received, Sent};

/// The body of `POST /generate`: the symbols inline, or the reference of the stored
/// [`GenerationInput`] (`input`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// The caller's job id, which the events carry; a new one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    /// Where the input is kept, instead of inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Artifact>,
    /// The symbols with their contexts (and, optionally, their code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbols: Option<Vec<SymbolInput>>,
}

impl GenerateRequest {
    /// A request for job `job_id` carrying `sent`.
    pub fn new(job_id: JobId, sent: Sent<GenerationInput>) -> Self {
        match sent {
            Sent::Inline(input) => Self {
                job_id: Some(job_id),
                symbols: Some(input.symbols),
                ..Self::default()
            },
            Sent::Stored(artifact) => Self {
                job_id: Some(job_id),
                input: Some(artifact),
                ..Self::default()
            },
        }
    }

    /// The job and the input the request gives.
    pub fn received(self) -> Received<GenerationInput> {
        let sent = match (self.input, self.symbols) {
            (Some(_), Some(_)) => return Err(BadField::Doubled("symbols")),
            (Some(artifact), None) => Sent::Stored(artifact),
            (None, None) => return Err(BadField::Missing("symbols")),
            (None, Some(symbols)) => Sent::Inline(GenerationInput { symbols }),
        };
        Ok((self.job_id, sent))
    }
}

/// What generation takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationInput {
    /// The symbols to document, in order.
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
