//! What pages take from prose the repository already has: a README's opening paragraph, a doc
//! comment's first sentence.

use doctown_common::LineRange;

/// Whether the file at `path` is a README, the documentation of its folder.
pub fn is_readme(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    matches!(
        name.as_str(),
        "readme" | "readme.md" | "readme.markdown" | "readme.rst" | "readme.txt"
    )
}

/// The first paragraph of a README that is prose (not a heading, a badge, an image, HTML, a
/// list or code), joined onto one line, with the lines it spans; `None` when it has none.
pub(crate) fn readme_paragraph(text: &str) -> Option<(String, LineRange)> {
    let mut in_fence = false;
    let mut paragraph: Vec<&str> = Vec::new();
    let mut start = 0;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if trimmed.is_empty() {
            if !paragraph.is_empty() {
                break;
            }
            continue;
        }
        let is_prose = !(trimmed.starts_with('#')
            || trimmed.starts_with('<')
            || trimmed.starts_with("![")
            || trimmed.starts_with("[![")
            || trimmed.starts_with('|')
            || trimmed.starts_with("- ")
            || trimmed.starts_with("* ")
            || trimmed.starts_with("> ")
            || trimmed.starts_with("===")
            || trimmed.starts_with("---")
            || trimmed.starts_with(".. ")
            || trimmed
                .chars()
                .all(|c| matches!(c, '=' | '-' | '~' | '^' | '*')));
        if !is_prose {
            if !paragraph.is_empty() {
                break;
            }
            continue;
        }
        if paragraph.is_empty() {
            start = index + 1;
        }
        paragraph.push(trimmed);
    }
    if paragraph.is_empty() {
        return None;
    }
    let end = start + paragraph.len() - 1;
    Some((paragraph.join(" "), LineRange::clamped(start, end)))
}

/// The first paragraph of `text` (up to its first blank line), on one line.
pub(crate) fn first_paragraph(text: &str) -> String {
    let mut paragraphs: Vec<Vec<&str>> = vec![Vec::new()];
    for line in text.lines().map(str::trim) {
        if line.is_empty() {
            if paragraphs
                .last()
                .is_some_and(|paragraph| !paragraph.is_empty())
            {
                paragraphs.push(Vec::new());
            }
        } else if let Some(paragraph) = paragraphs.last_mut() {
            paragraph.push(line);
        }
    }
    // A title underlined reStructuredText's way (`Requests\n~~~~~~~~`) is a heading, not the
    // paragraph; the paragraph after it is.
    let is_rule = |line: &&str| {
        line.len() >= 3
            && line
                .chars()
                .all(|c| c == line.chars().next().unwrap_or(' '))
            && line.starts_with(['=', '-', '~', '^', '*', '+', '#', '"'])
    };
    let chosen = paragraphs
        .iter()
        .filter(|paragraph| !paragraph.is_empty())
        .find(|paragraph| !(paragraph.len() <= 3 && paragraph.last().is_some_and(is_rule)))
        .or_else(|| paragraphs.first());
    chosen
        .map(|paragraph| {
            paragraph
                .iter()
                .filter(|line| !is_rule(line))
                .copied()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// The first sentence of `text` (up to the first `.`, `!` or `?` followed by a space or the
/// end, or the first blank line), on one line; `None` for empty text.
pub fn first_sentence(text: &str) -> Option<String> {
    let joined = first_paragraph(text);
    let joined = joined.trim();
    if joined.is_empty() {
        return None;
    }
    let bytes = joined.as_bytes();
    for (at, c) in joined.char_indices() {
        if matches!(c, '.' | '!' | '?') {
            let before = &joined[..at];
            if ["e.g", "i.e", " vs", "etc"]
                .iter()
                .any(|abbreviation| before.ends_with(abbreviation))
            {
                continue;
            }
            let next = bytes.get(at + 1);
            if next.is_none_or(|b| b.is_ascii_whitespace()) {
                return Some(joined[..=at].to_owned());
            }
        }
    }
    Some(joined.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_readme_opens_with_its_first_prose_paragraph() {
        let text = "# Tool\n\n[![ci](badge.svg)](ci)\n\n```sh\nrun it\n```\n\nTool turns a\nrepository into docs.\n\nMore.\n";
        let (paragraph, lines) = readme_paragraph(text).unwrap();
        assert_eq!(paragraph, "Tool turns a repository into docs.");
        assert_eq!((lines.start(), lines.end()), (9, 10));
        assert_eq!(readme_paragraph("# Only a title\n"), None);
        assert!(is_readme("crates/x/README.md") && !is_readme("docs/readme-notes.md"));
    }

    #[test]
    fn the_first_sentence_ends_at_a_full_stop_before_a_space() {
        assert_eq!(
            first_sentence("Reads a file, e.g. a.rs. Then more.").as_deref(),
            Some("Reads a file, e.g. a.rs.")
        );
        assert_eq!(
            first_sentence("Parses v1.2 files\nwell.\n\nDetails.").as_deref(),
            Some("Parses v1.2 files well.")
        );
        assert_eq!(first_sentence("  \n"), None);
    }

    #[test]
    fn a_docstring_title_underlined_as_restructuredtext_is_not_its_paragraph() {
        let doc = "requests.adapters\n~~~~~~~~~~~~~~~~~\n\nThis module contains the transport adapters.\n";
        assert_eq!(
            first_paragraph(doc),
            "This module contains the transport adapters."
        );
        // A title alone is still said, without its rule.
        assert_eq!(first_paragraph("Requests\n========\n"), "Requests");
        assert_eq!(first_paragraph("a --- b\nc"), "a --- b c");
    }
}
