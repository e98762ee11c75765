//! Doctown's pages, pure: from what the stages found (files' analyses, symbols with their
//! summaries, the code graph, clusters, the source map and the repository's READMEs) to the
//! documentation a newcomer reads first: the repository's overview, one page per module (as its
//! language defines modules, nested as they nest) and one per topic (a cluster of related
//! code). Every page links the symbols and lines it rests on and lists them as citations;
//! diagrams are mermaid flowcharts made from the graph, bounded in size; nothing here asks a
//! model, so the pages are whole without one. With one, a paragraph of its prose joins each
//! page it wrote for ([`prose_tasks`] says what it is told), its names checked against the
//! code.
//!
//! [`pages`] makes them all; the bodies use the `doctown:` links of the docpack spec, which
//! exports and the website turn into links of their own ([`markdown_folder`] does it for a
//! folder of markdown files, [`html_site`] for a static site).

mod export;
mod html;
mod markdown;
mod mermaid;
mod module;
mod overview;
mod prose;
mod site;
mod text;
mod topic;

use std::collections::BTreeMap;

use doctown_common::FileAnalysis;
use doctown_docpack::{Cluster, Graph, Node, Page, SourceFile};

pub use export::{ExportedFile, SourceLinks, markdown_folder, outline, page_file};
pub use html::{MERMAID_SCRIPT, html_site};
pub use markdown::{page_uri, source_uri, symbol_uri};
pub use mermaid::MAX_NODES;
pub use prose::{Grounding, grounding, prose_tasks};
pub use text::{first_sentence, is_readme};

/// What the pages are made from.
#[derive(Debug, Clone, Copy)]
pub struct Repository<'a> {
    /// The repository's name, the overview's title.
    pub name: &'a str,
    /// Every code file's analysis (symbols, imports, entry points, its own doc).
    pub analyses: &'a [FileAnalysis],
    /// Every symbol, with its centrality, cluster and summary.
    pub nodes: &'a [Node],
    /// The code graph.
    pub graph: &'a Graph,
    /// The clusters, each a topic.
    pub clusters: &'a [Cluster],
    /// Every file read, code or not.
    pub source_map: &'a [SourceFile],
    /// The text of each README read ([`is_readme`]), by path.
    pub readmes: &'a BTreeMap<String, String>,
    /// Prose a model wrote for pages ([`prose_tasks`] said what about), by page id; empty
    /// when none did. Each page shows its own, grounded ([`grounding`]).
    pub prose: &'a BTreeMap<String, String>,
}

/// The pages of `repository`: the overview, then one page per module, then one per topic.
pub fn pages(repository: &Repository<'_>) -> Vec<Page> {
    let site = site::Site::new(repository);
    let mut pages = vec![overview::page(&site)];
    pages.extend((0..site.modules.len()).map(|index| module::page(&site, index)));
    pages.extend(
        repository
            .clusters
            .iter()
            .filter_map(|cluster| topic::page(&site, cluster)),
    );
    pages
}

/// The id of the overview page.
pub const OVERVIEW: &str = "overview";

/// The id of a module's page.
pub fn module_page_id(module_id: &str) -> String {
    format!("module/{module_id}")
}

/// The id of a topic's page.
pub fn topic_page_id(cluster_id: u32) -> String {
    format!("topic/{cluster_id}")
}
