//! The prompt of one symbol: the versioned template filled from its context, with its doc
//! comment and an excerpt of its code, cut to a token budget least useful part first.

use doctown_contracts::generate::SymbolInput;
use doctown_docpack::SymbolContext;

use crate::tokens::{MESSAGE_OVERHEAD, TokenCounter};

/// The template's version. It is part of every cache key: change it whenever the template's
/// text changes, so no summary made from an older prompt is served again.
pub const PROMPT_VERSION: &str = "summary-v1";

/// Names listed per list (calls, called by) before the budget cuts them further.
const MAX_NAMES: usize = 10;

/// A prompt ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The text of the one user message.
    pub text: String,
    /// Its input tokens, message overhead included.
    pub tokens: u64,
}

/// What goes into a prompt; the budget shrinks it field by field.
#[derive(Debug, Clone)]
struct Parts<'a> {
    context: &'a SymbolContext,
    calls: usize,
    called_by: usize,
    doc: Option<String>,
    code_lines: usize,
    code: Vec<&'a str>,
    signature: String,
}

fn list(names: &[String], at_most: usize) -> String {
    if names.is_empty() || at_most == 0 {
        return "none".into();
    }
    let shown: Vec<&str> = names.iter().take(at_most).map(String::as_str).collect();
    let more = names.len().saturating_sub(at_most);
    if more > 0 {
        format!("{} (and {more} more)", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

impl Parts<'_> {
    fn render(&self) -> String {
        let c = self.context;
        let mut text = format!(
            "You are documenting a {} codebase.\nSymbol: {}\nKind: {}\nFile: {}\nSignature: {}\nCalls: {}\nCalled by: {}\nRelated to: {}\nImportance: {:.2} (0-1 scale)\n",
            c.language.display_name(),
            c.name,
            c.kind.id(),
            c.file_path,
            self.signature,
            list(&c.calls, self.calls),
            list(&c.called_by, self.called_by),
            c.cluster_label.as_deref().unwrap_or("none"),
            c.centrality,
        );
        if let Some(doc) = &self.doc {
            text.push_str("Doc comment: ");
            text.push_str(doc);
            text.push('\n');
        }
        if self.code_lines > 0 {
            text.push_str("Code:\n");
            for line in self.code.iter().take(self.code_lines) {
                text.push_str(line);
                text.push('\n');
            }
            if self.code_lines < self.code.len() {
                text.push_str("...\n");
            }
        }
        text.push_str(
            "Write 1-2 sentences describing what this symbol does. Be concise and precise. \
             Focus on purpose, not implementation.",
        );
        text
    }
}

/// The prompt for `symbol`, within `budget` tokens where it can be: the code excerpt shrinks
/// first, then the lists of callers and callees, then the doc comment (to its first sentence,
/// then away), then the signature. What names the symbol always stays.
pub fn build_prompt(symbol: &SymbolInput, counter: &TokenCounter, budget: u64) -> Prompt {
    let context = &symbol.context;
    let code: Vec<&str> = symbol
        .code
        .as_deref()
        .map(|code| code.lines().collect())
        .unwrap_or_default();
    let mut parts = Parts {
        context,
        calls: MAX_NAMES,
        called_by: MAX_NAMES,
        doc: context.doc.clone().filter(|d| !d.trim().is_empty()),
        code_lines: code.len(),
        code,
        signature: context.signature.clone(),
    };
    let measure = |parts: &Parts<'_>| {
        let text = parts.render();
        let tokens = counter.count(&text) + MESSAGE_OVERHEAD;
        (text, tokens)
    };
    let (mut text, mut tokens) = measure(&parts);
    // Each step removes a little of the least useful part left, until the prompt fits.
    while tokens > budget {
        if parts.code_lines > 0 {
            parts.code_lines /= 2;
        } else if parts.called_by > 3 || parts.calls > 3 {
            parts.called_by = parts.called_by.min(3);
            parts.calls = parts.calls.min(3);
        } else if parts.called_by > 0 || parts.calls > 0 {
            parts.called_by = 0;
            parts.calls = 0;
        } else if let Some(doc) = parts.doc.take() {
            let first = first_sentence(&doc);
            if first.len() < doc.len() {
                parts.doc = Some(first);
            }
        } else if parts.signature.chars().count() > 80 {
            let kept: String = parts
                .signature
                .chars()
                .take(parts.signature.chars().count() / 2)
                .collect();
            parts.signature = format!("{kept}…");
        } else {
            break;
        }
        (text, tokens) = measure(&parts);
    }
    Prompt { text, tokens }
}

/// The first sentence of `text`: up to the first `.`, `!` or `?` followed by white space or
/// the end, on one line.
pub(crate) fn first_sentence(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let bytes = flat.as_bytes();
    for (i, c) in flat.char_indices() {
        if matches!(c, '.' | '!' | '?') && bytes.get(i + 1).is_none_or(|b| *b == b' ') {
            return flat[..=i].to_owned();
        }
    }
    flat
}

#[cfg(test)]
pub(crate) mod tests {
    use doctown_common::{Language, SymbolKind};

    use super::*;

    pub(crate) fn context() -> SymbolContext {
        SymbolContext {
            called_by: vec!["main".into(), "reload".into()],
            calls: vec!["read_file".into(), "toml.parse".into()],
            centrality: 0.42,
            cluster_label: Some("config loading".into()),
            doc: Some("Parses a config file into `Settings`. Fails on unknown keys.".into()),
            file_path: "src/config.rs".into(),
            imports: vec!["toml".into()],
            kind: SymbolKind::Function,
            language: Language::Rust,
            name: "parse_config".into(),
            members: Vec::new(),
            parameters: vec![doctown_common::Parameter {
                name: Some("path".into()),
                type_name: Some("&Path".into()),
            }],
            returns: Some("Result<Settings>".into()),
            related: vec!["load_defaults".into()],
            signature: "pub fn parse_config(path: &Path) -> Result<Settings>".into(),
        }
    }

    fn input(code: Option<String>) -> SymbolInput {
        SymbolInput {
            symbol_id: "9b1de3a5c7f90214365870a9cbedf102".parse().unwrap(),
            context: context(),
            code,
        }
    }

    #[test]
    fn the_template_carries_every_field() {
        let counter = TokenCounter::for_model("gpt-4o-mini");
        let prompt = build_prompt(
            &input(Some("fn parse_config() {\n    todo()\n}".into())),
            &counter,
            2000,
        );
        let expected = "You are documenting a Rust codebase.\nSymbol: parse_config\nKind: function\nFile: src/config.rs\nSignature: pub fn parse_config(path: &Path) -> Result<Settings>\nCalls: read_file, toml.parse\nCalled by: main, reload\nRelated to: config loading\nImportance: 0.42 (0-1 scale)\nDoc comment: Parses a config file into `Settings`. Fails on unknown keys.\nCode:\nfn parse_config() {\n    todo()\n}\nWrite 1-2 sentences describing what this symbol does. Be concise and precise. Focus on purpose, not implementation.";
        assert_eq!(prompt.text, expected);
        assert_eq!(prompt.tokens, counter.count(expected) + MESSAGE_OVERHEAD);
    }

    #[test]
    fn the_budget_cuts_code_first_then_lists_then_the_doc() {
        let counter = TokenCounter::for_model("gpt-4o-mini");
        let code: String = (0..400)
            .map(|i| format!("    let value_{i} = compute({i});\n"))
            .collect();
        let full = build_prompt(&input(Some(code.clone())), &counter, 100_000);
        assert!(full.tokens > 3000);
        let fitted = build_prompt(&input(Some(code.clone())), &counter, 2000);
        assert!(fitted.tokens <= 2000, "{}", fitted.tokens);
        assert!(fitted.text.contains("let value_0 ") && fitted.text.contains("...\n"));
        assert!(fitted.text.contains("Called by: main, reload"));

        // Just what the prompt takes without code: the code goes, nothing else.
        let without_code = build_prompt(&input(None), &counter, 100_000);
        let tight = build_prompt(&input(Some(code)), &counter, without_code.tokens);
        assert_eq!(tight, without_code);
        assert!(!tight.text.contains("Code:"));
        assert!(tight.text.contains("Symbol: parse_config"));

        // Far below what naming the symbol takes: the prompt keeps its core and says so.
        let floor = build_prompt(&input(None), &counter, 10);
        assert!(floor.text.contains("Symbol: parse_config") && floor.tokens > 10);
        assert!(!floor.text.contains("Doc comment"));
    }

    #[test]
    fn first_sentences_end_at_a_stop_followed_by_space() {
        assert_eq!(
            first_sentence("Reads v1.2 files. Then more."),
            "Reads v1.2 files."
        );
        assert_eq!(first_sentence("No stop\nat all"), "No stop at all");
    }
}
