//! Writing a page's markdown: text escaped where markdown would read it as markup, links in the
//! `doctown:` scheme of the docpack spec, and every symbol or source range linked recorded as
//! a citation.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use doctown_common::{LineRange, SymbolId};
use doctown_docpack::{Citation, Node};

/// The URI of a page.
pub fn page_uri(id: &str) -> String {
    format!("doctown:page/{}", escape_uri(id))
}

/// The URI of a symbol.
pub fn symbol_uri(id: SymbolId) -> String {
    format!("doctown:symbol/{id}")
}

/// The URI of lines of a file.
pub fn source_uri(path: &str, lines: LineRange) -> String {
    format!(
        "doctown:source/{}#L{}-L{}",
        escape_uri(path),
        lines.start(),
        lines.end()
    )
}

/// `text` with the characters a link destination cannot hold percent-encoded.
fn escape_uri(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            ' ' | '(' | ')' | '<' | '>' | '%' | '#' | '?' | '[' | ']' | '\\' | '"' => {
                let mut buffer = [0u8; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    let _ = write!(out, "%{byte:02X}");
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `text` as inline code, fenced with enough backticks and cut to one line.
pub(crate) fn code(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || longest > 0 {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Prose with markdown's markup characters escaped, on one line.
pub(crate) fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Markdown the repository or a summary wrote (a README's paragraph, a doc comment, a
/// summary with code spans), kept as written but on one line, with raw HTML and headings made
/// inert so it cannot break the page around it (`<` is escaped outside code spans, where
/// markdown would read it as a tag; `|` is left to tables, which escape it).
pub(crate) fn prose(text: &str) -> String {
    let chars: Vec<char> = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let run_at = |at: usize| chars[at..].iter().take_while(|&&c| c == '`').count();
    let mut out = String::with_capacity(chars.len());
    // The length of the backtick run that opened the code span we are in.
    let mut in_code: Option<usize> = None;
    let mut at = 0;
    while at < chars.len() {
        if chars[at] == '`' {
            let run = run_at(at);
            in_code = match in_code {
                Some(open) if open == run => None,
                Some(open) => Some(open),
                // A span opens only where a run of the same length closes it later.
                None => {
                    let mut later = at + run;
                    let mut closes = false;
                    while later < chars.len() {
                        if chars[later] == '`' {
                            let other = run_at(later);
                            if other == run {
                                closes = true;
                                break;
                            }
                            later += other;
                        } else {
                            later += 1;
                        }
                    }
                    closes.then_some(run)
                }
            };
            out.extend(&chars[at..at + run]);
            at += run;
            continue;
        }
        if chars[at] == '<' && in_code.is_none() {
            out.push_str("\\<");
        } else {
            out.push(chars[at]);
        }
        at += 1;
    }
    match out.strip_prefix('#') {
        Some(rest) => format!("\\#{rest}"),
        None => out,
    }
}

/// A table cell: code or prose with `|` escaped (GitHub's tables split cells at every `|`,
/// inside code too).
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// A page being written: its markdown and what it cites.
#[derive(Debug, Default)]
pub(crate) struct PageWriter {
    body: String,
    citations: BTreeSet<Citation>,
}

impl PageWriter {
    /// Appends a line of raw markdown and a newline.
    pub(crate) fn line(&mut self, markdown: &str) {
        self.body.push_str(markdown);
        self.body.push('\n');
    }

    /// Appends a heading of `level` and a blank line after it.
    pub(crate) fn heading(&mut self, level: usize, text: &str) {
        self.ensure_blank_line();
        let _ = writeln!(self.body, "{} {}\n", "#".repeat(level), plain(text));
    }

    /// Appends a paragraph of markdown and a blank line.
    pub(crate) fn paragraph(&mut self, markdown: &str) {
        self.ensure_blank_line();
        self.body.push_str(markdown.trim_end());
        self.body.push_str("\n\n");
    }

    /// Appends a fenced block (`mermaid`, `text`).
    pub(crate) fn fenced(&mut self, info: &str, content: &str) {
        self.ensure_blank_line();
        let _ = writeln!(self.body, "```{info}\n{}\n```\n", content.trim_end());
    }

    /// Appends a table with `header` and `rows` (cells are markdown, `|` escaped here).
    pub(crate) fn table(&mut self, header: &[&str], rows: &[Vec<String>]) {
        if rows.is_empty() {
            return;
        }
        self.ensure_blank_line();
        let _ = writeln!(self.body, "| {} |", header.join(" | "));
        let _ = writeln!(
            self.body,
            "|{}",
            header.iter().map(|_| " --- |").collect::<String>()
        );
        for row in rows {
            let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
            let _ = writeln!(self.body, "| {} |", cells.join(" | "));
        }
        self.body.push('\n');
    }

    /// A link to a symbol, as its name in code, citing it.
    pub(crate) fn symbol(&mut self, node: &Node) -> String {
        self.symbol_named(node, &node.qualified_name)
    }

    /// A link to a symbol shown as `text` in code, citing it.
    pub(crate) fn symbol_named(&mut self, node: &Node, text: &str) -> String {
        self.citations.insert(Citation {
            line_range: node.line_range,
            path: node.path.clone(),
            symbol_id: Some(node.id),
        });
        format!("[{}]({})", code(text), symbol_uri(node.id))
    }

    /// A link to lines of a file, shown as `path:start`, citing them.
    pub(crate) fn source(&mut self, path: &str, lines: LineRange) -> String {
        self.citations.insert(Citation {
            line_range: lines,
            path: path.to_owned(),
            symbol_id: None,
        });
        format!(
            "[{}]({})",
            code(&format!("{path}:{}", lines.start())),
            source_uri(path, lines)
        )
    }

    /// A link to a page.
    pub(crate) fn page(&self, id: &str, title: &str) -> String {
        format!("[{}]({})", plain(title), page_uri(id))
    }

    /// The markdown and the citations, sorted.
    pub(crate) fn finish(self) -> (String, Vec<Citation>) {
        let body = self.body.trim_end().to_owned() + "\n";
        (body, self.citations.into_iter().collect())
    }

    fn ensure_blank_line(&mut self) {
        if !self.body.is_empty() && !self.body.ends_with("\n\n") {
            if !self.body.ends_with('\n') {
                self.body.push('\n');
            }
            self.body.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_backticks_and_uris_hold_no_spaces() {
        assert_eq!(code("fn f()"), "`fn f()`");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(plain("a_b *c* [d]"), "a\\_b \\*c\\* \\[d\\]");
        assert_eq!(prose("Reads `a`\n and <b>."), "Reads `a` and \\<b>.");
        assert_eq!(
            prose("Returns `Option<&[u8]>` or <b> ``a`<b>`` ` <c>"),
            "Returns `Option<&[u8]>` or \\<b> ``a`<b>`` ` \\<c>"
        );
        assert_eq!(prose("# not a heading"), "\\# not a heading");
        assert_eq!(
            source_uri("docs/my file (1).md", LineRange::clamped(3, 5)),
            "doctown:source/docs/my%20file%20%281%29.md#L3-L5"
        );
        assert_eq!(page_uri("module/src/a"), "doctown:page/module/src/a");
    }

    #[test]
    fn tables_escape_pipes_and_pages_end_with_one_newline() {
        let mut page = PageWriter::default();
        page.heading(1, "Title");
        page.table(&["a", "b"], &[vec!["`x | y`".into(), "z".into()]]);
        let (body, citations) = page.finish();
        assert_eq!(
            body,
            "# Title\n\n| a | b |\n| --- | --- |\n| `x \\| y` | z |\n"
        );
        assert!(citations.is_empty());
    }
}
