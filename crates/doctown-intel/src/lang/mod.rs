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

use doctown_common::{EntryKind, FileAnalysis, Import, Language, Parameter};
use tree_sitter::Node;

use crate::extract::Cx;
use crate::imports::{ImportTarget, RepoIndex};
use crate::modules::ModuleStep;
use crate::text::one_line;

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

    /// The modules the code file at `path` belongs to, by this language's rule, outermost
    /// first: the file belongs to the last directly, and each is nested in the one before
    /// (`index` holds every path of the repository, manifests included).
    fn module_of(&self, path: &str, index: &RepoIndex<'_>) -> Vec<ModuleStep>;

    /// The file's own documentation (a module doc comment or docstring), looked for among the
    /// root's first children once the walk is over.
    fn file_doc(&self, root: Node<'_>, cx: &Cx<'_>) -> Option<String>;

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

/// `name` as an HTTP method in capitals, when it names one the way route-declaring APIs do
/// (`get`, `GET`, `Get`; `all` for every method).
pub(crate) fn http_method(name: &str) -> Option<String> {
    const METHODS: [&str; 8] = [
        "get", "post", "put", "delete", "patch", "head", "options", "all",
    ];
    METHODS
        .iter()
        .find(|method| method.eq_ignore_ascii_case(name))
        .map(|method| method.to_ascii_uppercase())
}

/// The text of a string literal without its quotes (and Python's `r`, `b`, `u`, `f` prefixes);
/// `None` when `text` is not one.
pub(crate) fn unquote(text: &str) -> Option<String> {
    let text = text
        .trim()
        .trim_start_matches(['r', 'b', 'u', 'f', 'R', 'B', 'U', 'F']);
    let quote = text
        .chars()
        .next()
        .filter(|c| matches!(c, '"' | '\'' | '`'))?;
    let inner = text.strip_prefix(quote)?.strip_suffix(quote)?;
    Some(inner.trim_matches(quote).to_owned())
}

/// A route's name as pages show it: `GET /users`, or the path alone when the method is not
/// known. A path already naming its method (Go's `"GET /users"` patterns) is kept as it is.
pub(crate) fn route_name(method: Option<&str>, path: &str) -> String {
    match method {
        Some(method) if path.starts_with('/') => format!("{method} {path}"),
        _ => path.to_owned(),
    }
}

/// Whether a string argument is a route's path: `/…`, or Go's `METHOD /…` pattern.
pub(crate) fn is_route_path(text: &str) -> bool {
    text.starts_with('/')
        || text
            .split_once(' ')
            .is_some_and(|(method, path)| http_method(method).is_some() && path.starts_with('/'))
}

/// The route a call registers, when it is one: a method named for an HTTP method (`app.get`,
/// `r.GET`, `router.Post`) or for routing (`route`, `HandleFunc`, `Handle`, `resource`,
/// `add_url_rule`) whose first argument is a path literal. Gives the route's name and its
/// handler as written, when the second argument names one.
pub(crate) fn route_call(method: &str, arguments: Node<'_>, cx: &Cx<'_>) -> Option<EntryFound> {
    const ROUTING: [&str; 5] = ["route", "HandleFunc", "Handle", "resource", "add_url_rule"];
    let verb = http_method(method);
    if verb.is_none() && !ROUTING.contains(&method) {
        return None;
    }
    let mut arguments = named_children(arguments).filter(|a| !a.kind().contains("comment"));
    let first = arguments.next()?;
    let path = unquote(&cx.text(first)).filter(|path| is_route_path(path))?;
    let second = arguments
        .next()
        .map(|handler| cx.text(handler).into_owned());
    if verb.is_some() && second.is_none() {
        // `map.get("/key")`: one argument is a look-up, not a route.
        return None;
    }
    let verb = verb.or_else(|| {
        second.as_deref().and_then(|text| {
            text.split(|c: char| !c.is_ascii_alphanumeric())
                .find_map(http_method)
        })
    });
    Some(EntryFound {
        kind: EntryKind::Route,
        name: route_name(verb.as_deref(), &path),
        at: first.start_byte(),
        handler: second.as_deref().and_then(handler_name),
    })
}

/// The handler an argument names: itself when it is a name or a path (`list_users`,
/// `handlers.Create`, `web::get().to(index)` → `index`, `get(list)` → `list`); `None` for an
/// inline function.
fn handler_name(text: &str) -> Option<String> {
    let is_name = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '$'))
    };
    if is_name(text) {
        return Some(text.to_owned());
    }
    let inner = text.rsplit_once('(')?.1.split_once(')')?.0.trim();
    is_name(inner).then(|| inner.to_owned())
}

/// An entry point a language module recognised, before it is placed.
pub(crate) struct EntryFound {
    /// What it is.
    pub(crate) kind: EntryKind,
    /// Its name.
    pub(crate) name: String,
    /// The byte where it is declared (a route's path, a command's name).
    pub(crate) at: usize,
    /// Its handler, as written.
    pub(crate) handler: Option<String>,
}

impl EntryFound {
    /// Reports it.
    pub(crate) fn report(self, cx: &mut Cx<'_>) {
        cx.entry_point(self.kind, self.name, self.at, self.handler);
    }
}

/// What a decorator or attribute calls and the first string it passes, as written:
/// `@app.get("/x")` → (`app.get`, `/x`); `#[get("/x")]` → (`get`, `/x`); `@click.command()` →
/// (`click.command`, none).
pub(crate) fn decorator_call(text: &str) -> (&str, Option<String>) {
    let text = text.trim();
    let text = text
        .strip_prefix("#[")
        .and_then(|inner| inner.strip_suffix(']'))
        .or_else(|| text.strip_prefix('@'))
        .unwrap_or(text)
        .trim();
    let Some((callee, arguments)) = text.split_once('(') else {
        return (text, None);
    };
    let first = arguments
        .split(',')
        .next()
        .and_then(|argument| unquote(argument.trim().trim_end_matches(')')));
    (callee.trim(), first)
}

/// A parameter read from the nodes of its name and type (either may be missing), each on one
/// line; a type's leading `:` (TypeScript's annotations) is not part of it.
pub(crate) fn parameter(name: Option<Node<'_>>, ty: Option<Node<'_>>, cx: &Cx<'_>) -> Parameter {
    Parameter {
        name: name.map(|name| one_line(&cx.text(name), 80)),
        type_name: ty.map(|ty| type_text(ty, cx)),
    }
}

/// A declared type as written, on one line, without the `:` or `->` that introduces it.
pub(crate) fn type_text(ty: Node<'_>, cx: &Cx<'_>) -> String {
    let text = cx.text(ty);
    let text = text.trim_start();
    let text = text
        .strip_prefix(':')
        .or_else(|| text.strip_prefix("->"))
        .unwrap_or(text);
    one_line(text, 120)
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
    fn decorators_and_strings_are_read_as_written() {
        assert_eq!(
            decorator_call("@app.route(\"/users\", methods=[\"POST\"])"),
            ("app.route", Some("/users".to_owned()))
        );
        assert_eq!(
            decorator_call("#[get(\"/health\")]"),
            ("get", Some("/health".to_owned()))
        );
        assert_eq!(decorator_call("@click.command()"), ("click.command", None));
        assert_eq!(decorator_call("@property"), ("property", None));
        assert_eq!(unquote("r'/x'"), Some("/x".to_owned()));
        assert_eq!(unquote("name"), None);
        assert_eq!(http_method("Get").as_deref(), Some("GET"));
        assert_eq!(http_method("route"), None);
        assert!(is_route_path("GET /users/{id}"));
        assert!(!is_route_path("users"));
        assert_eq!(route_name(Some("GET"), "/x"), "GET /x");
        assert_eq!(route_name(Some("GET"), "POST /x"), "POST /x");
    }

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
