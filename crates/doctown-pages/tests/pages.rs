//! The pages of small repositories made of real code in each language: what the overview and
//! module pages say, that every citation resolves, that every public symbol is reachable from
//! a page, that diagrams stay bounded, and that the same input gives the same pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use doctown_common::{FileAnalysis, Language, Visibility};
use doctown_docpack::{Cluster, Graph, Node, Page, PageKind, SourceFile};
use doctown_pages::{MAX_NODES, Repository, is_readme, pages, symbol_uri};

/// A repository's parts, made the way the pipeline makes them (extraction, call resolution,
/// the code graph), from `files` (path and text; code detected by extension).
struct Fixture {
    analyses: Vec<FileAnalysis>,
    nodes: Vec<Node>,
    graph: Graph,
    clusters: Vec<Cluster>,
    source_map: Vec<SourceFile>,
    readmes: BTreeMap<String, String>,
}

impl Fixture {
    fn new(files: &[(&str, &str)]) -> Self {
        let mut analyses: Vec<FileAnalysis> = files
            .iter()
            .filter_map(|(path, text)| {
                let language = Language::detect(std::path::Path::new(path), text.as_bytes())?;
                Some(doctown_intel::extract(path, text.as_bytes(), language))
            })
            .collect();
        doctown_intel::resolve_calls(&mut analyses);
        let graph = doctown_assembly::code_graph(&analyses, &[]);
        let nodes = Node::all_of(&analyses, &graph, |_| Some(0), |_| None);
        let source_map = files
            .iter()
            .map(|(path, text)| SourceFile {
                bytes: text.len() as u64,
                chunks: Vec::new(),
                language: Language::detect(std::path::Path::new(path), text.as_bytes()),
                path: (*path).to_owned(),
            })
            .collect();
        let readmes = files
            .iter()
            .filter(|(path, _)| is_readme(path))
            .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
            .collect();
        Fixture {
            analyses,
            nodes,
            graph,
            clusters: vec![Cluster {
                cluster_id: 0,
                label: "orders store".to_owned(),
                member_count: 0,
                member_ids: Vec::new(),
                representative_ids: Vec::new(),
            }],
            source_map,
            readmes,
        }
    }

    fn pages(&self) -> Vec<Page> {
        pages(&Repository {
            name: "shop",
            analyses: &self.analyses,
            nodes: &self.nodes,
            graph: &self.graph,
            clusters: &self.clusters,
            source_map: &self.source_map,
            readmes: &self.readmes,
            prose: &BTreeMap::new(),
        })
    }
}

fn shop() -> Fixture {
    Fixture::new(&[
        (
            "README.md",
            "# shop\n\n[![ci](https://ci/badge.svg)](https://ci)\n\nShop sells things online.\nIt keeps orders in a store.\n\n## Use\n\nRun it.\n",
        ),
        ("Cargo.toml", "[package]\nname = \"shop\"\n"),
        (
            "src/main.rs",
            "//! The shop's server.\nmod store;\nuse store::Store;\n\nfn main() {\n    let store = Store::open();\n    serve(store);\n}\n\nfn serve(store: Store) {\n    store.close();\n}\n",
        ),
        (
            "src/store.rs",
            "//! Where orders are kept.\n\n/// An open store of orders.\npub struct Store;\n\nimpl Store {\n    /// Opens the store.\n    pub fn open() -> Store {\n        Store\n    }\n\n    /// Closes it.\n    pub fn close(&self) {}\n}\n",
        ),
        (
            "web/app.ts",
            "import express from \"express\";\nconst app = express();\napp.get(\"/orders\", listOrders);\n\n/** Lists the orders. */\nexport function listOrders(req: unknown, res: unknown) {}\n",
        ),
        (
            "tools/report.py",
            "\"\"\"Reports on the orders.\"\"\"\n\n\ndef main():\n    print(summary())\n\n\ndef summary():\n    return 1\n\n\nif __name__ == \"__main__\":\n    main()\n",
        ),
    ])
}

fn page<'p>(pages: &'p [Page], id: &str) -> &'p Page {
    pages
        .iter()
        .find(|page| page.id == id)
        .unwrap_or_else(|| panic!("no page {id}"))
}

#[test]
fn the_overview_says_what_the_repository_is_how_it_is_laid_out_and_where_it_starts() {
    let pages = shop().pages();
    let ids: Vec<&str> = pages.iter().map(|page| page.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "overview",
            "module/.",
            "module/src/store",
            "module/tools",
            "module/tools/report",
            "module/web",
            "topic/0"
        ]
    );
    let overview = page(&pages, "overview");
    assert_eq!(overview.kind, PageKind::Overview);
    assert_eq!(overview.parent, None);
    let body = &overview.body;
    assert!(body.starts_with("# shop\n\nShop sells things online. It keeps orders in a store. ([`README.md:5`](doctown:source/README.md#L5-L6))"), "{body}");
    for expected in [
        "## At a glance",
        "| Rust | 2 |",
        "## Layout",
        "- [shop (root)](doctown:page/module/.) (crate): The shop's server.",
        "- [tools](doctown:page/module/tools) (directory):",
        "### Programs",
        "### HTTP routes",
        "`GET /orders`",
        "`listOrders`",
        "## Where execution goes first",
        "```mermaid\nflowchart LR\n",
        "## Topics",
        "[orders store](doctown:page/topic/0)",
    ] {
        assert!(
            body.contains(expected),
            "the overview lacks {expected:?}:\n{body}"
        );
    }
}

#[test]
fn a_module_page_gives_its_description_api_dependencies_and_calls() {
    let pages = shop().pages();
    let store = page(&pages, "module/src/store");
    assert_eq!(store.title, "crate::store");
    assert_eq!(store.parent.as_deref(), Some("module/."));
    assert_eq!(store.files, ["src/store.rs"]);
    let body = &store.body;
    for expected in [
        "Rust module · 1 file and 4 symbols · in [shop (root)](doctown:page/module/.).",
        "Where orders are kept. ([`src/store.rs:1`]",
        "## Public API",
        "| [`Store`](doctown:symbol/",
        "| `pub fn open() -> Store` | Opens the store. |",
    ] {
        assert!(
            body.contains(expected),
            "the store's page lacks {expected:?}:\n{body}"
        );
    }
    let root = page(&pages, "module/.");
    assert!(root.body.contains("## Inside"), "{}", root.body);
    assert!(root.body.contains("## Depends on") || root.body.contains("## Inside"));
}

#[test]
fn every_citation_resolves_and_every_public_symbol_is_reachable() {
    let fixture = shop();
    let pages = fixture.pages();
    let symbols: HashSet<_> = fixture.nodes.iter().map(|node| node.id).collect();
    let paths: HashSet<&str> = fixture
        .source_map
        .iter()
        .map(|file| file.path.as_str())
        .collect();
    let page_ids: HashSet<&str> = pages.iter().map(|page| page.id.as_str()).collect();
    for page in &pages {
        for citation in &page.citations {
            assert!(paths.contains(citation.path.as_str()), "{citation:?}");
            if let Some(symbol) = citation.symbol_id {
                assert!(symbols.contains(&symbol), "{citation:?}");
            }
        }
        if let Some(parent) = &page.parent {
            assert!(
                page_ids.contains(parent.as_str()),
                "{} under {parent}",
                page.id
            );
        }
        for link in page.body.split("(doctown:page/").skip(1) {
            let target = link.split(')').next().unwrap();
            assert!(page_ids.contains(target), "{} links {target}", page.id);
        }
    }
    let linked: String = pages.iter().map(|page| page.body.as_str()).collect();
    for node in fixture
        .nodes
        .iter()
        .filter(|node| node.visibility == Visibility::Public)
    {
        assert!(
            linked.contains(&symbol_uri(node.id)),
            "public symbol {} is on no page",
            node.qualified_name
        );
    }
}

#[test]
fn the_same_repository_gives_the_same_pages() {
    assert_eq!(shop().pages(), shop().pages());
}

#[test]
fn the_dependency_diagram_stays_readable_on_a_wide_repository() {
    let mut files: Vec<(String, String)> = vec![(
        "core/core.go".to_owned(),
        "package core\n\n// Run runs.\nfunc Run() {}\n".to_owned(),
    )];
    for i in 0..40 {
        files.push((
            format!("pkg{i:02}/p.go"),
            format!(
                "package pkg{i:02}\n\nimport \"example.com/m/core\"\n\n// Use uses core.\nfunc Use() {{ core.Run() }}\n"
            ),
        ));
    }
    let borrowed: Vec<(&str, &str)> = files
        .iter()
        .map(|(path, text)| (path.as_str(), text.as_str()))
        .collect();
    let pages = Fixture::new(&borrowed).pages();
    let overview = &page(&pages, "overview").body;
    let diagram = overview
        .split("```mermaid\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the overview draws the modules' dependencies");
    let nodes = diagram.lines().filter(|line| line.contains("[\"")).count();
    assert_eq!(nodes, MAX_NODES);
    assert!(
        overview.contains("Left out to keep the diagram readable: 17 modules"),
        "{overview}"
    );
    assert_eq!(pages.len(), 1 + 41 + 1);
}

#[test]
fn a_very_wide_module_lists_its_api_beyond_the_table_by_name() {
    let mut source = String::from("package wide\n");
    for i in 0..200 {
        source.push_str(&format!("\n// F{i:03} does {i}.\nfunc F{i:03}() {{}}\n"));
    }
    let pages = Fixture::new(&[("wide/wide.go", &source)]).pages();
    let body = &page(&pages, "module/wide").body;
    let table_rows = body
        .lines()
        .filter(|line| line.starts_with("| [`F"))
        .count();
    assert_eq!(table_rows, 150);
    assert!(
        body.contains("The other 50 public symbols, by name: [`F"),
        "{body}"
    );
    // Still every one a link away.
    for i in 0..200 {
        assert!(
            body.contains(&format!("[`F{i:03}`](doctown:symbol/")),
            "F{i:03}"
        );
    }
}

/// Every diagram of `pages`, in page order.
fn diagrams(pages: &[Page]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|page| page.body.split("```mermaid\n").skip(1))
        .map(|rest| rest.split("\n```").next().unwrap_or_default().to_owned())
        .collect()
}

/// The diagrams of the fixtures, names that mermaid could misread among them (its keywords,
/// quotes, brackets, `#`, `$`, generics, letters beyond ASCII, spaces in paths), kept as a
/// snapshot beside the website's tests, which check that mermaid's own parser reads each one
/// (`website/src/lib/pages.test.ts`).
#[test]
fn diagrams_for_mermaids_own_parser() {
    let awkward = Fixture::new(&[
        ("Cargo.toml", "[package]\nname = \"awkward\"\n"),
        (
            "src/lib.rs",
            "//! Names mermaid could misread.\npub mod graph;\npub mod end;\n\n/// Matches.\npub fn r#match() {\n    graph::subgraph::<u8>();\n    end::classDef();\n}\n",
        ),
        (
            "src/graph.rs",
            "/// A \"subgraph\" <T> & co.\npub fn subgraph<T>() {\n    crate::end::classDef();\n}\n",
        ),
        (
            "src/end.rs",
            "#[allow(non_snake_case)]\npub fn classDef() {}\n",
        ),
        (
            "say \"hi\" <b>&amp; `x`/graph.go",
            "package graph\n\n// End ends.\nfunc End() {}\n",
        ),
        (
            "web/$store/index.ts",
            "export function $get(): Map<string, number> {\n  return run();\n}\nfunction run(): Map<string, number> {\n  return new Map();\n}\n",
        ),
        (
            "naïve tools/#1 [x]/run.py",
            "def naïve():\n    return end()\n\n\ndef end():\n    return 1\n\n\nif __name__ == \"__main__\":\n    naïve()\n",
        ),
    ]);
    let mut all = diagrams(&shop().pages());
    all.extend(diagrams(&awkward.pages()));
    assert!(all.len() >= 6, "{all:#?}");
    insta::with_settings!({
        snapshot_path => "../../../website/src/lib/testdata",
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_json_snapshot!("diagrams", all);
    });
}
