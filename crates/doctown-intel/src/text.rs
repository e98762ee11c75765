//! Text helpers shared by every language: line numbers, signatures and doc comments.

use std::borrow::Cow;

/// Maps byte offsets to 1-based line numbers.
pub(crate) struct LineIndex {
    /// The byte offset where each line starts; the first is 0.
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes the lines of `source`.
    pub(crate) fn new(source: &[u8]) -> Self {
        let mut starts = Vec::with_capacity(source.len() / 32 + 1);
        starts.push(0);
        starts.extend(memchr_newlines(source).map(|at| at + 1));
        Self { starts }
    }

    /// The 1-based line holding the byte at `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }

    /// The 1-based line holding the last byte of the half-open range ending at `end`.
    pub(crate) fn last_line(&self, start: usize, end: usize) -> usize {
        self.line_of(end.saturating_sub(1).max(start))
    }

    /// The byte offset where the 1-based `line` starts.
    pub(crate) fn line_start(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(1)?).copied()
    }
}

fn memchr_newlines(source: &[u8]) -> impl Iterator<Item = usize> + '_ {
    source
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'\n')
        .map(|(at, _)| at)
}

/// The bytes `start..end` of `source` as text, decoded lossily where they are not UTF-8.
pub(crate) fn lossy(source: &[u8], start: usize, end: usize) -> Cow<'_, str> {
    String::from_utf8_lossy(source.get(start..end).unwrap_or_default())
}

/// Collapses every run of whitespace to one space and tidies the spaces that leaves inside
/// brackets, so a multi-line declaration reads as one line: `fn f(a: u32, b: u32) -> u32`.
/// Longer results are cut at `max` characters with an ellipsis.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 4));
    for word in text.split_whitespace() {
        let joins_tight = out.ends_with(['(', '[', '<'])
            || word.starts_with([')', ']', ','])
            || (word.starts_with('>') && !out.ends_with(['=', '-']) && !word.starts_with(">="));
        if !out.is_empty() && !joins_tight {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() > max * 4 {
            break;
        }
    }
    let out = out
        .replace(",)", ")")
        .replace(",]", "]")
        .replace(", )", ")");
    match out.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", out[..cut].trim_end()),
        None => out,
    }
}

/// Removes the common leading indentation of all lines but the first, trims blank lines at both
/// ends, and gives `None` for text that is empty after that (Python's `inspect.cleandoc`).
pub(crate) fn clean_doc(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let indent = lines
        .iter()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let cleaned: Vec<&str> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                line.trim_start()
            } else {
                line.get(indent..).unwrap_or("")
            }
        })
        .collect();
    without_blank_ends(&cleaned)
}

/// The lines joined, without blank lines at either end; `None` when nothing is left.
fn without_blank_ends(lines: &[&str]) -> Option<String> {
    let first = lines.iter().position(|line| !line.trim().is_empty())?;
    let last = lines.iter().rposition(|line| !line.trim().is_empty())?;
    Some(lines[first..=last].join("\n"))
}

/// The text of doc comment lines with their markers (`///`, `//`, `#`) removed and the common
/// indentation after the marker taken away.
pub(crate) fn strip_line_markers<'a>(
    lines: impl Iterator<Item = &'a str>,
    marker: &str,
) -> Option<String> {
    let body: Vec<&str> = lines
        .map(|line| line.trim().strip_prefix(marker).unwrap_or(line.trim()))
        .collect();
    let indent = body
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let text: Vec<&str> = body
        .iter()
        .map(|line| line.get(indent..).unwrap_or("").trim_end())
        .collect();
    without_blank_ends(&text)
}

/// The text of a `/** … */` block comment without its delimiters and leading `*`s.
pub(crate) fn strip_block_comment(text: &str) -> Option<String> {
    let inner = text.trim().strip_prefix("/**")?.strip_suffix("*/")?;
    let lines = inner.lines().map(|line| {
        let line = line.trim_start();
        line.strip_prefix("* ")
            .or_else(|| line.strip_prefix('*'))
            .unwrap_or(line)
    });
    clean_doc(&lines.collect::<Vec<_>>().join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based() {
        let index = LineIndex::new(b"ab\ncd\n\nef");
        assert_eq!(index.line_of(0), 1);
        assert_eq!(index.line_of(2), 1, "the newline belongs to its line");
        assert_eq!(index.line_of(3), 2);
        assert_eq!(index.line_of(6), 3);
        assert_eq!(index.line_of(8), 4);
        assert_eq!(
            index.last_line(3, 6),
            2,
            "a range ending after a newline ends on that line"
        );
        assert_eq!(index.line_start(4), Some(7));
    }

    #[test]
    fn signatures_read_as_one_line() {
        assert_eq!(
            one_line(
                "pub fn parse(\n    input: &str,\n    limit: usize,\n) -> Result<Ast>",
                200
            ),
            "pub fn parse(input: &str, limit: usize) -> Result<Ast>"
        );
        assert_eq!(one_line("def f(a,\n      b):", 200), "def f(a, b):");
        assert_eq!(one_line("x = 1 >= 2", 200), "x = 1 >= 2");
        assert_eq!(one_line("fn f() -> Vec<u8>", 200), "fn f() -> Vec<u8>");
        assert_eq!(one_line(&"a ".repeat(100), 10), "a a a a a…");
    }

    #[test]
    fn docs_are_dedented() {
        assert_eq!(
            clean_doc("Summary.\n\n    Details\n      indented\n    ").as_deref(),
            Some("Summary.\n\nDetails\n  indented")
        );
        assert_eq!(clean_doc("   \n  "), None);
        assert_eq!(
            strip_line_markers(["/// Parses.", "///", "///   Indented."].into_iter(), "///")
                .as_deref(),
            Some("Parses.\n\n  Indented.")
        );
        assert_eq!(
            strip_block_comment("/**\n * Adds.\n *\n * @param a x\n */").as_deref(),
            Some("Adds.\n\n@param a x")
        );
    }
}
