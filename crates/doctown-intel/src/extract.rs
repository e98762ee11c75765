//! The language-independent half of extraction: parsing with a time bound, one iterative walk
//! over the tree, and turning what the language modules report into [`Symbol`]s.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use doctown_common::{
    ByteRange, Call, CallKind, EntryKind, EntryPoint, FileAnalysis, Import, Language, LineRange,
    Parameter, Symbol, SymbolId, SymbolKind, SymbolTag, Visibility,
};
use sha2::{Digest, Sha256};
use tree_sitter::{Node, ParseOptions, ParseState, Parser, Tree};

use crate::lang::{self, Grammar};
use crate::text::{LineIndex, lossy, one_line};

/// Qualified names longer than this lose their outermost segments (`…::inner::name`), so that
/// pathologically deep nesting costs linear, not quadratic, memory.
const MAX_QUALIFIED_NAME: usize = 512;

/// How long parsing one file may take before it is given up, with a reason.
pub const DEFAULT_PARSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Parses files and extracts their symbols, keeping one parser per language for reuse.
///
/// An `Extractor` is cheap to keep and not shared between threads; [`extract`] keeps one per
/// thread.
pub struct Extractor {
    parsers: HashMap<Language, Parser>,
    timeout: Duration,
}

impl Default for Extractor {
    fn default() -> Self {
        Self::new()
    }
}

impl Extractor {
    /// An extractor with the default parse timeout.
    pub fn new() -> Self {
        Self {
            parsers: HashMap::new(),
            timeout: DEFAULT_PARSE_TIMEOUT,
        }
    }

    /// Sets how long parsing one file may take.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Parses `source` only, as the extraction does, and gives the tree (for benchmarks and
    /// tools that want the raw syntax tree). `None` when parsing ran out of time.
    pub fn parse(&mut self, language: Language, source: &[u8]) -> Option<Tree> {
        let grammar = lang::grammar(language);
        let parser = self.parsers.entry(language).or_insert_with(|| {
            let mut parser = Parser::new();
            // The grammars are compiled in and their ABI is checked by the tests; a mismatch
            // would leave the parser without a language and every parse would return `None`.
            let _ = parser.set_language(&grammar.ts_language());
            parser
        });
        let deadline = Instant::now() + self.timeout;
        let mut give_up = |_: &ParseState| Instant::now() > deadline;
        let options = ParseOptions::new().progress_callback(&mut give_up);
        let len = source.len();
        let tree = parser.parse_with_options(
            &mut |offset, _| if offset < len { &source[offset..] } else { &[] },
            None,
            Some(options),
        );
        if tree.is_none() {
            // A cancelled parse would otherwise resume on the next call, with the next file.
            parser.reset();
        }
        tree
    }

    /// Extracts the symbols and imports of the file at `path` (relative to the repository root,
    /// `/`-separated) whose bytes are `source`.
    pub fn extract(&mut self, path: &str, source: &[u8], language: Language) -> FileAnalysis {
        let Some(tree) = self.parse(language, source) else {
            return FileAnalysis {
                path: path.to_owned(),
                language,
                symbols: Vec::new(),
                imports: Vec::new(),
                parse_errors: 0,
                skipped: Some(format!(
                    "parsing took longer than {} s; the file is too large or too deeply nested",
                    self.timeout.as_secs_f64()
                )),
                doc: None,
                entry_points: Vec::new(),
            };
        };
        let grammar = lang::grammar(language);
        let mut cx = Cx::new(source, grammar.separator());
        walk(&tree, grammar, lang::relevant_kinds(language), &mut cx);
        cx.doc = grammar.file_doc(tree.root_node(), &cx);
        cx.finish(path, language)
    }
}

thread_local! {
    static EXTRACTOR: RefCell<Extractor> = RefCell::new(Extractor::new());
}

/// Extracts a file with this thread's [`Extractor`], so parsers are reused across calls.
pub fn extract(path: &str, source: &[u8], language: Language) -> FileAnalysis {
    EXTRACTOR.with(|extractor| extractor.borrow_mut().extract(path, source, language))
}

/// Nodes deeper than this are not shown to the language modules: tree-sitter finds a node's
/// parent by walking down from the root, so the modules' look-ups cost time proportional to depth,
/// and symbols nested thousands of levels deep exist only in generated or hostile files.
const MAX_VISIT_DEPTH: usize = 1024;

/// Visits every node once, in source order, without recursion (trees may be 10,000 deep), and
/// closes scopes as their nodes end.
fn walk(tree: &Tree, grammar: &dyn Grammar, relevant: &[bool], cx: &mut Cx<'_>) {
    let mut cursor = tree.walk();
    let mut depth = 0usize;
    let has_errors = tree.root_node().has_error();
    loop {
        let node = cursor.node();
        if has_errors && (node.is_error() || node.is_missing()) {
            cx.parse_errors += 1;
        }
        let is_relevant = relevant
            .get(usize::from(node.kind_id()))
            .copied()
            .unwrap_or(false);
        if is_relevant && depth <= MAX_VISIT_DEPTH {
            grammar.visit(node, cx);
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if !cx.scopes.is_empty() {
                cx.leave(cursor.node().id());
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
            depth -= 1;
        }
    }
}

/// A symbol a language module found, before ids and qualified names are given.
pub(crate) struct Definition {
    /// What it is.
    pub(crate) kind: SymbolKind,
    /// Its name as declared.
    pub(crate) name: String,
    /// Where its first keyword starts (after decorators, attributes and doc comments).
    pub(crate) start: usize,
    /// Where it ends.
    pub(crate) end: usize,
    /// Where its doc comment, decorators or attributes start (≤ `start`).
    pub(crate) outer_start: usize,
    /// The declaration without its body, on one line.
    pub(crate) signature: String,
    /// Its doc comment, cleaned.
    pub(crate) doc: Option<String>,
    /// Its decorators or attributes, as written.
    pub(crate) decorators: Vec<String>,
    /// Who can see it.
    pub(crate) visibility: Visibility,
    /// Further properties.
    pub(crate) tags: Vec<SymbolTag>,
    /// The name its members are qualified with, when not `name` (a Rust `impl`'s type).
    pub(crate) scope_name: Option<String>,
    /// For a symbol declared outside its type (a Go method): the type's name. It prefixes the
    /// qualified name, and the type becomes the parent when it is declared in the same file.
    pub(crate) owner: Option<String>,
    /// The entry point it is (a `main`, a route handler, a command), and its name.
    pub(crate) entry: Option<(EntryKind, String)>,
    /// A function's parameters, its receiver left out.
    pub(crate) parameters: Vec<Parameter>,
    /// A function's declared return type.
    pub(crate) returns: Option<String>,
}

impl Definition {
    /// A definition spanning `node`, with no doc, decorators or tags yet.
    pub(crate) fn new(kind: SymbolKind, name: impl Into<String>, node: Node<'_>) -> Self {
        Self {
            kind,
            name: name.into(),
            start: node.start_byte(),
            end: node.end_byte(),
            outer_start: node.start_byte(),
            signature: String::new(),
            doc: None,
            decorators: Vec::new(),
            visibility: Visibility::Public,
            tags: Vec::new(),
            scope_name: None,
            owner: None,
            entry: None,
            parameters: Vec::new(),
            returns: None,
        }
    }
}

/// An entry point found during the walk, its symbol still an index.
struct PendingEntry {
    kind: EntryKind,
    name: String,
    line: usize,
    symbol: Option<usize>,
    handler: Option<String>,
}

/// A symbol under construction: the definition plus its place in the tree.
struct Pending {
    definition: Definition,
    parent: Option<usize>,
    qualified_name: String,
    scope_path: String,
    calls: Vec<Call>,
}

/// An open scope: the node that holds it and the symbol it belongs to.
struct Scope {
    node_id: usize,
    symbol: usize,
}

/// What language modules see during the walk, and where they report what they find.
pub(crate) struct Cx<'s> {
    /// The file's bytes.
    pub(crate) src: &'s [u8],
    lines: LineIndex,
    separator: &'static str,
    symbols: Vec<Pending>,
    scopes: Vec<Scope>,
    imports: Vec<Import>,
    exports: Vec<String>,
    entries: Vec<PendingEntry>,
    doc: Option<String>,
    parse_errors: usize,
}

impl<'s> Cx<'s> {
    fn new(src: &'s [u8], separator: &'static str) -> Self {
        Self {
            src,
            lines: LineIndex::new(src),
            separator,
            symbols: Vec::new(),
            scopes: Vec::new(),
            imports: Vec::new(),
            exports: Vec::new(),
            entries: Vec::new(),
            doc: None,
            parse_errors: 0,
        }
    }

    /// The text of `node`.
    pub(crate) fn text(&self, node: Node<'_>) -> std::borrow::Cow<'s, str> {
        lossy(self.src, node.start_byte(), node.end_byte())
    }

    /// The text of the bytes `start..end`.
    pub(crate) fn slice(&self, start: usize, end: usize) -> std::borrow::Cow<'s, str> {
        lossy(self.src, start, end)
    }

    /// The text of `node`'s child in `field`, if it has one.
    pub(crate) fn field_text(&self, node: Node<'_>, field: &str) -> Option<String> {
        node.child_by_field_name(field)
            .map(|child| self.text(child).into_owned())
    }

    /// The 1-based line of the byte at `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.lines.line_of(offset)
    }

    /// The kind of the symbol whose scope encloses the current node.
    pub(crate) fn parent_kind(&self) -> Option<SymbolKind> {
        self.scopes
            .last()
            .map(|scope| self.symbols[scope.symbol].definition.kind)
    }

    fn enclosing_function(&self) -> Option<usize> {
        self.scopes
            .iter()
            .rev()
            .map(|scope| scope.symbol)
            .find(|&symbol| {
                matches!(
                    self.symbols[symbol].definition.kind,
                    SymbolKind::Function | SymbolKind::Method
                )
            })
    }

    /// Reports a symbol. Symbols and calls found inside the `scope` node (its body and members)
    /// belong to it; `None` for symbols that hold nothing (a constant).
    pub(crate) fn define(&mut self, definition: Definition, scope: Option<Node<'_>>) {
        let parent = self.scopes.last().map(|scope| scope.symbol);
        let (qualified_name, parent_path) = match parent {
            Some(parent) => {
                let path = &self.symbols[parent].scope_path;
                let qualified = format!("{path}{}{}", self.separator, definition.name);
                (shorten_path(qualified, self.separator), path.clone())
            }
            None => match &definition.owner {
                Some(owner) => (
                    format!("{owner}{}{}", self.separator, definition.name),
                    owner.clone(),
                ),
                None => (definition.name.clone(), String::new()),
            },
        };
        let scope_path = match &definition.scope_name {
            Some(scope_name) if parent_path.is_empty() => scope_name.clone(),
            Some(scope_name) => shorten_path(
                format!("{parent_path}{}{scope_name}", self.separator),
                self.separator,
            ),
            None => qualified_name.clone(),
        };
        let index = self.symbols.len();
        if let Some((kind, name)) = definition.entry.clone() {
            self.entries.push(PendingEntry {
                kind,
                name,
                line: self.line_of(definition.start),
                symbol: Some(index),
                handler: None,
            });
        }
        self.symbols.push(Pending {
            definition,
            parent,
            qualified_name,
            scope_path,
            calls: Vec::new(),
        });
        if let Some(node) = scope {
            self.scopes.push(Scope {
                node_id: node.id(),
                symbol: index,
            });
        }
    }

    /// Reports a call at `node`, made by the enclosing function or method (calls outside any
    /// function are not recorded).
    pub(crate) fn call(
        &mut self,
        node: Node<'_>,
        callee: String,
        name: String,
        receiver: Option<String>,
        kind: CallKind,
    ) {
        let Some(caller) = self.enclosing_function() else {
            return;
        };
        let Ok(byte_range) = ByteRange::new(node.start_byte(), node.end_byte()) else {
            return;
        };
        let line = self.line_of(node.start_byte());
        self.symbols[caller].calls.push(Call {
            callee,
            name,
            receiver,
            kind,
            line,
            byte_range,
            target: None,
        });
    }

    /// Reports a call through a member, `object.field(…)`: a path call when `object` is a plain
    /// name that an import binds to a whole module or package (`os.getcwd()`, `fmt.Println()`),
    /// else a method call.
    pub(crate) fn member_call(&mut self, node: Node<'_>, object: Node<'_>, field: Node<'_>) {
        let receiver = one_line(&self.text(object), 80);
        let name = self.text(field).into_owned();
        let is_module = object.kind() == "identifier"
            && self.imports.iter().any(|import| {
                import.name.is_none() && import.local_name() == Some(receiver.as_str())
            });
        let kind = if is_module {
            CallKind::Path
        } else {
            CallKind::Method
        };
        self.call(
            node,
            format!("{receiver}.{name}"),
            name,
            Some(receiver),
            kind,
        );
    }

    /// Reports an entry point written as a call or a value at byte `at` (a route registered, a
    /// command built), declared by the enclosing symbol, if any.
    pub(crate) fn entry_point(
        &mut self,
        kind: EntryKind,
        name: String,
        at: usize,
        handler: Option<String>,
    ) {
        let line = self.line_of(at);
        let symbol = self.scopes.last().map(|scope| scope.symbol);
        self.entries.push(PendingEntry {
            kind,
            name,
            line,
            symbol,
            handler,
        });
    }

    /// Reports an import.
    pub(crate) fn import(&mut self, import: Import) {
        self.imports.push(import);
    }

    /// Marks a top-level name as exported (Python's `__all__`, CommonJS `module.exports`).
    pub(crate) fn export(&mut self, name: String) {
        self.exports.push(name);
    }

    /// Makes each symbol declared outside its type a child of that type, when the type is a
    /// top-level symbol of this file.
    fn adopt_owned(&mut self) {
        for index in 0..self.symbols.len() {
            let Some(owner) = self.symbols[index].definition.owner.as_deref() else {
                continue;
            };
            if self.symbols[index].parent.is_some() {
                continue;
            }
            self.symbols[index].parent = self.symbols.iter().position(|candidate| {
                candidate.parent.is_none()
                    && candidate.definition.owner.is_none()
                    && (candidate.definition.kind.is_container()
                        || candidate.definition.kind == SymbolKind::TypeAlias)
                    && candidate.definition.name == owner
            });
        }
    }

    fn leave(&mut self, node_id: usize) {
        while self
            .scopes
            .last()
            .is_some_and(|scope| scope.node_id == node_id)
        {
            self.scopes.pop();
        }
    }

    /// Gives every symbol its id, resolves parents to ids and applies exports.
    fn finish(mut self, path: &str, language: Language) -> FileAnalysis {
        self.adopt_owned();
        let mut seen: HashMap<(String, SymbolKind), u32> = HashMap::new();
        let ids: Vec<SymbolId> = self
            .symbols
            .iter()
            .map(|pending| {
                let key = (pending.qualified_name.clone(), pending.definition.kind);
                let occurrence = seen.entry(key).or_insert(0);
                let id = symbol_id(
                    path,
                    &pending.qualified_name,
                    pending.definition.kind,
                    *occurrence,
                );
                *occurrence += 1;
                id
            })
            .collect();
        let lines = &self.lines;
        let symbols = self
            .symbols
            .into_iter()
            .zip(&ids)
            .map(|(pending, &id)| {
                let Pending {
                    definition: def,
                    parent,
                    qualified_name,
                    calls,
                    ..
                } = pending;
                let end = def.end.max(def.start);
                let byte_range = ByteRange::between(def.start, end);
                let outer_byte_range = ByteRange::between(def.outer_start.min(def.start), end);
                let line_range =
                    LineRange::clamped(lines.line_of(def.start), lines.last_line(def.start, end));
                let exported = parent.is_none() && self.exports.contains(&def.name);
                Symbol {
                    id,
                    name: def.name,
                    qualified_name,
                    kind: def.kind,
                    visibility: if exported {
                        Visibility::Public
                    } else {
                        def.visibility
                    },
                    tags: def.tags,
                    signature: def.signature,
                    doc: def.doc,
                    decorators: def.decorators,
                    byte_range,
                    line_range,
                    outer_byte_range,
                    parent: parent.map(|parent| ids[parent]),
                    calls,
                    parameters: def.parameters,
                    returns: def.returns,
                }
            })
            .collect();
        let entry_points = self
            .entries
            .into_iter()
            .map(|entry| EntryPoint {
                kind: entry.kind,
                name: entry.name,
                line: entry.line,
                symbol: entry.symbol.map(|symbol| ids[symbol]),
                handler: entry.handler,
            })
            .collect();
        FileAnalysis {
            path: path.to_owned(),
            language,
            symbols,
            imports: self.imports,
            parse_errors: self.parse_errors,
            skipped: None,
            doc: self.doc,
            entry_points,
        }
    }
}

/// Drops the outermost segments of a qualified name longer than [`MAX_QUALIFIED_NAME`].
fn shorten_path(path: String, separator: &str) -> String {
    if path.len() <= MAX_QUALIFIED_NAME {
        return path;
    }
    let mut cut = path.len() - MAX_QUALIFIED_NAME;
    while !path.is_char_boundary(cut) {
        cut += 1;
    }
    let tail = &path[cut..];
    let tail = tail.split_once(separator).map_or(tail, |(_, rest)| rest);
    format!("…{separator}{tail}")
}

/// The id of the `occurrence`-th symbol (from 0) with this qualified name and kind in `path`.
fn symbol_id(path: &str, qualified_name: &str, kind: SymbolKind, occurrence: u32) -> SymbolId {
    let mut hasher = Sha256::new();
    for part in [path, qualified_name, kind.id()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.update(occurrence.to_le_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    SymbolId::from_bytes(bytes)
}
