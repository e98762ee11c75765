//! Symbol contexts: everything a symbol's summary may draw on, gathered from the files and the
//! graph.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use doctown_common::{FileAnalysis, SymbolId, SymbolKind};
use doctown_docpack::{EdgeKind, Graph, SymbolContext};

/// Names listed per symbol at most (calls, called by).
const MAX_NAMES: usize = 10;
/// Related symbols listed per symbol.
const MAX_RELATED: usize = 3;

/// The context of every symbol of `files`, in file and source order. `graph` is the one
/// `code_graph` built from the same files; `cluster_labels` gives each symbol's cluster label.
pub fn symbol_contexts(
    files: &[FileAnalysis],
    graph: &Graph,
    cluster_labels: &HashMap<SymbolId, String>,
) -> Vec<(SymbolId, SymbolContext)> {
    let names: HashMap<SymbolId, &str> = files
        .iter()
        .flat_map(|f| f.symbols.iter().map(|s| (s.id, s.qualified_name.as_str())))
        .collect();
    let centrality: HashMap<&str, f64> = graph
        .nodes
        .iter()
        .map(|n| (n.id.as_str(), n.centrality))
        .collect();
    let mut called_by: HashMap<SymbolId, BTreeSet<&str>> = HashMap::new();
    let mut related: HashMap<String, Vec<(f64, &str)>> = HashMap::new();
    for file in files {
        for symbol in &file.symbols {
            for target in symbol.calls.iter().filter_map(|c| c.target) {
                if target != symbol.id {
                    called_by
                        .entry(target)
                        .or_default()
                        .insert(&symbol.qualified_name);
                }
            }
        }
    }
    let by_id: BTreeMap<String, &str> = names
        .iter()
        .map(|(id, name)| (id.to_string(), *name))
        .collect();
    for edge in graph.edges.iter().filter(|e| e.kind == EdgeKind::Related) {
        let score = edge.score.unwrap_or(0.0);
        if let (Some(a), Some(b)) = (by_id.get(&edge.source), by_id.get(&edge.target)) {
            related
                .entry(edge.source.clone())
                .or_default()
                .push((score, b));
            related
                .entry(edge.target.clone())
                .or_default()
                .push((score, a));
        }
    }
    let mut contexts = Vec::new();
    for file in files {
        let members = members(file);
        for symbol in &file.symbols {
            let mut calls: Vec<String> = Vec::new();
            for call in &symbol.calls {
                let name = call
                    .target
                    .and_then(|t| names.get(&t).map(|n| (*n).to_owned()))
                    .unwrap_or_else(|| call.callee.clone());
                if !calls.contains(&name) && calls.len() < MAX_NAMES {
                    calls.push(name);
                }
            }
            let imports: Vec<String> = file
                .imports
                .iter()
                .filter(|import| {
                    import.local_name().is_some_and(|local| {
                        symbol.calls.iter().any(|call| {
                            call.callee == local
                                || call.callee.starts_with(&format!("{local}."))
                                || call.callee.starts_with(&format!("{local}::"))
                                || call.receiver.as_deref() == Some(local)
                        })
                    })
                })
                .map(|import| match &import.name {
                    Some(name) => format!("{}.{name}", import.module),
                    None => import.module.clone(),
                })
                .collect();
            let id = symbol.id.to_string();
            let mut most_related = related.get(&id).cloned().unwrap_or_default();
            most_related.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(y.1)));
            most_related.dedup_by(|x, y| x.1 == y.1);
            contexts.push((
                symbol.id,
                SymbolContext {
                    called_by: called_by
                        .get(&symbol.id)
                        .map(|set| {
                            set.iter()
                                .take(MAX_NAMES)
                                .map(|n| (*n).to_owned())
                                .collect()
                        })
                        .unwrap_or_default(),
                    calls,
                    centrality: centrality.get(id.as_str()).copied().unwrap_or(0.0),
                    cluster_label: cluster_labels.get(&symbol.id).cloned(),
                    doc: symbol.doc.clone(),
                    file_path: file.path.clone(),
                    imports,
                    kind: symbol.kind,
                    language: file.language,
                    members: members
                        .get(symbol.qualified_name.as_str())
                        .map(|names| names.iter().take(MAX_NAMES).cloned().collect())
                        .unwrap_or_default(),
                    name: symbol.name.clone(),
                    parameters: symbol.parameters.clone(),
                    returns: symbol.returns.clone(),
                    related: most_related
                        .into_iter()
                        .take(MAX_RELATED)
                        .map(|(_, name)| name.to_owned())
                        .collect(),
                    signature: symbol.signature.clone(),
                },
            ));
        }
    }
    contexts
}

/// The names declared directly inside each qualified name of `file` (`Store` → `open`,
/// `close`), whether in the symbol's own body or, as Rust's `impl` blocks and Go's methods do,
/// beside it; `impl` blocks themselves are not members.
fn members(file: &FileAnalysis) -> HashMap<&str, Vec<String>> {
    let mut members: HashMap<&str, Vec<String>> = HashMap::new();
    for symbol in file.symbols.iter().filter(|s| s.kind != SymbolKind::Impl) {
        let owner = symbol
            .qualified_name
            .strip_suffix(symbol.name.as_str())
            .and_then(|owner| owner.strip_suffix("::").or_else(|| owner.strip_suffix('.')))
            .filter(|owner| !owner.is_empty());
        if let Some(owner) = owner {
            let names = members.entry(owner).or_default();
            if !names.contains(&symbol.name) {
                names.push(symbol.name.clone());
            }
        }
    }
    members
}

#[cfg(test)]
mod tests {
    use doctown_common::Language;
    use doctown_intel::{extract, resolve_calls};

    use super::*;
    use crate::code_graph;

    #[test]
    fn a_context_holds_calls_callers_imports_cluster_and_related() {
        let source = "import json\n\n\ndef load(path):\n    \"\"\"Reads a config.\"\"\"\n    return parse(json.loads(path))\n\n\ndef parse(data):\n    return data\n\n\ndef main():\n    return load('x')\n";
        let mut files = vec![extract("cfg.py", source.as_bytes(), Language::Python)];
        resolve_calls(&mut files);
        let ids: HashMap<&str, SymbolId> = files[0]
            .symbols
            .iter()
            .map(|s| (s.name.as_str(), s.id))
            .collect();
        let graph = code_graph(
            &files,
            &[
                (ids["load"], ids["parse"], 0.8),
                (ids["load"], ids["main"], 0.75),
            ],
        );
        let labels = HashMap::from([(ids["load"], "config loading".to_owned())]);
        let contexts = symbol_contexts(&files, &graph, &labels);
        let (_, load) = contexts.iter().find(|(id, _)| *id == ids["load"]).unwrap();
        assert_eq!(load.calls, ["parse", "json.loads"]);
        assert_eq!(load.called_by, ["main"]);
        assert_eq!(load.imports, ["json"]);
        assert_eq!(load.cluster_label.as_deref(), Some("config loading"));
        assert_eq!(load.related, ["parse", "main"]);
        assert_eq!(load.doc.as_deref(), Some("Reads a config."));
        assert_eq!(load.file_path, "cfg.py");
        assert!(load.centrality > 0.0);
        let (_, parse) = contexts.iter().find(|(id, _)| *id == ids["parse"]).unwrap();
        assert_eq!(parse.called_by, ["load"]);
        assert!(parse.calls.is_empty() && parse.cluster_label.is_none());
    }

    #[test]
    fn a_type_lists_its_members_and_a_function_what_it_takes_and_returns() {
        let source = "pub struct Store;\n\nimpl Store {\n    pub fn open(path: &str) -> Store { Store }\n    pub fn close(&self) {}\n}\n";
        let files = vec![extract("src/store.rs", source.as_bytes(), Language::Rust)];
        let graph = code_graph(&files, &[]);
        let contexts = symbol_contexts(&files, &graph, &HashMap::new());
        let of = |name: &str| {
            &contexts
                .iter()
                .find(|(_, c)| c.name == name && c.kind != SymbolKind::Impl)
                .unwrap()
                .1
        };
        assert_eq!(of("Store").members, ["open", "close"]);
        let open = of("open");
        assert_eq!(open.parameters.len(), 1);
        assert_eq!(open.parameters[0].name.as_deref(), Some("path"));
        assert_eq!(open.parameters[0].type_name.as_deref(), Some("&str"));
        assert_eq!(open.returns.as_deref(), Some("Store"));
        assert!(of("close").parameters.is_empty() && of("close").returns.is_none());
    }
}
