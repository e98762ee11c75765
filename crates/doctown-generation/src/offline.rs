//! The offline summarizer: a deterministic sentence a reader can use, from what the code
//! already says, for when no language model is configured. A doc comment's first sentence
//! leads; without one, what the symbol takes, returns and calls (a function), or what it
//! declares (a type), in words. Its summaries are marked offline wherever they go.

use doctown_common::{Parameter, SymbolKind};
use doctown_docpack::SymbolContext;

use crate::prompt::first_sentence;

/// Items quoted per list.
const LISTED: usize = 3;

/// "a", "a and b", "a, b and c", "a, b, c and 2 more".
fn listed(items: &[String]) -> String {
    let shown = &items[..items.len().min(LISTED)];
    let more = items.len() - shown.len();
    match (shown, more) {
        ([], _) => String::new(),
        ([one], 0) => one.clone(),
        (all, 0) => format!(
            "{} and {}",
            all[..all.len() - 1].join(", "),
            all[all.len() - 1]
        ),
        (all, more) => format!("{} and {more} more", all.join(", ")),
    }
}

/// Names as code: "`a`, `b` and `c`".
fn names(list: &[String]) -> String {
    listed(
        &list
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>(),
    )
}

/// A parameter in words: "`path` (`&Path`)", "`path`", or an unnamed one's type.
fn parameter(parameter: &Parameter) -> String {
    match (&parameter.name, &parameter.type_name) {
        (Some(name), Some(ty)) => format!("`{name}` (`{ty}`)"),
        (Some(name), None) => format!("`{name}`"),
        (None, Some(ty)) => format!("a `{ty}`"),
        (None, None) => "an unnamed value".to_owned(),
    }
}

/// What a function takes and returns: "takes `a` and `b` and returns `T`", "returns `T`",
/// "takes `a`"; `None` when it declares neither.
fn takes_and_returns(context: &SymbolContext) -> Option<String> {
    let takes = (!context.parameters.is_empty()).then(|| {
        let parameters: Vec<String> = context.parameters.iter().map(parameter).collect();
        format!("takes {}", listed(&parameters))
    });
    let returns = context.returns.as_ref().map(|ty| format!("returns `{ty}`"));
    match (takes, returns) {
        (Some(takes), Some(returns)) => Some(format!("{takes} and {returns}")),
        (one, other) => one.or(other),
    }
}

/// `text` with its first letter in upper case.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The offline summary of a symbol: one sentence, always ending with a full stop.
pub fn offline_summary(context: &SymbolContext) -> String {
    let doc = context
        .doc
        .as_deref()
        .map(first_sentence)
        .map(|s| s.trim_end_matches(['.', ':', ';']).to_owned())
        .filter(|s| !s.is_empty());
    let mut clauses = Vec::new();
    if let Some(doc) = &doc {
        clauses.push(doc.clone());
    } else {
        let is_function = matches!(context.kind, SymbolKind::Function | SymbolKind::Method);
        if is_function {
            clauses.extend(takes_and_returns(context));
            if !context.calls.is_empty() {
                clauses.push(format!("calls {}", names(&context.calls)));
            }
        } else if !context.members.is_empty() {
            clauses.push(format!("declares {}", names(&context.members)));
        }
    }
    if !context.called_by.is_empty() {
        clauses.push(format!("called by {}", names(&context.called_by)));
    }
    if doc.is_none() && clauses.is_empty() {
        // Nothing is said of it beyond what it is: say what it is, where, and what it lacks.
        let what = format!(
            "{} `{}` in `{}`",
            context.kind.id().replace('_', " "),
            context.name,
            context.file_path
        );
        clauses.push(match context.kind {
            SymbolKind::Function | SymbolKind::Method => {
                format!("{what}; it takes no parameters and makes no calls")
            }
            SymbolKind::Class
            | SymbolKind::Struct
            | SymbolKind::Enum
            | SymbolKind::Trait
            | SymbolKind::Interface => format!("{what}, with no methods"),
            _ => what,
        });
    }
    let mut summary = capitalized(&clauses.join("; "));
    summary.push('.');
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::tests::context;

    #[test]
    fn a_doc_comment_leads_and_callers_follow() {
        assert_eq!(
            offline_summary(&context()),
            "Parses a config file into `Settings`; called by `main` and `reload`."
        );
    }

    #[test]
    fn without_a_doc_a_function_says_what_it_takes_returns_and_calls() {
        let mut c = context();
        c.doc = None;
        c.called_by = (0..5).map(|i| format!("caller_{i}")).collect();
        assert_eq!(
            offline_summary(&c),
            "Takes `path` (`&Path`) and returns `Result<Settings>`; calls `read_file` and `toml.parse`; called by `caller_0`, `caller_1`, `caller_2` and 2 more."
        );
        c.parameters = vec![
            Parameter {
                name: Some("data".into()),
                type_name: None,
            },
            Parameter {
                name: None,
                type_name: Some("int".into()),
            },
        ];
        c.returns = None;
        c.calls.clear();
        c.called_by.clear();
        assert_eq!(offline_summary(&c), "Takes `data` and a `int`.");
        c.parameters.clear();
        assert_eq!(
            offline_summary(&c),
            "Function `parse_config` in `src/config.rs`; it takes no parameters and makes no calls."
        );
    }

    #[test]
    fn without_a_doc_a_type_says_what_it_declares() {
        let mut c = context();
        c.doc = None;
        c.kind = SymbolKind::Struct;
        c.called_by.clear();
        c.members = vec!["open".into(), "get".into(), "put".into(), "close".into()];
        assert_eq!(
            offline_summary(&c),
            "Declares `open`, `get`, `put` and 1 more."
        );
    }
}
