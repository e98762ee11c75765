//! Pages as a folder of markdown files that render as they are on GitHub and GitLab: the
//! overview as `index.md`, each module under `modules/` and each topic under `topics/`, their
//! `doctown:` links turned into relative links between the files and into links to the source.

use std::collections::HashMap;

use doctown_common::SymbolId;
use doctown_docpack::{Node, Page, SourceInfo};

use crate::OVERVIEW;

/// One file of an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedFile {
    /// Where it goes in the folder, `/`-separated.
    pub path: String,
    /// What it holds.
    pub text: String,
}

/// Where the source of a path can be read: the forge's page of the file at the docpack's
/// commit, when the docpack names a GitHub or GitLab repository and a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLinks {
    base: Option<String>,
}

impl SourceLinks {
    /// The links of `source`'s forge at its commit, if it has both.
    pub fn of(source: &SourceInfo) -> Self {
        let url = source.repo_url.trim_end_matches('/');
        let url = url.strip_suffix(".git").unwrap_or(url);
        let base = source.commit_hash.as_deref().and_then(|commit| {
            if url.starts_with("https://github.com/") {
                Some(format!("{url}/blob/{commit}/"))
            } else if url.starts_with("https://gitlab.com/") {
                Some(format!("{url}/-/blob/{commit}/"))
            } else {
                None
            }
        });
        Self { base }
    }

    /// The forge's address of `path` (at `lines`), if the source has a forge.
    pub(crate) fn link(&self, path: &str, lines: Option<(usize, usize)>) -> Option<String> {
        let base = self.base.as_ref()?;
        let encoded: String = path
            .split('/')
            .map(|segment| {
                segment
                    .bytes()
                    .map(|byte| match byte {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                            char::from(byte).to_string()
                        }
                        _ => format!("%{byte:02X}"),
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("/");
        Some(match lines {
            Some((start, end)) => format!("{base}{encoded}#L{start}-L{end}"),
            None => format!("{base}{encoded}"),
        })
    }
}

/// The page of the module that holds each file, by path: where a link to a file's lines goes
/// when there is no forge to link to.
pub(crate) fn home_pages(pages: &[Page]) -> HashMap<&str, &str> {
    let mut home_of_file: HashMap<&str, &str> = HashMap::new();
    for page in pages.iter().filter(|page| page.id.starts_with("module/")) {
        for file in &page.files {
            home_of_file
                .entry(file.as_str())
                .or_insert(page.id.as_str());
        }
    }
    home_of_file
}

/// The file a page is written to: `index.md`, `modules/<module id>.md` (`modules/@root.md`
/// for the root folder's module), `topics/<cluster id>.md`.
pub fn page_file(page_id: &str) -> String {
    page_path(page_id, "md")
}

/// [`page_file`] with another extension (`html`).
pub(crate) fn page_path(page_id: &str, extension: &str) -> String {
    if page_id == OVERVIEW {
        return format!("index.{extension}");
    }
    match page_id.split_once('/') {
        Some(("module", ".")) => format!("modules/@root.{extension}"),
        Some(("module", module)) => format!("modules/{module}.{extension}"),
        Some(("topic", topic)) => format!("topics/{topic}.{extension}"),
        _ => format!("pages/{page_id}.{extension}"),
    }
}

/// The pages as markdown files, their links made relative to each other and to the source.
/// A symbol or source line links to the forge when `links` has one, else to the page of the
/// module that holds it.
pub fn markdown_folder(pages: &[Page], nodes: &[Node], links: &SourceLinks) -> Vec<ExportedFile> {
    linked_markdown(pages, nodes, links, "md")
}

/// The pages' markdown with their `doctown:` links rewritten as [`markdown_folder`] says, each
/// at its path with `extension`, linking to the others' paths with that extension.
pub(crate) fn linked_markdown(
    pages: &[Page],
    nodes: &[Node],
    links: &SourceLinks,
    extension: &str,
) -> Vec<ExportedFile> {
    let nodes_by_id: HashMap<SymbolId, &Node> = nodes.iter().map(|node| (node.id, node)).collect();
    let home_of_file = home_pages(pages);
    pages
        .iter()
        .map(|page| {
            let path = page_path(&page.id, extension);
            let target = |uri: &str| -> String {
                let to_page = |id: &str| relative(&path, &page_path(id, extension));
                if let Some(id) = uri.strip_prefix("doctown:page/") {
                    return to_page(&decode(id));
                }
                if let Some(id) = uri.strip_prefix("doctown:symbol/") {
                    let node = id
                        .parse::<SymbolId>()
                        .ok()
                        .and_then(|id| nodes_by_id.get(&id));
                    return match node {
                        Some(node) => links
                            .link(
                                &node.path,
                                Some((node.line_range.start(), node.line_range.end())),
                            )
                            .or_else(|| home_of_file.get(node.path.as_str()).map(|id| to_page(id)))
                            .unwrap_or_else(|| to_page(OVERVIEW)),
                        None => to_page(OVERVIEW),
                    };
                }
                if let Some(rest) = uri.strip_prefix("doctown:source/") {
                    let (file, lines) = rest.split_once("#L").unwrap_or((rest, ""));
                    let file = decode(file);
                    let lines = lines
                        .split_once("-L")
                        .and_then(|(start, end)| Some((start.parse().ok()?, end.parse().ok()?)));
                    return links
                        .link(&file, lines)
                        .or_else(|| home_of_file.get(file.as_str()).map(|id| to_page(id)))
                        .unwrap_or_else(|| to_page(OVERVIEW));
                }
                uri.to_owned()
            };
            ExportedFile {
                text: rewrite_links(&page.body, target),
                path,
            }
        })
        .collect()
}

/// `body` with every `](doctown:…)` link destination replaced by `target` of it.
fn rewrite_links(body: &str, target: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find("](doctown:") {
        out.push_str(&rest[..at + 2]);
        let link = &rest[at + 2..];
        let end = link.find(')').unwrap_or(link.len());
        out.push_str(&target(&link[..end]));
        rest = &link[end..];
    }
    out.push_str(rest);
    out
}

/// `%XX` sequences decoded (the characters [`crate::markdown`] encodes in URIs).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%'
            && let Some(byte) = text
                .get(at + 1..at + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            at += 3;
            continue;
        }
        out.push(bytes[at]);
        at += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The link from the file `from` to the file `to`, both relative to the folder's root, with
/// the characters a link destination cannot hold percent-encoded.
pub(crate) fn relative(from: &str, to: &str) -> String {
    let from_folders: Vec<&str> = from.split('/').collect();
    let from_folders = &from_folders[..from_folders.len() - 1];
    let to_parts: Vec<&str> = to.split('/').collect();
    let shared = from_folders
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = vec!["..".to_owned(); from_folders.len() - shared];
    parts.extend(to_parts[shared..].iter().map(|part| {
        part.replace('%', "%25")
            .replace(' ', "%20")
            .replace('(', "%28")
            .replace(')', "%29")
            .replace('#', "%23")
            .replace('?', "%3F")
    }));
    parts.join("/")
}

/// The sections of a page (its `##` headings, as text), for outlines.
pub fn outline(page: &Page) -> Vec<String> {
    page.body
        .lines()
        .filter(|line| line.starts_with("## "))
        .map(|line| line.trim_start_matches("## ").replace('\\', ""))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_between_files_are_relative_and_encoded() {
        assert_eq!(relative("index.md", "modules/src/a.md"), "modules/src/a.md");
        assert_eq!(
            relative("modules/src/a/b.md", "modules/src/c.md"),
            "../c.md"
        );
        assert_eq!(relative("modules/x.md", "index.md"), "../index.md");
        assert_eq!(
            relative("index.md", "modules/my dir.md"),
            "modules/my%20dir.md"
        );
        assert_eq!(page_file("module/."), "modules/@root.md");
        assert_eq!(decode("a%20b%28c%29"), "a b(c)");
    }

    #[test]
    fn source_links_go_to_the_forge_at_the_commit() {
        let github = SourceLinks::of(&SourceInfo {
            commit_hash: Some("abc".into()),
            git_ref: None,
            repo_url: "https://github.com/o/r".into(),
        });
        assert_eq!(
            github.link("src/a b.rs", Some((3, 4))).as_deref(),
            Some("https://github.com/o/r/blob/abc/src/a%20b.rs#L3-L4")
        );
        let local = SourceLinks::of(&SourceInfo {
            commit_hash: None,
            git_ref: None,
            repo_url: "/home/me/repo".into(),
        });
        assert_eq!(local.link("src/a.rs", None), None);
        assert_eq!(
            rewrite_links("see [`a`](doctown:page/x) and [b](https://x)", |_| "T"
                .into()),
            "see [`a`](T) and [b](https://x)"
        );
    }
}
