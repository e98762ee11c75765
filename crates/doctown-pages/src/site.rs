//! The repository indexed for writing pages: its modules and what belongs to each, how the
//! modules depend on each other, and what each one says of itself.

use std::collections::{BTreeMap, HashMap, HashSet};

use doctown_common::{EntryPoint, FileAnalysis, LineRange, SymbolId, SymbolKind, Visibility};
use doctown_docpack::{EdgeKind, Node};
use doctown_intel::{Module, modules};

use crate::Repository;
use crate::markdown::PageWriter;
use crate::text::{first_sentence, is_readme, readme_paragraph};

/// What a module says of itself, and where it says it.
#[derive(Debug, Clone)]
pub(crate) enum Description {
    /// A paragraph of its README.
    Readme {
        path: String,
        lines: LineRange,
        text: String,
    },
    /// Its doc comment or docstring, in the file that holds it.
    Doc { path: String, text: String },
    /// Nothing written: its most central public symbols stand for it.
    Symbols(Vec<usize>),
    /// Nothing at all to say.
    Nothing,
}

/// The repository, indexed.
pub(crate) struct Site<'a> {
    /// What the pages are made from.
    pub(crate) repository: &'a Repository<'a>,
    /// The modules, sorted by id.
    pub(crate) modules: Vec<Module>,
    /// Each module's index, by id.
    module_index: HashMap<String, usize>,
    /// Each code file's module.
    module_of_file: HashMap<&'a str, usize>,
    /// Each module's children, sorted by id.
    pub(crate) children: Vec<Vec<usize>>,
    /// Each module's symbols (indexes into `nodes`), most central first.
    pub(crate) symbols: Vec<Vec<usize>>,
    /// Symbols by id (indexes into `nodes`).
    pub(crate) node_of: HashMap<SymbolId, usize>,
    /// How much each module uses each other one (imports and calls), neither an ancestor of
    /// the other.
    pub(crate) dependencies: BTreeMap<(usize, usize), u64>,
    /// Calls between symbols: caller → callees (indexes into `nodes`).
    pub(crate) calls: HashMap<usize, Vec<usize>>,
    /// What each module says of itself.
    pub(crate) descriptions: Vec<Description>,
    /// The entry points, with their files, in path order.
    pub(crate) entry_points: Vec<(&'a FileAnalysis, &'a EntryPoint)>,
    /// Each code file's analysis, by path.
    analyses: HashMap<&'a str, &'a FileAnalysis>,
    /// The symbols some symbol calls.
    pub(crate) called: HashSet<usize>,
    /// How many members each symbol has.
    pub(crate) members: HashMap<SymbolId, usize>,
    /// Each module's dependencies and dependents, heaviest first.
    pub(crate) uses: Vec<Vec<(usize, u64)>>,
    pub(crate) used_by: Vec<Vec<(usize, u64)>>,
    /// Each cluster's symbols, most central first.
    pub(crate) topics: BTreeMap<u32, Vec<usize>>,
}

impl<'a> Site<'a> {
    pub(crate) fn new(repository: &'a Repository<'a>) -> Self {
        let modules = modules(
            repository
                .analyses
                .iter()
                .map(|analysis| (analysis.path.as_str(), analysis.language)),
            repository.source_map.iter().map(|file| file.path.as_str()),
        );
        let module_index: HashMap<String, usize> = modules
            .iter()
            .enumerate()
            .map(|(index, module)| (module.id.clone(), index))
            .collect();
        let analyses: HashMap<&str, &FileAnalysis> = repository
            .analyses
            .iter()
            .map(|analysis| (analysis.path.as_str(), analysis))
            .collect();
        let mut module_of_file = HashMap::new();
        let mut children = vec![Vec::new(); modules.len()];
        for (index, module) in modules.iter().enumerate() {
            for file in &module.files {
                if let Some(analysis) = analyses.get(file.as_str()) {
                    module_of_file.insert(analysis.path.as_str(), index);
                }
            }
            if let Some(parent) = module.parent.as_ref().and_then(|p| module_index.get(p)) {
                children[*parent].push(index);
            }
        }
        let node_of: HashMap<SymbolId, usize> = repository
            .nodes
            .iter()
            .enumerate()
            .map(|(index, node)| (node.id, index))
            .collect();
        let mut symbols = vec![Vec::new(); modules.len()];
        for (index, node) in repository.nodes.iter().enumerate() {
            if let Some(&module) = module_of_file.get(node.path.as_str()) {
                symbols[module].push(index);
            }
        }
        let mut topics: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
        let mut members: HashMap<SymbolId, usize> = HashMap::new();
        for (index, node) in repository.nodes.iter().enumerate() {
            if let Some(cluster) = node.cluster_id {
                topics.entry(cluster).or_default().push(index);
            }
            if let Some(parent) = node.parent {
                *members.entry(parent).or_default() += 1;
            }
        }
        for list in symbols.iter_mut().chain(topics.values_mut()) {
            list.sort_by(|&a, &b| by_centrality(&repository.nodes[a], &repository.nodes[b]));
        }
        let mut site = Site {
            repository,
            modules,
            module_index,
            module_of_file,
            children,
            symbols,
            node_of,
            dependencies: BTreeMap::new(),
            calls: HashMap::new(),
            descriptions: Vec::new(),
            entry_points: Vec::new(),
            analyses,
            called: HashSet::new(),
            members,
            uses: Vec::new(),
            used_by: Vec::new(),
            topics,
        };
        site.link();
        site.descriptions = (0..site.modules.len())
            .map(|index| site.describe(index))
            .collect();
        site.entry_points = repository
            .analyses
            .iter()
            .flat_map(|analysis| analysis.entry_points.iter().map(move |e| (analysis, e)))
            .collect();
        // What users run before what tests and benchmarks run.
        site.entry_points.sort_by_key(|(file, entry)| {
            (is_auxiliary(&file.path), file.path.as_str(), entry.line)
        });
        site
    }

    /// The module dependencies and the call lists, from the graph's `imports` and `calls`
    /// edges.
    fn link(&mut self) {
        let graph = self.repository.graph;
        // A package node of the repository contains its files: it stands for their module.
        let mut module_of_node: HashMap<&str, usize> = HashMap::new();
        for edge in &graph.edges {
            if edge.kind == EdgeKind::Contains
                && edge.source.starts_with("module:")
                && let Some(path) = edge.target.strip_prefix("file:")
                && let Some(&module) = self.module_of_file.get(path)
            {
                module_of_node.insert(edge.source.as_str(), module);
            }
        }
        for edge in &graph.edges {
            match edge.kind {
                EdgeKind::Imports => {
                    let from = edge
                        .source
                        .strip_prefix("file:")
                        .and_then(|path| self.module_of_file.get(path))
                        .copied();
                    let to = match edge.target.strip_prefix("file:") {
                        Some(path) => self.module_of_file.get(path).copied(),
                        None => module_of_node.get(edge.target.as_str()).copied(),
                    };
                    if let (Some(from), Some(to)) = (from, to) {
                        self.depend(from, to);
                    }
                }
                EdgeKind::Calls => {
                    let (Some(caller), Some(callee)) = (
                        self.node_by_text(&edge.source),
                        self.node_by_text(&edge.target),
                    ) else {
                        continue;
                    };
                    self.calls.entry(caller).or_default().push(callee);
                    let nodes = self.repository.nodes;
                    if let (Some(&from), Some(&to)) = (
                        self.module_of_file.get(nodes[caller].path.as_str()),
                        self.module_of_file.get(nodes[callee].path.as_str()),
                    ) {
                        self.depend(from, to);
                    }
                }
                EdgeKind::Contains | EdgeKind::Related => {}
            }
        }
        let nodes = self.repository.nodes;
        for callees in self.calls.values_mut() {
            callees.sort_by(|&a, &b| by_centrality(&nodes[a], &nodes[b]));
            callees.dedup();
        }
        self.called = self.calls.values().flatten().copied().collect();
        self.uses = vec![Vec::new(); self.modules.len()];
        self.used_by = vec![Vec::new(); self.modules.len()];
        for (&(from, to), &weight) in &self.dependencies {
            self.uses[from].push((to, weight));
            self.used_by[to].push((from, weight));
        }
        for list in self.uses.iter_mut().chain(self.used_by.iter_mut()) {
            list.sort_by_key(|&(other, weight)| (std::cmp::Reverse(weight), other));
        }
    }

    /// A code file's analysis.
    pub(crate) fn analysis(&self, path: &str) -> Option<&'a FileAnalysis> {
        self.analyses.get(path).copied()
    }

    fn depend(&mut self, from: usize, to: usize) {
        if from != to && !self.is_within(from, to) && !self.is_within(to, from) {
            *self.dependencies.entry((from, to)).or_default() += 1;
        }
    }

    /// Whether module `inner` is `outer` or nested in it.
    pub(crate) fn is_within(&self, inner: usize, outer: usize) -> bool {
        let mut current = Some(inner);
        while let Some(module) = current {
            if module == outer {
                return true;
            }
            current = self.parent(module);
        }
        false
    }

    /// The module's parent.
    pub(crate) fn parent(&self, module: usize) -> Option<usize> {
        self.modules[module]
            .parent
            .as_ref()
            .and_then(|parent| self.module_index.get(parent))
            .copied()
    }

    fn node_by_text(&self, id: &str) -> Option<usize> {
        id.parse::<SymbolId>()
            .ok()
            .and_then(|id| self.node_of.get(&id))
            .copied()
    }

    /// The module a code file belongs to.
    pub(crate) fn module_of_path(&self, path: &str) -> Option<usize> {
        self.module_of_file.get(path).copied()
    }

    /// The modules at the top of the tree.
    pub(crate) fn roots(&self) -> Vec<usize> {
        (0..self.modules.len())
            .filter(|&module| self.modules[module].parent.is_none())
            .collect()
    }

    /// The symbols of the module and of every module nested in it, most central first.
    pub(crate) fn symbols_within(&self, module: usize) -> Vec<usize> {
        let mut all = Vec::new();
        let mut stack = vec![module];
        while let Some(current) = stack.pop() {
            all.extend(&self.symbols[current]);
            stack.extend(&self.children[current]);
        }
        let nodes = self.repository.nodes;
        all.sort_by(|&a, &b| by_centrality(&nodes[a], &nodes[b]));
        all
    }

    /// What a module says of itself: its README's opening paragraph (but the root's, which is
    /// the overview's), else the doc comment of its main file, else its most central public
    /// symbols.
    fn describe(&self, module: usize) -> Description {
        let entry = &self.modules[module];
        // The root folder's README is the overview's; the root module speaks by its doc.
        if let Some(folder) = entry.folder.as_ref().filter(|folder| !folder.is_empty()) {
            let readme = self.repository.readmes.iter().find(|(path, _)| {
                is_readme(path) && path.rsplit_once('/').map_or("", |(f, _)| f) == folder
            });
            if let Some((path, text)) = readme
                && let Some((text, lines)) = readme_paragraph(text)
            {
                return Description::Readme {
                    path: path.clone(),
                    lines,
                    text,
                };
            }
        }
        let mut documented: Vec<&FileAnalysis> = entry
            .files
            .iter()
            .filter_map(|path| self.analysis(path))
            .filter(|analysis| analysis.doc.is_some())
            .collect();
        documented.sort_by_key(|analysis| (!is_main_file(&analysis.path), analysis.path.clone()));
        if let Some(analysis) = documented.first()
            && let Some(doc) = &analysis.doc
        {
            return Description::Doc {
                path: analysis.path.clone(),
                text: doc.clone(),
            };
        }
        let nodes = self.repository.nodes;
        let central: Vec<usize> = self
            .symbols_within(module)
            .into_iter()
            .filter(|&node| {
                nodes[node].visibility == Visibility::Public && nodes[node].parent.is_none()
            })
            .take(3)
            .collect();
        if central.is_empty() {
            Description::Nothing
        } else {
            Description::Symbols(central)
        }
    }

    /// The module's description in one line of markdown, citing where it comes from.
    pub(crate) fn one_line(&self, module: usize, page: &mut PageWriter) -> String {
        let nodes = self.repository.nodes;
        match &self.descriptions[module] {
            Description::Readme { path, lines, text } => {
                let sentence = first_sentence(text).unwrap_or_default();
                format!(
                    "{} ({})",
                    crate::markdown::prose(&sentence),
                    page.source(path, *lines)
                )
            }
            Description::Doc { path, text } => {
                let sentence = first_sentence(text).unwrap_or_default();
                let lines = LineRange::clamped(1, text.lines().count().max(1));
                format!(
                    "{} ({})",
                    crate::markdown::prose(&sentence),
                    page.source(path, lines)
                )
            }
            Description::Symbols(central) => {
                let links: Vec<String> = central
                    .iter()
                    .map(|&node| page.symbol_named(&nodes[node], &nodes[node].name))
                    .collect();
                format!("Defines {}.", join_words(&links))
            }
            Description::Nothing => self.size_line(module),
        }
    }

    /// `3 files, 41 symbols` (with what is nested in it).
    pub(crate) fn size_line(&self, module: usize) -> String {
        let mut files = 0;
        let mut stack = vec![module];
        while let Some(current) = stack.pop() {
            files += self.modules[current].files.len();
            stack.extend(&self.children[current]);
        }
        let symbols = self.symbols_within(module).len();
        format!("{} and {}.", count(files, "file"), count(symbols, "symbol"))
    }

    /// A module's title: its name (the repository's name for a root folder named `.`).
    pub(crate) fn title(&self, module: usize) -> String {
        let entry = &self.modules[module];
        if entry.name == "." {
            format!("{} (root)", self.repository.name)
        } else {
            entry.name.clone()
        }
    }
}

/// Whether a file is there to test, measure or show the code rather than to be it: under a
/// `tests`, `benches`, `examples`, `fixtures` or `testdata` folder, or named as a test.
pub(crate) fn is_auxiliary(path: &str) -> bool {
    let mut components = path.split('/');
    let name = components.next_back().unwrap_or(path);
    components.any(|folder| {
        matches!(
            folder,
            "tests" | "test" | "benches" | "examples" | "fixtures" | "testdata" | "__tests__"
        )
    }) || name.starts_with("test_")
        || name.ends_with("_test.go")
        || name.contains(".test.")
        || name.contains(".spec.")
}

/// Whether a file is its module's main one, where a module's own documentation is written.
fn is_main_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "lib.rs" | "main.rs" | "mod.rs" | "__init__.py" | "doc.go" | "index.ts" | "index.js"
    ) || name.starts_with("index.")
}

/// More central first, then by path and position.
pub(crate) fn by_centrality(a: &Node, b: &Node) -> std::cmp::Ordering {
    b.centrality
        .total_cmp(&a.centrality)
        .then_with(|| a.path.cmp(&b.path))
        .then_with(|| a.byte_range.start().cmp(&b.byte_range.start()))
}

/// `n things`: `thing` names one, and takes an `s` for several, or, when it has the form
/// `one|many`, names one and several by its two parts.
pub(crate) fn count(n: usize, thing: &str) -> String {
    let (one, many) = match thing.split_once('|') {
        Some((one, many)) => (one.to_owned(), many.to_owned()),
        None => (thing.to_owned(), format!("{thing}s")),
    };
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// A symbol's one-line summary: its summary, else its doc comment's first sentence.
pub(crate) fn summary_of(node: &Node) -> String {
    node.summary
        .as_deref()
        .and_then(first_sentence)
        .or_else(|| node.doc.as_deref().and_then(first_sentence))
        .unwrap_or_default()
}

/// Whether a symbol is a type a reader should meet first.
pub(crate) fn is_type(kind: SymbolKind) -> bool {
    matches!(
        kind,
        SymbolKind::Struct
            | SymbolKind::Class
            | SymbolKind::Enum
            | SymbolKind::Trait
            | SymbolKind::Interface
            | SymbolKind::TypeAlias
    )
}
