//! The generation stage as every driver runs it: symbols with their code and context in, the
//! budget checked, `generation.started`, one `generation.symbol_documented` per summary, and the
//! summaries with their prompts out.

use std::collections::HashMap;

use doctown_common::{Chunk, SymbolId};
use doctown_contracts::generate::{GenerationInput, Summaries, SymbolInput};
use doctown_docpack::SymbolContextEntry;
use doctown_events::{Envelope, ErrorInfo, EventEmitter};
use doctown_generation::Generator;

/// Every symbol of `contexts`, in their order, with its code: the text of its chunks, joined.
pub fn symbol_inputs(chunks: &[Chunk], contexts: &[SymbolContextEntry]) -> Vec<SymbolInput> {
    let mut code: HashMap<SymbolId, String> = HashMap::new();
    for chunk in chunks {
        for id in &chunk.symbol_ids {
            let text = code.entry(*id).or_default();
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&chunk.content);
        }
    }
    contexts
        .iter()
        .map(|entry| SymbolInput {
            symbol_id: entry.symbol_id,
            context: entry.context.clone(),
            code: code.remove(&entry.symbol_id),
        })
        .collect()
}

/// Documents `input`'s symbols with `generator`, then (with a model) writes its pages' prose,
/// refusing the job before any request when its estimate, prose included, is over
/// `max_cost_usd`. Sends `generation.started` and each `generation.symbol_documented` to
/// `send`; the caller sends the completion, whose totals count the prose's tokens and cost too
/// (the error says why on failure).
pub async fn document(
    generator: &Generator,
    input: GenerationInput,
    max_cost_usd: Option<f64>,
    emitter: &EventEmitter,
    mut send: impl FnMut(Envelope),
) -> Result<Summaries, ErrorInfo> {
    let failed =
        |err: doctown_generation::GenerationError| ErrorInfo::new(err.code(), err.to_string());
    let GenerationInput { symbols, pages } = input;
    let started = generator
        .start(&symbols, &pages, max_cost_usd)
        .map_err(failed)?;
    send(emitter.emit(started));
    let mut summaries = HashMap::new();
    let mut prompts = HashMap::new();
    let mut completed = generator
        .generate(symbols, |summary| {
            let documented = summary.documented;
            if let Some(prompt) = summary.prompt {
                prompts.insert(documented.symbol_id, prompt);
            }
            summaries.insert(documented.symbol_id, documented.summary.clone());
            send(emitter.emit(documented));
        })
        .await
        .map_err(failed)?;
    let prose = generator
        .write_prose(&pages, &summaries)
        .await
        .map_err(failed)?;
    prose.add_to(&mut completed.totals);
    if !pages.is_empty() && generator.mode() == doctown_events::GenerationMode::Llm {
        tracing::info!(
            pages = prose.texts.len(),
            prompts = prose.prompts,
            cached = prose.cached,
            failed = prose.failed,
            "pages' prose written"
        );
    }
    Ok(Summaries {
        summaries,
        prompts,
        completed,
        prose: prose.texts,
    })
}
