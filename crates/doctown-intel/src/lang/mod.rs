//! What Doctown knows about each language, one module per language: its grammar, which nodes
//! are symbols and of what kind, how calls and imports are written, where doc comments live.
//!
//! Adding a language is adding its grammar crate, a module here that implements [`Grammar`],
//! and a line in [`grammar`] (plus its extensions in `doctown_common::Language`).

mod ecmascript;
mod go;
mod python;
mod rust;

use doctown_common::Language;
use tree_sitter::Node;

use crate::extract::Cx;

/// One language's knowledge, used by the language-independent walk.
pub(crate) trait Grammar: Sync {
    /// The tree-sitter grammar.
    fn ts_language(&self) -> tree_sitter::Language;

    /// What joins a parent's name and a child's in qualified names (`::` or `.`).
    fn separator(&self) -> &'static str;

    /// Called once for every node, parents before children: reports the symbols, calls and
    /// imports that `node` is, through `cx`.
    fn visit(&self, node: Node<'_>, cx: &mut Cx<'_>);
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
