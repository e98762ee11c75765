//! The code graph of a repository: files, modules and symbols, with `contains`, `calls`,
//! `imports` and `related` edges, their degrees, PageRank centrality and density.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use doctown_common::{FileAnalysis, Language, SymbolId};
use doctown_docpack::{Edge, EdgeKind, Graph, GraphNode, GraphNodeKind};
use doctown_intel::{ImportTarget, RepoIndex};

use crate::graph::pagerank;

/// The graph node id of a file.
pub fn file_node(path: &str) -> String {
    format!("file:{path}")
}

/// The graph node id of a module that is not a file of the repository: a package that is a
/// folder of it (by the folder's path), or a dependency (by the name imported).
pub fn module_node(module: &str) -> String {
    format!("module:{module}")
}

/// The graph of `files` (calls resolved with `doctown_intel::resolve_calls` become `calls`
/// edges; imports lead where `doctown_intel::RepoIndex` resolves them: to a file, or to a
/// package's module node, which contains the package's files), plus `related` pairs of symbols with their similarity. Nodes are sorted by id and
/// edges by source, target and kind; the same input gives the same graph.
pub fn code_graph(files: &[FileAnalysis], related: &[(SymbolId, SymbolId, f32)]) -> Graph {
    let index = RepoIndex::new(files.iter().map(|f| f.path.as_str()));
    let languages: HashMap<&str, Language> = files
        .iter()
        .map(|f| (f.path.as_str(), f.language))
        .collect();
    let mut nodes: BTreeMap<String, (GraphNodeKind, String)> = BTreeMap::new();
    let mut edges: BTreeSet<(String, String, EdgeKind)> = BTreeSet::new();
    let mut symbols: HashSet<SymbolId> = HashSet::new();
    for file in files {
        let file_id = file_node(&file.path);
        nodes.insert(file_id.clone(), (GraphNodeKind::File, file.path.clone()));
        for symbol in &file.symbols {
            symbols.insert(symbol.id);
            nodes.insert(
                symbol.id.to_string(),
                (GraphNodeKind::Symbol, symbol.qualified_name.clone()),
            );
            let container = symbol
                .parent
                .map_or_else(|| file_id.clone(), |p| p.to_string());
            edges.insert((container, symbol.id.to_string(), EdgeKind::Contains));
            for target in symbol.calls.iter().filter_map(|c| c.target) {
                if target != symbol.id {
                    edges.insert((symbol.id.to_string(), target.to_string(), EdgeKind::Calls));
                }
            }
        }
        for import in &file.imports {
            let target = match index.resolve(file, import) {
                Some(ImportTarget::File(path)) if path == file.path => continue,
                Some(ImportTarget::File(path)) => file_node(path),
                Some(ImportTarget::Package(folder)) => {
                    let id = module_node(folder);
                    if !nodes.contains_key(&id) {
                        nodes.insert(id.clone(), (GraphNodeKind::Module, folder.to_owned()));
                        let language = file.language;
                        for member in index.files_in(folder) {
                            if languages.get(member) == Some(&language) {
                                edges.insert((id.clone(), file_node(member), EdgeKind::Contains));
                            }
                        }
                    }
                    id
                }
                None => {
                    let id = module_node(&import.module);
                    nodes
                        .entry(id.clone())
                        .or_insert((GraphNodeKind::Module, import.module.clone()));
                    id
                }
            };
            edges.insert((file_id.clone(), target, EdgeKind::Imports));
        }
    }
    let mut scores = BTreeMap::new();
    for &(a, b, score) in related {
        if a != b && symbols.contains(&a) && symbols.contains(&b) {
            let (a, b) = if a < b { (a, b) } else { (b, a) };
            let key = (a.to_string(), b.to_string(), EdgeKind::Related);
            edges.insert(key.clone());
            scores.insert(key, score);
        }
    }

    let index: BTreeMap<&str, usize> = nodes
        .keys()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut in_degree = vec![0u32; nodes.len()];
    let mut out_degree = vec![0u32; nodes.len()];
    let mut links = Vec::with_capacity(edges.len());
    for (source, target, _) in &edges {
        let (s, t) = (index[source.as_str()], index[target.as_str()]);
        out_degree[s] += 1;
        in_degree[t] += 1;
        links.push((s, t));
    }
    let centrality = pagerank(nodes.len(), &links);
    let count = nodes.len() as f64;
    Graph {
        density: if nodes.len() < 2 {
            0.0
        } else {
            edges.len() as f64 / (count * (count - 1.0))
        },
        edges: edges
            .iter()
            .map(|key| Edge {
                kind: key.2,
                score: scores.get(key).map(|s| f64::from(*s)),
                source: key.0.clone(),
                target: key.1.clone(),
            })
            .collect(),
        nodes: nodes
            .into_iter()
            .enumerate()
            .map(|(i, (id, (kind, label)))| GraphNode {
                centrality: centrality[i],
                id,
                in_degree: in_degree[i],
                kind,
                label,
                out_degree: out_degree[i],
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use doctown_common::Language;
    use doctown_intel::{extract, resolve_calls};

    use super::*;

    fn analyse(files: &[(&str, &str, Language)]) -> Vec<FileAnalysis> {
        let mut analyses: Vec<FileAnalysis> = files
            .iter()
            .map(|(path, source, language)| extract(path, source.as_bytes(), *language))
            .collect();
        resolve_calls(&mut analyses);
        analyses
    }

    #[test]
    fn contains_calls_and_imports_link_real_code() {
        let files = analyse(&[
            (
                "app/main.py",
                "from app import util\nimport json\n\n\nclass Runner:\n    def run(self):\n        return helper()\n\n\ndef helper():\n    return json.dumps(util.VALUE)\n",
                Language::Python,
            ),
            ("app/util.py", "VALUE = 1\n", Language::Python),
        ]);
        let graph = code_graph(&files, &[]);
        let edge = |kind: EdgeKind, source: &str, target: &str| {
            graph.edges.iter().any(|e| {
                e.kind == kind
                    && graph
                        .nodes
                        .iter()
                        .any(|n| n.id == e.source && n.label == source)
                    && graph
                        .nodes
                        .iter()
                        .any(|n| n.id == e.target && n.label == target)
            })
        };
        assert!(edge(EdgeKind::Contains, "app/main.py", "Runner"));
        assert!(edge(EdgeKind::Contains, "Runner", "Runner.run"));
        assert!(edge(EdgeKind::Calls, "Runner.run", "helper"));
        assert!(
            edge(EdgeKind::Imports, "app/main.py", "json"),
            "{:#?}",
            graph.edges
        );
        assert!(graph.edges.iter().any(|e| e.kind == EdgeKind::Imports
            && e.source == "file:app/main.py"
            && e.target == "file:app/util.py"));
        let helper = graph.nodes.iter().find(|n| n.label == "helper").unwrap();
        assert_eq!((helper.in_degree, helper.out_degree), (2, 0));
        assert!(
            graph
                .nodes
                .iter()
                .all(|n| (0.0..=1.0).contains(&n.centrality))
        );
        assert!(graph.density > 0.0);
        assert_eq!(code_graph(&files, &[]), graph, "deterministic");
    }

    #[test]
    fn related_pairs_are_kept_once_between_known_symbols() {
        let files = analyse(&[(
            "a.py",
            "def f():\n    pass\n\n\ndef g():\n    pass\n",
            Language::Python,
        )]);
        let (f, g) = (files[0].symbols[0].id, files[0].symbols[1].id);
        let unknown: SymbolId = "00000000000000000000000000000001".parse().unwrap();
        let graph = code_graph(
            &files,
            &[(f, g, 0.91), (g, f, 0.91), (f, f, 1.0), (f, unknown, 0.8)],
        );
        let related: Vec<&Edge> = graph
            .edges
            .iter()
            .filter(|e| e.kind == EdgeKind::Related)
            .collect();
        assert_eq!(related.len(), 1);
        assert_eq!(related[0].score, Some(f64::from(0.91f32)));
    }

    #[test]
    fn go_packages_rust_modules_and_script_files_become_import_edges() {
        let files = analyse(&[
            (
                "cmd/app/main.go",
                "package main\n\nimport (\n\t\"example.com/app/internal/store\"\n\t\"fmt\"\n)\n\nfunc main() { store.Open(); fmt.Println() }\n",
                Language::Go,
            ),
            (
                "internal/store/store.go",
                "package store\n\nfunc Open() {}\n",
                Language::Go,
            ),
            ("internal/store/db.go", "package store\n", Language::Go),
            (
                "src/lib.rs",
                "mod parser;\nuse crate::parser::parse;\n",
                Language::Rust,
            ),
            ("src/parser.rs", "pub fn parse() {}\n", Language::Rust),
            (
                "web/main.ts",
                "import { a } from './a';\n",
                Language::TypeScript,
            ),
            ("web/a.ts", "export const a = 1;\n", Language::TypeScript),
        ]);
        let graph = code_graph(&files, &[]);
        let has = |kind: EdgeKind, source: &str, target: &str| {
            graph
                .edges
                .iter()
                .any(|e| e.kind == kind && e.source == source && e.target == target)
        };
        let package = "module:internal/store";
        assert!(has(EdgeKind::Imports, "file:cmd/app/main.go", package));
        assert!(has(
            EdgeKind::Contains,
            package,
            "file:internal/store/store.go"
        ));
        assert!(has(
            EdgeKind::Contains,
            package,
            "file:internal/store/db.go"
        ));
        assert!(has(EdgeKind::Imports, "file:cmd/app/main.go", "module:fmt"));
        assert!(has(
            EdgeKind::Imports,
            "file:src/lib.rs",
            "file:src/parser.rs"
        ));
        assert!(has(EdgeKind::Imports, "file:web/main.ts", "file:web/a.ts"));
        let node = graph.nodes.iter().find(|n| n.id == package).unwrap();
        assert_eq!(
            (node.kind, node.label.as_str()),
            (GraphNodeKind::Module, "internal/store")
        );
    }
}
