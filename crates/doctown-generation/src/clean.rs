//! Summaries as a reader wants them: one paragraph, no markdown fences or headings, at most two
//! sentences, and no "This function …" preamble where the sentence reads as well without it.

/// Words that open a preamble: "This function", "The method `x`", …
const SUBJECTS: &[&str] = &[
    "function",
    "method",
    "class",
    "struct",
    "enum",
    "trait",
    "interface",
    "type",
    "module",
    "constant",
    "variable",
    "constructor",
    "macro",
    "field",
    "property",
    "symbol",
    "code",
];

/// The summary in `raw` (a model's answer), cleaned; empty when nothing usable is left.
pub fn clean_summary(raw: &str) -> String {
    let mut lines = Vec::new();
    let mut in_fence = false;
    for line in raw.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        // Fenced code and headings are not prose.
        if in_fence || trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let trimmed = trimmed
            .strip_prefix("Summary:")
            .or_else(|| trimmed.strip_prefix("**Summary:**"))
            .unwrap_or(trimmed)
            .trim();
        lines.push(trimmed.replace("**", ""));
    }
    let paragraph = lines.join(" ");
    let paragraph = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
    let paragraph = drop_preamble(&paragraph);
    let mut sentences = Vec::new();
    let mut start = 0;
    for (i, c) in paragraph.char_indices() {
        let next = paragraph[i + c.len_utf8()..].chars().next();
        if matches!(c, '.' | '!' | '?') && next.is_none_or(char::is_whitespace) {
            sentences.push(paragraph[start..=i].trim());
            start = i + 1;
            if sentences.len() == 2 {
                break;
            }
        }
    }
    if sentences.len() < 2 && start < paragraph.len() {
        let rest = paragraph[start..].trim();
        if !rest.is_empty() {
            sentences.push(rest);
        }
    }
    sentences.join(" ")
}

/// "This function parses a file" → "Parses a file"; "The `Config` struct holds …" →
/// "Holds …". Left alone when the next word is not a verb in the third person (ends in `s`).
fn drop_preamble(text: &str) -> String {
    let words: Vec<&str> = text.splitn(6, ' ').collect();
    let Some(first) = words.first() else {
        return text.to_owned();
    };
    if !matches!(*first, "This" | "The") {
        return text.to_owned();
    }
    // The subject noun may come after a name in backticks: "The `parse` function parses".
    for noun_at in 1..=2 {
        let (Some(noun), Some(verb)) = (words.get(noun_at), words.get(noun_at + 1)) else {
            break;
        };
        if noun_at == 2 && !words[1].starts_with('`') {
            break;
        }
        if SUBJECTS.contains(&noun.to_lowercase().as_str()) {
            // "The function `parse` parses": a name after the noun.
            let (verb_at, verb) = if verb.starts_with('`') {
                match words.get(noun_at + 2) {
                    Some(after) => (noun_at + 2, *after),
                    None => break,
                }
            } else {
                (noun_at + 1, *verb)
            };
            let is_verb = verb.len() > 2
                && verb.ends_with('s')
                && !verb.ends_with("ss")
                && verb.chars().all(|c| c.is_ascii_lowercase());
            if !is_verb {
                break;
            }
            let rest = text.splitn(verb_at + 1, ' ').last().unwrap_or("");
            let mut chars = rest.chars();
            return match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect(),
                None => text.to_owned(),
            };
        }
    }
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_headings_and_extra_sentences_go() {
        assert_eq!(
            clean_summary(
                "## Summary\n```rust\nfn x() {}\n```\nParses the **config** file.\nReturns settings. Also logs. And more."
            ),
            "Parses the config file. Returns settings."
        );
        assert_eq!(
            clean_summary("Summary: Reads v1.2 files. Done."),
            "Reads v1.2 files. Done."
        );
        assert_eq!(clean_summary("  \n```\nonly code\n```\n"), "");
        assert_eq!(clean_summary("No stop at the end"), "No stop at the end");
    }

    #[test]
    fn preambles_are_dropped_when_a_verb_follows() {
        assert_eq!(
            clean_summary("This function parses a config file."),
            "Parses a config file."
        );
        assert_eq!(
            clean_summary("The `Config` struct holds settings."),
            "Holds settings."
        );
        assert_eq!(
            clean_summary("The method `run` starts the server."),
            "Starts the server."
        );
        assert_eq!(
            clean_summary("This class is a cache."),
            "This class is a cache."
        );
        assert_eq!(
            clean_summary("The server listens on a port."),
            "The server listens on a port."
        );
    }
}
