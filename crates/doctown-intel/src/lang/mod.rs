//! What Doctown knows about each language, one module per language: its grammar, which nodes
//! are symbols and of what kind, how calls and imports are written, where doc comments live.
//!
//! Adding a language is adding its grammar crate, a module here that implements [`Grammar`]
//! (what its files declare, call and import, and where its imports lead), and a line in
//! [`grammar`] (plus its extensions in `doctown_common::Language`).

mod ecmascript;
mod go;
mod python;
mod rust;

use std::sync::OnceLock;

use doctown_common::{FileAnalysis, Import, Language};
use tree_sitter::Node;

use crate::extract::Cx;
use crate::imports::{ImportTarget, RepoIndex};

/// One language's knowledge, used by the language-independent walk.
pub(crate) trait Grammar: Sync {
    /// The tree-sitter grammar.
    fn ts_language(&self) -> tree_sitter::Language;

    /// What joins a parent's name and a child's in qualified names (`::` or `.`).
    fn separator(&self) -> &'static str;

    /// The kinds of named node [`Grammar::visit`] looks at; the walk skips all others, so that
    /// most nodes cost no string comparison at all.
    fn kinds(&self) -> &'static [&'static str];

    /// Called once for every node of one of [`Grammar::kinds`], parents before children: reports
    /// the symbols, calls and imports that `node` is, through `cx`.
    fn visit(&self, node: Node<'_>, cx: &mut Cx<'_>);

    /// Where `import`, written in `importer`, leads in the repository `index` describes, by
    /// this language's rules: `None` for what lies outside it (a dependency, the standard
    /// library) or what the rules cannot tell apart.
    fn resolve_import<'r>(
        &self,
        importer: &FileAnalysis,
        import: &Import,
        index: &RepoIndex<'r>,
    ) -> Option<ImportTarget<'r>>;
}

/// For each node kind id of `language`'s grammar, whether its module looks at nodes of that kind
/// (a kind name can have several ids; all of them count). Built once per language.
pub(crate) fn relevant_kinds(language: Language) -> &'static [bool] {
    static TABLES: [OnceLock<Vec<bool>>; Language::ALL.len()] =
        [const { OnceLock::new() }; Language::ALL.len()];
    let index = Language::ALL
        .iter()
        .position(|l| *l == language)
        .unwrap_or_default();
    TABLES[index].get_or_init(|| {
        let grammar = grammar(language);
        let ts_language = grammar.ts_language();
        (0..ts_language.node_kind_count())
            .map(|id| {
                let id = id as u16;
                ts_language.node_kind_is_named(id)
                    && ts_language
                        .node_kind_for_id(id)
                        .is_some_and(|name| grammar.kinds().contains(&name))
            })
            .collect()
    })
}

/// The grammar for `language`.
pub(crate) fn grammar(language: Language) -> &'static dyn Grammar {
    match language {
        Language::Rust => &rust::Rust,
        Language::Python => &python::Python,
        Language::TypeScript => &ecmascript::TYPESCRIPT,
        Language::Tsx => &ecmascript::TSX,
        Language::JavaScript => &ecmascript::JAVASCRIPT,
        Language::Go => &go::Go,
    }
}

/// The node's children that are named, in order.
pub(crate) fn named_children<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    children(node).filter(|child| child.is_named())
}

/// The node's children, named or not, in order. A tree cursor steps from child to child in
/// constant time, where `Node::child(i)` costs time proportional to `i`.
pub(crate) fn children<'t>(node: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    let mut cursor = node.walk();
    let mut started = false;
    std::iter::from_fn(move || {
        let moved = if started {
            cursor.goto_next_sibling()
        } else {
            cursor.goto_first_child()
        };
        started = true;
        moved.then(|| cursor.node())
    })
    .fuse()
}

/// Whether `node` has an unnamed child token `keyword` (such as `async` or `static`).
pub(crate) fn has_token(node: Node<'_>, keyword: &str) -> bool {
    children(node).any(|child| !child.is_named() && child.kind() == keyword)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_kind_exists_in_its_grammar() {
        for language in Language::ALL {
            let grammar = grammar(language);
            let ts_language = grammar.ts_language();
            for kind in grammar.kinds() {
                // TypeScript-only kinds are absent from the JavaScript grammar, which shares the module.
                let shared_with_typescript = language == Language::JavaScript;
                let exists = ts_language.id_for_node_kind(kind, true) != 0;
                assert!(
                    exists || shared_with_typescript,
                    "{language}: no node kind {kind}"
                );
            }
            assert!(relevant_kinds(language).iter().any(|&relevant| relevant));
        }
    }
}
