//! Generation: symbols with their contexts (and code) in, one summary per symbol out.

use std::collections::{BTreeMap, HashMap};

use doctown_common::{Artifact, JobId, SymbolId};
use doctown_docpack::{PageKind, SymbolContext};
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
            (None, Some(symbols)) => Sent::Inline(GenerationInput {
                symbols,
                pages: Vec::new(),
            }),
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
    /// The pages whose prose a model writes once the symbols are documented, bottom-up
    /// (none offline). `POST /generate` does not take them yet: a generation worker writes
    /// summaries only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<ProseTask>,
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

/// A page whose prose a model writes, bottom-up: the pages of a module's children before the
/// module's, the overview last. Its facts are what the code says of it; a fact about a symbol
/// names the symbol, so the symbol's summary (written first) joins it in the prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProseTask {
    /// The page (`module/src/store`, `overview`).
    pub page_id: String,
    /// Its title (`crate::store`, the repository's name).
    pub title: String,
    /// What it documents: a module or the repository.
    pub kind: PageKind,
    /// The repository's name.
    pub repository: String,
    /// What the code says of it, most telling first: its doc, its entry points, its public
    /// API, what it depends on.
    pub facts: Vec<ProseFact>,
    /// The pages whose prose its own draws on (its child modules; the overview's top-level
    /// modules), by id.
    pub children: Vec<String>,
    /// The repository's own words about it, to read first: the overview's README and docs, a
    /// module's README.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readme: Option<String>,
}

/// One fact of a [`ProseTask`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProseFact {
    /// The fact, one line of plain text (`function \`open\`: pub fn open(path: &Path) -> Store`).
    pub text: String,
    /// The symbol it is about, whose summary is added to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<SymbolId>,
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
    /// The prose a model wrote for pages, by page id (none when no model wrote).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prose: BTreeMap<String, String>,
}
