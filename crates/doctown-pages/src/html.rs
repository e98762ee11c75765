//! Pages as a static site that opens from the file system, with no server and no network: one
//! HTML file per page at the paths of the markdown export, each with the module navigation and
//! a search over pages and symbols whose index is a script beside them (browsers refuse to
//! fetch files from `file://`, but load scripts). Diagrams are kept as their mermaid source and
//! drawn when a copy of mermaid is put beside the site (`assets/mermaid.min.js`).

use std::fmt::Write as _;

use doctown_docpack::{Node, Page, PageKind};
use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag};
use serde_json::json;

use crate::export::{ExportedFile, SourceLinks, home_pages, linked_markdown, page_path, relative};

/// Where a copy of mermaid goes for the site to draw its diagrams.
pub const MERMAID_SCRIPT: &str = "assets/mermaid.min.js";

const STYLE: &str = include_str!("assets/site.css");
const SCRIPT: &str = include_str!("assets/site.js");

/// The pages as a static site: `index.html` the overview, `modules/…html`, `topics/…html`,
/// the style, the search's script and its index under `assets/`. Links go as the markdown
/// export's do (between pages, and to the source on the forge at the commit when `links` has
/// one). `title` heads every page.
pub fn html_site(
    pages: &[Page],
    nodes: &[Node],
    links: &SourceLinks,
    title: &str,
) -> Vec<ExportedFile> {
    let markdown = linked_markdown(pages, nodes, links, "html");
    let navigation = Navigation::of(pages);
    let mut files: Vec<ExportedFile> = pages
        .iter()
        .zip(markdown)
        .map(|(page, file)| ExportedFile {
            text: document(title, page, &file.path, &to_html(&file.text), &navigation),
            path: file.path,
        })
        .collect();
    files.push(ExportedFile {
        path: "assets/site.css".to_owned(),
        text: STYLE.to_owned(),
    });
    files.push(ExportedFile {
        path: "assets/site.js".to_owned(),
        text: SCRIPT.to_owned(),
    });
    files.push(ExportedFile {
        path: "assets/search-index.js".to_owned(),
        text: search_index(pages, nodes, links),
    });
    files
}

/// Markdown to HTML. Raw HTML in the markdown is shown as text, a link may only be relative,
/// `http(s):` or `mailto:`, and a mermaid block becomes `<pre class="mermaid">` for mermaid to
/// draw.
fn to_html(markdown: &str) -> String {
    let mut in_mermaid = false;
    let events = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
        Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) if info.as_ref() == "mermaid" => {
            in_mermaid = true;
            Event::Html(CowStr::Borrowed("<pre class=\"mermaid\">"))
        }
        Event::End(pulldown_cmark::TagEnd::CodeBlock) if in_mermaid => {
            in_mermaid = false;
            Event::Html(CowStr::Borrowed("</pre>\n"))
        }
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: if is_safe_link(&dest_url) {
                dest_url
            } else {
                CowStr::Borrowed("#")
            },
            title,
            id,
        }),
        other => other,
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// Whether a link may stay: one to a file of the site, a fragment, or the web.
fn is_safe_link(url: &str) -> bool {
    let scheme = url
        .split_once(':')
        .map(|(scheme, _)| scheme)
        .filter(|scheme| !scheme.contains(['/', '#', '?']));
    match scheme {
        None => true,
        Some(scheme) => ["http", "https", "mailto"]
            .iter()
            .any(|allowed| scheme.eq_ignore_ascii_case(allowed)),
    }
}

/// Text escaped for HTML, in an element or an attribute.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Writing to a String cannot fail.
    let _ = pulldown_cmark_escape::escape_html(&mut out, text);
    out
}

/// The navigation every page shows: the overview, the module tree, the topics.
struct Navigation<'p> {
    overview: Option<&'p Page>,
    /// Module pages with their depth, in tree order.
    modules: Vec<(usize, &'p Page)>,
    topics: Vec<&'p Page>,
}

impl<'p> Navigation<'p> {
    fn of(pages: &'p [Page]) -> Self {
        let mut modules = Vec::new();
        let mut stack: Vec<(&str, usize)> = Vec::new();
        let top: Vec<&Page> = pages
            .iter()
            .filter(|page| page.kind == PageKind::Module)
            .filter(|page| {
                !pages.iter().any(|parent| {
                    parent.kind == PageKind::Module && Some(&parent.id) == page.parent.as_ref()
                })
            })
            .collect();
        for root in top.into_iter().rev() {
            stack.push((root.id.as_str(), 0));
        }
        // Depth first, children in page order.
        while let Some((id, depth)) = stack.pop() {
            let Some(page) = pages.iter().find(|page| page.id == id) else {
                continue;
            };
            modules.push((depth, page));
            for child in pages
                .iter()
                .filter(|child| {
                    child.kind == PageKind::Module && child.parent.as_deref() == Some(id)
                })
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
            {
                stack.push((child.id.as_str(), depth + 1));
            }
        }
        Self {
            overview: pages.iter().find(|page| page.kind == PageKind::Overview),
            modules,
            topics: pages
                .iter()
                .filter(|page| page.kind == PageKind::Topic)
                .collect(),
        }
    }

    /// The navigation as seen from the page at `from`, with `current` marked.
    fn render(&self, from: &str, current: &str) -> String {
        let link = |page: &Page, class: &str| {
            let here = if page.id == current {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!(
                "<a class=\"{class}\" href=\"{}\"{here}>{}</a>",
                escape(&relative(from, &page_path(&page.id, "html"))),
                escape(&page.title)
            )
        };
        let mut out = String::from("<nav aria-label=\"Pages\">\n");
        if let Some(overview) = self.overview {
            let _ = writeln!(out, "{}", link(overview, "overview"));
        }
        if !self.modules.is_empty() {
            out.push_str("<h2>Modules</h2>\n<ul>\n");
            for (depth, page) in &self.modules {
                let _ = writeln!(
                    out,
                    "<li style=\"--depth: {depth}\">{}</li>",
                    link(page, "module")
                );
            }
            out.push_str("</ul>\n");
        }
        if !self.topics.is_empty() {
            out.push_str("<h2>Topics</h2>\n<ul>\n");
            for page in &self.topics {
                let _ = writeln!(out, "<li>{}</li>", link(page, "topic"));
            }
            out.push_str("</ul>\n");
        }
        out.push_str("</nav>\n");
        out
    }
}

/// A whole HTML document for `page`, written at `path`.
fn document(
    title: &str,
    page: &Page,
    path: &str,
    body: &str,
    navigation: &Navigation<'_>,
) -> String {
    let root = relative(path, "index.html");
    let root = root.strip_suffix("index.html").unwrap_or("");
    let page_title = if page.kind == PageKind::Overview {
        escape(title)
    } else {
        format!("{} · {}", escape(&page.title), escape(title))
    };
    format!(
        "<!doctype html>\n<html lang=\"en\" data-root=\"{root}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{page_title}</title>\n<link rel=\"stylesheet\" href=\"{root}assets/site.css\">\n\
         </head>\n<body>\n<header>\n<a class=\"site\" href=\"{root}index.html\">{site}</a>\n\
         <div class=\"search\" role=\"search\">\n<input type=\"search\" id=\"search\" \
         placeholder=\"Search pages and symbols\" aria-label=\"Search pages and symbols\" \
         autocomplete=\"off\">\n<ol id=\"results\" aria-label=\"Search results\" hidden></ol>\n\
         </div>\n</header>\n<div class=\"layout\">\n{nav}<main data-page-kind=\"{kind}\">\n{body}</main>\n\
         </div>\n<script src=\"{root}assets/search-index.js\"></script>\n\
         <script src=\"{root}{MERMAID_SCRIPT}\"></script>\n<script src=\"{root}assets/site.js\"></script>\n\
         </body>\n</html>\n",
        site = escape(title),
        nav = navigation.render(path, &page.id),
        kind = page.kind.id(),
    )
}

/// The search's index as a script (`window.DOCTOWN_SEARCH`): every page (title, kind, path)
/// and every symbol (name, qualified name, kind, file and line, summary, where its link goes),
/// paths relative to the site's root.
fn search_index(pages: &[Page], nodes: &[Node], links: &SourceLinks) -> String {
    let homes = home_pages(pages);
    let pages: Vec<_> = pages
        .iter()
        .map(|page| json!([page.title, page.kind.id(), page_path(&page.id, "html")]))
        .collect();
    let symbols: Vec<_> = nodes
        .iter()
        .map(|node| {
            let lines = (node.line_range.start(), node.line_range.end());
            let target = links
                .link(&node.path, Some(lines))
                .or_else(|| {
                    homes
                        .get(node.path.as_str())
                        .map(|id| page_path(id, "html"))
                })
                .unwrap_or_else(|| "index.html".to_owned());
            json!([
                node.name,
                node.qualified_name,
                node.kind.id(),
                format!("{}:{}", node.path, lines.0),
                node.summary
                    .as_deref()
                    .map(crate::first_sentence)
                    .unwrap_or_default(),
                target,
            ])
        })
        .collect();
    // `</` cannot end the script early: JSON may write `<` as `\u003c`.
    let index = json!({ "pages": pages, "symbols": symbols })
        .to_string()
        .replace('<', "\\u003c");
    format!("window.DOCTOWN_SEARCH = {index};\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_pages_is_text_and_only_safe_links_stay() {
        let html = to_html(
            "<script>alert(1)</script>\n\n[a](javascript:alert(1)) [b](modules/x.html) [c](https://x.io) [d](JaVaScRiPt:x)\n",
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.to_lowercase().contains("javascript:"), "{html}");
        assert!(html.contains("href=\"modules/x.html\""), "{html}");
        assert!(html.contains("href=\"https://x.io\""), "{html}");
    }

    #[test]
    fn diagrams_stay_as_source_for_mermaid() {
        let html = to_html(
            "```mermaid\nflowchart LR\n  n0[\"a#lt;b\"] --> n1\n```\n\n```rust\nfn x() {}\n```\n",
        );
        assert!(
            html.starts_with(
                "<pre class=\"mermaid\">flowchart LR\n  n0[\"a#lt;b\"] --&gt; n1\n</pre>"
            ),
            "{html}"
        );
        assert!(
            html.contains("<pre><code class=\"language-rust\">"),
            "{html}"
        );
    }
}
