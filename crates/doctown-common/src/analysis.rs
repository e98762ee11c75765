//! What extraction produces: symbols with their calls, imports, and the analysis of a file.

use crate::{ByteRange, Language, LineRange, SymbolId, SymbolKind};
use serde::{Deserialize, Serialize};

/// Who can see a symbol, as its language says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Exported or public: `pub`, `export`, a capitalised Go name, a name in Python's `__all__`.
    Public,
    /// Visible within a bounded scope: Rust's `pub(crate)`, `pub(super)`, `pub(in path)`.
    Restricted,
    /// Visible to subclasses: TypeScript's `protected`.
    Protected,
    /// Visible only where it is declared: no `pub`, no `export`, `#private`, a leading `_`.
    Private,
}

/// A property of a symbol beyond its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolTag {
    /// `async fn`, `async def`, `async function`.
    Async,
    /// A constructor: Python's `__init__`, a class's `constructor`.
    Constructor,
    /// A property getter.
    Getter,
    /// A property setter.
    Setter,
    /// `abstract`, or a trait or interface method without a body.
    Abstract,
    /// A static or class-level member.
    Static,
    /// `unsafe`.
    Unsafe,
    /// A Rust `const fn`.
    Const,
    /// A generator function.
    Generator,
    /// A declaration without a body: a TypeScript overload signature, a Rust `mod x;`.
    Declaration,
    /// The module's default export.
    DefaultExport,
}

/// One definition in the source: a function, type, module, constant, ….
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Symbol {
    /// Stable id: the same symbol in the same file gets the same id in every run.
    pub id: SymbolId,
    /// The name as declared (`parse`; `default` for an anonymous default export).
    pub name: String,
    /// The name with its parents' path: `Parser::parse`, `Outer.Inner.method`.
    pub qualified_name: String,
    /// What it is.
    pub kind: SymbolKind,
    /// Who can see it.
    pub visibility: Visibility,
    /// Further properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<SymbolTag>,
    /// The declaration without its body, whitespace collapsed.
    pub signature: String,
    /// The doc comment or docstring, markers and indentation removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Decorators or attributes, as written (`@dataclass`, `#[derive(Debug)]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decorators: Vec<String>,
    /// From the first keyword (after decorators, attributes and doc comments) to the end.
    pub byte_range: ByteRange,
    /// The lines of `byte_range`, 1-based and inclusive.
    pub line_range: LineRange,
    /// `byte_range` widened to take in the doc comment, decorators and attributes.
    pub outer_byte_range: ByteRange,
    /// The symbol this one is declared in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<SymbolId>,
    /// The calls made in its body (functions and methods only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<Call>,
    /// What a function or method takes, in order; a method's receiver (`self`, `this`,
    /// `cls`) is not one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    /// The type a function or method declares it returns, as written (`Result<Config>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns: Option<String>,
}

/// One parameter of a function or method, as declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    /// Its name as written (`path`, `*args`, `...rest`), absent where the language lets a
    /// parameter go unnamed (Go's `func(int)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its type as written, where it is declared (`&Path`, `str | None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
}

/// How a call names what it calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// `foo()`.
    Plain,
    /// `x.foo()`, `self.foo()`, `this.foo()`.
    Method,
    /// `Type::new()`, `pkg.Func()`, `module::func()`: a path through a type, package or module.
    Path,
    /// `new Foo()`, `Foo()` for a Python class.
    Constructor,
}

/// One call site inside a function or method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The callee as written: `self.parse`, `Type::new`, `pkg.Func`, `foo`.
    pub callee: String,
    /// The called name alone: `parse`, `new`, `Func`, `foo`.
    pub name: String,
    /// What the name is reached through, as written (`self`, `Type`, `pkg`), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// How the callee is named.
    pub kind: CallKind,
    /// The line of the call (1-based).
    pub line: usize,
    /// The bytes of the whole call expression.
    pub byte_range: ByteRange,
    /// The symbol called, when resolution found it in the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<SymbolId>,
}

/// How an import is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    /// `import`, `use`, `from … import`.
    Import,
    /// CommonJS `require("…")`.
    Require,
    /// A re-export: `export … from "…"`, Rust `pub use`.
    ReExport,
    /// A module whose code is in a file of its own, declared where it belongs: Rust's
    /// `mod name;`.
    Module,
}

/// One imported name (a `use a::{b, c}` gives two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Import {
    /// The normalized full path of what is imported: `std::collections::HashMap`, `os.path`,
    /// `..models.User`, `./util.parse`, `net/http`.
    pub path: String,
    /// The module part: `std::collections`, `os`, `..models`, `./util`, `net/http`.
    pub module: String,
    /// The imported item within the module, when one is named (`HashMap`, `User`); `*` for a
    /// glob.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The local name it is bound to, when it differs (`as np`, a Go package alias).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// For Python relative imports, how many packages up (`..` is 2); 0 otherwise.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub level: u32,
    /// How it is written.
    pub kind: ImportKind,
    /// The line it is on (1-based).
    pub line: usize,
}

fn is_zero(level: &u32) -> bool {
    *level == 0
}

impl Import {
    /// The name this import binds in the file: the alias, else the item, else the module's last
    /// segment. `None` for globs and side-effect imports that bind nothing.
    pub fn local_name(&self) -> Option<&str> {
        if let Some(alias) = &self.alias {
            return Some(alias);
        }
        match self.name.as_deref() {
            Some("*") => None,
            Some(name) => Some(name),
            None => self
                .module
                .rsplit(['.', '/', ':'])
                .find(|segment| !segment.is_empty()),
        }
    }
}

/// Everything extracted from one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileAnalysis {
    /// The file's path relative to the repository root, with `/` separators.
    pub path: String,
    /// The language it was parsed as.
    pub language: Language,
    /// Its symbols, in source order (a parent before its children).
    pub symbols: Vec<Symbol>,
    /// Its imports, in source order.
    pub imports: Vec<Import>,
    /// Syntax errors tree-sitter recovered from; what parsed around them is still extracted.
    pub parse_errors: usize,
    /// Why nothing was extracted, when the file was not analysed (too deep, too slow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The file's own documentation, markers removed: Rust's `//!` comments, a Python module's
    /// docstring, the comment above Go's `package` clause, a leading JSDoc block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doc: Option<String>,
    /// Where execution can start in this file, as its language's conventions show it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_points: Vec<EntryPoint>,
}

/// What kind of place execution starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A program's start: Rust's and Go's `main`, Python's `if __name__ == "__main__":`.
    Main,
    /// A command-line interface's definition: a clap parser, an argparse parser, a cobra or
    /// commander command, a click command.
    Command,
    /// An HTTP route: a handler bound to a method and a path.
    Route,
}

impl EntryKind {
    /// Every kind, in the order pages list them.
    pub const ALL: [EntryKind; 3] = [EntryKind::Main, EntryKind::Command, EntryKind::Route];
}

/// A place where execution starts, found statically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryPoint {
    /// What it is.
    pub kind: EntryKind,
    /// How a user reaches it: `main`, the command's name, `GET /users`.
    pub name: String,
    /// The line that declares it (1-based).
    pub line: usize,
    /// The symbol it is, or the one that declares it (the function registering a route); `None`
    /// at a file's top level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<SymbolId>,
    /// The handler a route or command runs, as written (`list_users`, `handlers.Create`), when
    /// it is named apart from `symbol`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
}
