//! Prose a model writes for pages: what each page asks the model about ([`prose_tasks`],
//! bottom-up: a module's children before the module, the overview last), and what the model
//! wrote put back on its page, grounded: every name it puts in code must be a symbol, a module
//! or a file of the repository. A name that is becomes a link (and a citation); one that is not
//! loses its code formatting, so the page never presents an invented name as code, and is
//! counted ([`grounding`]).

use std::collections::HashMap;

use doctown_common::Visibility;
use doctown_contracts::generate::{ProseFact, ProseTask};
use doctown_docpack::PageKind;

use crate::markdown::{PageWriter, plain, prose};
use crate::site::{Site, by_centrality};
use crate::{OVERVIEW, Repository, module_page_id};

/// The public symbols a module's task lists at most (the most central first).
const MODULE_API: usize = 60;
/// The public symbols the overview's task lists at most.
const OVERVIEW_API: usize = 25;
/// The characters of a README a task carries at most.
const README_CHARS: usize = 12_000;

/// What a model is asked to write for each page with prose: every module page, its children
/// first, then the overview.
pub fn prose_tasks(repository: &Repository<'_>) -> Vec<ProseTask> {
    let site = Site::new(repository);
    let depth = |mut module: usize| {
        let mut depth = 0;
        while let Some(parent) = site.parent(module) {
            depth += 1;
            module = parent;
        }
        depth
    };
    let mut order: Vec<usize> = (0..site.modules.len()).collect();
    order.sort_by_key(|&module| std::cmp::Reverse(depth(module)));
    let mut tasks: Vec<ProseTask> = order
        .into_iter()
        .map(|module| module_task(&site, module))
        .collect();
    tasks.push(overview_task(&site));
    tasks
}

/// A symbol as a fact: `kind \`name\`: signature`, its summary to be added.
fn symbol_fact(site: &Site<'_>, node: usize) -> ProseFact {
    let node = &site.repository.nodes[node];
    ProseFact {
        text: format!(
            "{} `{}`: {}",
            node.kind, node.qualified_name, node.signature
        ),
        symbol: Some(node.id),
    }
}

/// The public symbols among `nodes` as facts, the `limit` most central.
fn api_facts(site: &Site<'_>, nodes: impl Iterator<Item = usize>, limit: usize) -> Vec<ProseFact> {
    let all = site.repository.nodes;
    let mut public: Vec<usize> = nodes
        .filter(|&node| all[node].visibility == Visibility::Public)
        .collect();
    public.sort_by(|&a, &b| by_centrality(&all[a], &all[b]));
    public
        .into_iter()
        .take(limit)
        .map(|node| symbol_fact(site, node))
        .collect()
}

fn fact(text: String) -> ProseFact {
    ProseFact { text, symbol: None }
}

/// The entry points in `files` as facts.
fn entry_facts(site: &Site<'_>, files: Option<&[String]>) -> Vec<ProseFact> {
    site.entry_points
        .iter()
        .filter(|(file, _)| files.is_none_or(|files| files.binary_search(&file.path).is_ok()))
        .map(|(file, entry)| {
            let kind = format!("{:?}", entry.kind).to_lowercase();
            let handler = entry
                .handler
                .as_deref()
                .map(|handler| format!(", handled by `{handler}`"))
                .unwrap_or_default();
            fact(format!(
                "entry point ({kind}) `{}` in `{}`{handler}",
                entry.name, file.path
            ))
        })
        .collect()
}

fn module_task(site: &Site<'_>, module: usize) -> ProseTask {
    let entry = &site.modules[module];
    let mut facts = vec![fact(format!(
        "{} {} `{}`: {}",
        entry.language.display_name(),
        entry.kind.word(),
        site.title(module),
        site.size_line(module)
    ))];
    let (doc, readme) = match &site.descriptions[module] {
        crate::site::Description::Readme { text, .. } => (None, Some(text.clone())),
        crate::site::Description::Doc { text, .. } => (Some(text.clone()), None),
        _ => (None, None),
    };
    if let Some(doc) = doc {
        facts.push(fact(format!(
            "its doc comment: {}",
            doc.split_whitespace().collect::<Vec<_>>().join(" ")
        )));
    }
    facts.extend(entry_facts(site, Some(&entry.files)));
    facts.extend(api_facts(
        site,
        site.symbols[module].iter().copied(),
        MODULE_API,
    ));
    let named = |list: &[(usize, u64)]| -> Vec<String> {
        list.iter()
            .map(|&(other, _)| format!("`{}`", site.title(other)))
            .collect()
    };
    if !site.uses[module].is_empty() {
        facts.push(fact(format!(
            "it uses {}",
            named(&site.uses[module]).join(", ")
        )));
    }
    if !site.used_by[module].is_empty() {
        facts.push(fact(format!(
            "it is used by {}",
            named(&site.used_by[module]).join(", ")
        )));
    }
    ProseTask {
        page_id: module_page_id(&entry.id),
        title: site.title(module),
        kind: PageKind::Module,
        repository: site.repository.name.to_owned(),
        facts,
        children: site.children[module]
            .iter()
            .map(|&child| module_page_id(&site.modules[child].id))
            .collect(),
        readme: readme.map(|text| text.chars().take(README_CHARS).collect()),
    }
}

fn overview_task(site: &Site<'_>) -> ProseTask {
    let repository = site.repository;
    let nodes = repository.nodes;
    let mut languages: HashMap<&str, usize> = HashMap::new();
    for file in repository.analyses {
        *languages.entry(file.language.display_name()).or_default() += 1;
    }
    let mut languages: Vec<(&str, usize)> = languages.into_iter().collect();
    languages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut facts = vec![fact(format!(
        "{} code files ({}), {} symbols in {} modules",
        repository.analyses.len(),
        languages
            .iter()
            .map(|(language, files)| format!("{language} {files}"))
            .collect::<Vec<_>>()
            .join(", "),
        nodes.len(),
        site.modules.len()
    ))];
    facts.extend(entry_facts(site, None));
    facts.extend(api_facts(site, 0..nodes.len(), OVERVIEW_API));
    let readme = repository
        .readmes
        .iter()
        .find(|(path, _)| !path.contains('/'))
        .map(|(_, text)| text.chars().take(README_CHARS).collect());
    ProseTask {
        page_id: OVERVIEW.to_owned(),
        title: repository.name.to_owned(),
        kind: PageKind::Overview,
        repository: repository.name.to_owned(),
        facts,
        children: site
            .roots()
            .into_iter()
            .map(|module| module_page_id(&site.modules[module].id))
            .collect(),
        readme,
    }
}

/// How grounded the prose of the pages is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grounding {
    /// Pages with prose.
    pub pages: usize,
    /// Names the prose put in code.
    pub identifiers: usize,
    /// Of them, those that are a symbol, module or file of the repository.
    pub resolved: usize,
}

/// The grounding of the prose `repository` holds, as its pages show it.
pub fn grounding(repository: &Repository<'_>) -> Grounding {
    let site = Site::new(repository);
    let mut total = Grounding::default();
    for text in repository.prose.values() {
        let mut page = PageWriter::default();
        let (_, identifiers, resolved) = ground(&site, text, &mut page);
        total.pages += 1;
        total.identifiers += identifiers;
        total.resolved += resolved;
    }
    total
}

/// The prose of `page_id`, grounded, as a paragraph of `page`.
pub(crate) fn write_prose(site: &Site<'_>, page_id: &str, page: &mut PageWriter) {
    if let Some(text) = site.repository.prose.get(page_id) {
        let (markdown, _, _) = ground(site, text, page);
        if !markdown.is_empty() {
            page.paragraph(&markdown);
        }
    }
}

/// What a name in code may be: a symbol (by name or qualified name, the most central when
/// several share it), a module (by title), a file.
enum Target {
    Symbol(usize),
    Module(usize),
    File,
}

fn resolve(site: &Site<'_>, name: &str) -> Option<Target> {
    let name = name.trim().trim_end_matches("()");
    let nodes = site.repository.nodes;
    let symbol = (0..nodes.len())
        .filter(|&node| nodes[node].name == name || nodes[node].qualified_name == name)
        .min_by(|&a, &b| by_centrality(&nodes[a], &nodes[b]));
    if let Some(node) = symbol {
        return Some(Target::Symbol(node));
    }
    if let Some(module) = (0..site.modules.len())
        .find(|&module| site.title(module) == name || site.modules[module].id == name)
    {
        return Some(Target::Module(module));
    }
    let path = name.trim_start_matches("./");
    site.repository
        .source_map
        .iter()
        .any(|file| file.path == path || file.path.starts_with(&format!("{path}/")))
        .then_some(Target::File)
}

/// `text` as one paragraph of markdown: each code span that resolves linked (symbols and
/// modules) or kept (files), each that does not made plain text; the rest as [`prose`]. Gives
/// the markdown, the code spans seen and those resolved.
fn ground(site: &Site<'_>, text: &str, page: &mut PageWriter) -> (String, usize, usize) {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(text.len() + 64);
    let (mut identifiers, mut resolved) = (0, 0);
    let mut rest = text.as_str();
    while let Some(open) = rest.find('`') {
        let Some(close) = rest[open + 1..].find('`').map(|at| open + 1 + at) else {
            break;
        };
        out.push_str(&spaced(&rest[..open]));
        let name = &rest[open + 1..close];
        identifiers += 1;
        match resolve(site, name) {
            Some(Target::Symbol(node)) => {
                resolved += 1;
                out.push_str(&page.symbol_named(&site.repository.nodes[node], name));
            }
            Some(Target::Module(module)) => {
                resolved += 1;
                let link = page.page(&module_page_id(&site.modules[module].id), name);
                out.push_str(&link);
            }
            Some(Target::File) => {
                resolved += 1;
                out.push_str(&crate::markdown::code(name));
            }
            None => out.push_str(&plain(name)),
        }
        rest = &rest[close + 1..];
    }
    out.push_str(&spaced(rest));
    (out.trim().to_owned(), identifiers, resolved)
}

/// A piece of prose between code spans as [`prose`] writes it, keeping the space at either
/// end that separates it from the code beside it.
fn spaced(text: &str) -> String {
    let mut out = String::new();
    if text.starts_with(char::is_whitespace) {
        out.push(' ');
    }
    out.push_str(&prose(text));
    if text.ends_with(char::is_whitespace) && !text.trim().is_empty() {
        out.push(' ');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use doctown_common::Language;
    use doctown_docpack::{Graph, Node, SourceFile};

    use super::*;

    fn repository_parts() -> (
        Vec<doctown_common::FileAnalysis>,
        Vec<Node>,
        Vec<SourceFile>,
    ) {
        let source = "/// Opens it.\npub fn open() {}\n";
        let analysis = doctown_intel::extract("src/lib.rs", source.as_bytes(), Language::Rust);
        let nodes = analysis
            .symbols
            .iter()
            .map(|symbol| Node::of(&analysis, symbol, 1.0, None, None))
            .collect();
        let files = vec![SourceFile {
            bytes: source.len() as u64,
            chunks: Vec::new(),
            language: Some(Language::Rust),
            path: "src/lib.rs".to_owned(),
        }];
        (vec![analysis], nodes, files)
    }

    #[test]
    fn names_that_resolve_are_linked_and_the_rest_lose_their_code() {
        let (analyses, nodes, source_map) = repository_parts();
        let readmes = BTreeMap::new();
        let prose = BTreeMap::new();
        let graph = Graph::default();
        let repository = Repository {
            name: "demo",
            analyses: &analyses,
            nodes: &nodes,
            graph: &graph,
            clusters: &[],
            source_map: &source_map,
            readmes: &readmes,
            prose: &prose,
        };
        let site = Site::new(&repository);
        let mut page = PageWriter::default();
        let (markdown, identifiers, resolved) = ground(
            &site,
            "Call `open()` from `src/lib.rs`; never `frobnicate` <b>it</b>.",
            &mut page,
        );
        assert_eq!((identifiers, resolved), (3, 2));
        assert!(
            markdown.starts_with("Call [`open()`](doctown:symbol/"),
            "{markdown}"
        );
        assert!(
            markdown.ends_with(") from `src/lib.rs`; never frobnicate \\<b>it\\</b>."),
            "{markdown}"
        );
        let (_, citations) = page.finish();
        assert_eq!(citations.len(), 1);
    }
}
