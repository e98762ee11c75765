//! The offline summarizer: a deterministic, useful sentence from what the code already says (the
//! doc comment's first sentence, the kind and name, the calls, the callers and the cluster), for
//! when no language model is configured. Its summaries are marked offline wherever they go.

use doctown_docpack::SymbolContext;

use crate::prompt::first_sentence;

/// Names quoted per list.
const NAMES: usize = 3;

/// "`a`", "`a` and `b`", "`a`, `b` and `c`", "`a`, `b`, `c` and 2 more".
fn names(list: &[String]) -> String {
    let quoted: Vec<String> = list.iter().take(NAMES).map(|n| format!("`{n}`")).collect();
    let more = list.len().saturating_sub(NAMES);
    match (quoted.as_slice(), more) {
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

/// The offline summary of a symbol: one or two sentences, always ending with a full stop.
pub fn offline_summary(context: &SymbolContext) -> String {
    let doc = context
        .doc
        .as_deref()
        .map(first_sentence)
        .map(|s| s.trim_end_matches(['.', ':', ';']).to_owned())
        .filter(|s| !s.is_empty());
    let mut clauses = Vec::new();
    match &doc {
        Some(doc) => clauses.push(doc.clone()),
        None => {
            let kind = context.kind.id().replace('_', " ");
            let mut chars = kind.chars();
            let kind: String = chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            clauses.push(format!(
                "{kind} `{}` in `{}`",
                context.name, context.file_path
            ));
        }
    }
    if !context.calls.is_empty() && doc.is_none() {
        clauses.push(format!("calls {}", names(&context.calls)));
    }
    if !context.called_by.is_empty() {
        clauses.push(format!("called by {}", names(&context.called_by)));
    }
    let mut summary = clauses.join("; ");
    summary.push('.');
    if let Some(label) = &context.cluster_label {
        summary.push_str(&format!(" Part of the {label} code."));
    }
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
            "Parses a config file into `Settings`; called by `main` and `reload`. Part of the config loading code."
        );
    }

    #[test]
    fn without_a_doc_the_kind_name_and_calls_speak() {
        let mut c = context();
        c.doc = None;
        c.cluster_label = None;
        c.called_by = (0..5).map(|i| format!("caller_{i}")).collect();
        assert_eq!(
            offline_summary(&c),
            "Function `parse_config` in `src/config.rs`; calls `read_file` and `toml.parse`; called by `caller_0`, `caller_1`, `caller_2` and 2 more."
        );
        c.calls.clear();
        c.called_by.clear();
        assert_eq!(
            offline_summary(&c),
            "Function `parse_config` in `src/config.rs`."
        );
    }
}
