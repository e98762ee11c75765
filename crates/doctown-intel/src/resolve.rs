//! Resolving calls across a repository: each call's `target` is set to the symbol it calls when
//! that symbol is in the repository and the call names it unambiguously. In order:
//!
//! 1. `self.f()`, `this.f()`, `Self::f()`, `cls.f()`: a method `f` of the enclosing type.
//! 2. `f()`: a function nested in the caller or declared beside it (same scope, walking out),
//!    then one declared at the top of the same file, then a name the file imports.
//! 3. `X::f()`, `pkg.F()`, `module.f()`: a method `f` of type `X`, or a top-level `f` of the
//!    module or package the receiver names (an import's alias, or a module's file name).
//!
//! Where an import leads is the language's own rule (`RepoIndex::resolve`), as in the graph.
//!
//! Anything else (a method call on a value whose type is not known, a call into a dependency)
//! stays unresolved, with its name.

use std::collections::HashMap;

use doctown_common::{CallKind, FileAnalysis, Import, Symbol, SymbolId, SymbolKind};

use crate::imports::{ImportTarget, RepoIndex};
use crate::lang::grammar;

/// Where a symbol is: its file and its index in that file's symbols.
type Location = (usize, usize);

/// What is known about every symbol of the repository, for lookups by name.
struct SymbolTable<'a> {
    files: &'a [FileAnalysis],
    by_id: HashMap<SymbolId, Location>,
    /// Functions, classes and other callables declared at the top of a file, by name.
    top_level: HashMap<&'a str, Vec<Location>>,
    /// Symbols by the id of their parent.
    children: HashMap<SymbolId, Vec<Location>>,
    /// Methods by (owning type's name, method name).
    methods: HashMap<(&'a str, &'a str), Vec<Location>>,
    /// Where each import of each file leads in the repository, by file and import.
    import_targets: Vec<Vec<Option<ImportTarget<'a>>>>,
}

impl<'a> SymbolTable<'a> {
    fn new(files: &'a [FileAnalysis]) -> Self {
        let mut table = SymbolTable {
            files,
            by_id: HashMap::new(),
            top_level: HashMap::new(),
            children: HashMap::new(),
            methods: HashMap::new(),
            import_targets: Vec::new(),
        };
        let index = RepoIndex::new(files.iter().map(|file| file.path.as_str()));
        table.import_targets = files
            .iter()
            .map(|file| {
                file.imports
                    .iter()
                    .map(|import| index.resolve(file, import))
                    .collect()
            })
            .collect();
        for (file_index, file) in files.iter().enumerate() {
            let separator = grammar(file.language).separator();
            for (symbol_index, symbol) in file.symbols.iter().enumerate() {
                let location = (file_index, symbol_index);
                table.by_id.insert(symbol.id, location);
                match symbol.parent {
                    Some(parent) => table.children.entry(parent).or_default().push(location),
                    None if !is_owned(symbol, separator) => table
                        .top_level
                        .entry(&symbol.name)
                        .or_default()
                        .push(location),
                    None => {}
                }
                if symbol.kind == SymbolKind::Method
                    && let Some(owner) = owner_type(&symbol.qualified_name, separator)
                {
                    table
                        .methods
                        .entry((owner, &symbol.name))
                        .or_default()
                        .push(location);
                }
            }
        }
        table
    }

    fn symbol(&self, (file, index): Location) -> &'a Symbol {
        &self.files[file].symbols[index]
    }

    /// The first of `candidates` in `file`, else the only one anywhere.
    fn pick(&self, candidates: &[Location], file: usize) -> Option<SymbolId> {
        let local = candidates
            .iter()
            .find(|(candidate_file, _)| *candidate_file == file);
        let chosen = local.or(match candidates {
            [only] => Some(only),
            _ => None,
        })?;
        Some(self.symbol(*chosen).id)
    }

    /// The type a symbol's methods belong to: the nearest enclosing class, struct, impl, trait,
    /// interface or enum, by name.
    fn enclosing_type(&self, file: usize, symbol: &'a Symbol) -> Option<&'a str> {
        let separator = grammar(self.files[file].language).separator();
        let mut current = symbol;
        loop {
            if current.kind == SymbolKind::Method {
                return owner_type(&current.qualified_name, separator);
            }
            if current.kind.is_container() && current.kind != SymbolKind::Module {
                return Some(&current.name);
            }
            current = self.symbol(*self.by_id.get(&current.parent?)?);
        }
    }

    fn resolve(
        &self,
        file: usize,
        caller: &'a Symbol,
        call: &doctown_common::Call,
    ) -> Option<SymbolId> {
        let receiver = call.receiver.as_deref();
        match (call.kind, receiver) {
            (_, Some("self" | "this" | "Self" | "cls")) => {
                let owner = self.enclosing_type(file, caller)?;
                self.pick(self.methods.get(&(owner, call.name.as_str()))?, file)
            }
            (CallKind::Plain | CallKind::Constructor, None) => self
                .in_scope(caller, &call.name)
                .or_else(|| self.top_level_in(file, &call.name))
                .or_else(|| self.imported(file, &call.name)),
            (CallKind::Path | CallKind::Constructor, Some(receiver)) => {
                let last = last_segment(receiver);
                if let Some(candidates) = self.methods.get(&(last, call.name.as_str())) {
                    return self.pick(candidates, file);
                }
                self.in_module(file, receiver, &call.name)
            }
            _ => None,
        }
    }

    /// A symbol named `name` declared in the caller or in one of its enclosing symbols.
    fn in_scope(&self, caller: &'a Symbol, name: &str) -> Option<SymbolId> {
        let mut scope = Some(caller);
        while let Some(symbol) = scope {
            let found = self.children.get(&symbol.id).and_then(|children| {
                children
                    .iter()
                    .map(|&l| self.symbol(l))
                    .find(|s| s.name == name && is_callable(s))
            });
            if let Some(found) = found {
                return Some(found.id);
            }
            scope = symbol
                .parent
                .and_then(|parent| self.by_id.get(&parent))
                .map(|&l| self.symbol(l));
        }
        None
    }

    fn top_level_in(&self, file: usize, name: &str) -> Option<SymbolId> {
        self.top_level
            .get(name)?
            .iter()
            .filter(|(candidate_file, _)| *candidate_file == file)
            .map(|&l| self.symbol(l))
            .find(|s| is_callable(s))
            .map(|s| s.id)
    }

    /// The import of `file` that binds `name`, and where it leads.
    fn import_binding(&self, file: usize, name: &str) -> Option<(&'a Import, ImportTarget<'a>)> {
        let (position, import) = self.files[file]
            .imports
            .iter()
            .enumerate()
            .find(|(_, import)| import.local_name() == Some(name))?;
        Some((import, self.import_targets[file][position]?))
    }

    /// Whether the symbol at `location` is in `target` and written in `file`'s language.
    fn within(&self, (candidate_file, _): Location, target: ImportTarget<'_>, file: usize) -> bool {
        let candidate = &self.files[candidate_file];
        match target {
            ImportTarget::File(path) => candidate.path == path,
            ImportTarget::Package(_) => {
                candidate.language == self.files[file].language && target.holds(&candidate.path)
            }
        }
    }

    /// A top-level symbol that an import of this file binds to `name`.
    fn imported(&self, file: usize, name: &str) -> Option<SymbolId> {
        let (import, target) = self.import_binding(file, name)?;
        let item = import
            .name
            .as_deref()
            .filter(|n| *n != "*" && *n != "default")
            .unwrap_or(name);
        let candidates: Vec<Location> = self
            .top_level
            .get(item)?
            .iter()
            .copied()
            .filter(|&location| self.within(location, target, file))
            .collect();
        self.pick(&candidates, usize::MAX)
    }

    /// A top-level `name` in the module or package that `receiver` names: where the import
    /// binding it leads, else a file named after it.
    fn in_module(&self, file: usize, receiver: &str, name: &str) -> Option<SymbolId> {
        let candidates = self.top_level.get(name)?;
        let matching: Vec<Location> = match self.import_binding(file, receiver) {
            Some((_, target)) => candidates
                .iter()
                .copied()
                .filter(|&location| self.within(location, target, file))
                .collect(),
            None if self.files[file]
                .imports
                .iter()
                .any(|i| i.local_name() == Some(receiver)) =>
            {
                return None;
            }
            None => candidates
                .iter()
                .copied()
                .filter(|&(candidate_file, _)| {
                    file_stem(&self.files[candidate_file].path) == last_segment(receiver)
                })
                .collect(),
        };
        self.pick(&matching, usize::MAX)
    }
}

/// Sets `target` on every call of every symbol in `files` that resolves to a symbol in them.
pub fn resolve_calls(files: &mut [FileAnalysis]) {
    let mut targets: Vec<(Location, usize, SymbolId)> = Vec::new();
    {
        let table = SymbolTable::new(files);
        for (file_index, file) in files.iter().enumerate() {
            for (symbol_index, symbol) in file.symbols.iter().enumerate() {
                for (call_index, call) in symbol.calls.iter().enumerate() {
                    if let Some(target) = table.resolve(file_index, symbol, call) {
                        targets.push(((file_index, symbol_index), call_index, target));
                    }
                }
            }
        }
    }
    for ((file, symbol), call, target) in targets {
        files[file].symbols[symbol].calls[call].target = Some(target);
    }
}

/// A Go method is declared at the top of its file but belongs to its receiver's type.
fn is_owned(symbol: &Symbol, separator: &str) -> bool {
    symbol.kind == SymbolKind::Method && symbol.qualified_name.contains(separator)
}

/// The type a method's qualified name puts it in: `Parser::parse` → `Parser`.
fn owner_type<'q>(qualified_name: &'q str, separator: &str) -> Option<&'q str> {
    let (owner, _) = qualified_name.rsplit_once(separator)?;
    Some(owner.rsplit(separator).next().unwrap_or(owner))
}

fn is_callable(symbol: &Symbol) -> bool {
    matches!(
        symbol.kind,
        SymbolKind::Function | SymbolKind::Method | SymbolKind::Class | SymbolKind::Struct
    )
}

/// `crate::parser::Parser` → `Parser`; `pkg` → `pkg`.
fn last_segment(path: &str) -> &str {
    path.rsplit(['.', ':'])
        .find(|s| !s.is_empty())
        .unwrap_or(path)
}

/// `src/parser/mod.rs` → `parser`; `pkg/util.py` → `util`; `lib/index.ts` → `lib`.
fn file_stem(path: &str) -> &str {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or(path);
    let stem = file.split('.').next().unwrap_or(file);
    if matches!(stem, "mod" | "__init__" | "index") {
        parts.next().unwrap_or(stem)
    } else {
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Extracts `files`, resolves them together, and gives `caller`'s calls as
    /// (callee, qualified name of the target) pairs.
    fn resolved(files: &[(&str, &str)], caller: &str) -> Vec<(String, Option<String>)> {
        let mut analyses = crate::imports::tests::analyses(files);
        resolve_calls(&mut analyses);
        let all: Vec<&Symbol> = analyses.iter().flat_map(|a| &a.symbols).collect();
        let name_of = |id: SymbolId| {
            all.iter()
                .find(|s| s.id == id)
                .map(|s| s.qualified_name.clone())
        };
        let symbol = all
            .iter()
            .find(|s| s.qualified_name == caller)
            .expect("caller exists");
        symbol
            .calls
            .iter()
            .map(|c| (c.callee.clone(), c.target.and_then(name_of)))
            .collect()
    }

    fn target(calls: &[(String, Option<String>)], callee: &str) -> Option<String> {
        calls
            .iter()
            .find(|(c, _)| c == callee)
            .and_then(|(_, t)| t.clone())
    }

    #[test]
    fn python_self_calls_nested_functions_and_imports() {
        let calls = resolved(
            &[
                ("pkg/util.py", "def helper():\n    pass\n"),
                (
                    "pkg/app.py",
                    "from .util import helper\nimport os\n\nclass App:\n    def run(self):\n        def inner():\n            pass\n        inner()\n        self.stop()\n        helper()\n        os.getcwd()\n        Other()\n\n    def stop(self):\n        pass\n\nclass Other:\n    pass\n",
                ),
            ],
            "App.run",
        );
        assert_eq!(target(&calls, "inner").as_deref(), Some("App.run.inner"));
        assert_eq!(target(&calls, "self.stop").as_deref(), Some("App.stop"));
        assert_eq!(target(&calls, "helper").as_deref(), Some("helper"));
        assert_eq!(target(&calls, "Other").as_deref(), Some("Other"));
        assert_eq!(
            target(&calls, "os.getcwd"),
            None,
            "the standard library is not in the repo"
        );
    }

    #[test]
    fn rust_associated_self_and_module_calls() {
        let calls = resolved(
            &[
                (
                    "src/lexer.rs",
                    "pub fn tokenize(s: &str) -> Vec<Token> { Vec::new() }\n",
                ),
                (
                    "src/parser.rs",
                    "use crate::lexer;\n\npub struct Parser;\n\nimpl Parser {\n    pub fn new() -> Self { Parser }\n    fn step(&self) {}\n    pub fn parse(&self, s: &str) {\n        let p = Parser::new();\n        self.step();\n        lexer::tokenize(s);\n        helper();\n        s.len();\n    }\n}\n\nfn helper() {}\n",
                ),
            ],
            "Parser::parse",
        );
        assert_eq!(
            target(&calls, "Parser::new").as_deref(),
            Some("Parser::new")
        );
        assert_eq!(target(&calls, "self.step").as_deref(), Some("Parser::step"));
        assert_eq!(
            target(&calls, "lexer::tokenize").as_deref(),
            Some("tokenize")
        );
        assert_eq!(target(&calls, "helper").as_deref(), Some("helper"));
        assert_eq!(target(&calls, "s.len"), None);
    }

    #[test]
    fn go_package_calls_and_receivers() {
        let calls = resolved(
            &[
                (
                    "internal/store/store.go",
                    "package store\n\nfunc Open(p string) *DB { return nil }\n\ntype DB struct{}\n",
                ),
                (
                    "cmd/server/main.go",
                    "package main\n\nimport (\n\t\"example.com/app/internal/store\"\n\t\"fmt\"\n)\n\ntype Server struct{}\n\nfunc (s *Server) Serve() {}\n\nfunc main() {\n\tdb := store.Open(\"x\")\n\tfmt.Println(db)\n\tvar s Server\n\ts.Serve()\n\tstart()\n}\n\nfunc start() {}\n",
                ),
            ],
            "main",
        );
        assert_eq!(target(&calls, "store.Open").as_deref(), Some("Open"));
        assert_eq!(target(&calls, "fmt.Println"), None);
        assert_eq!(target(&calls, "start").as_deref(), Some("start"));
        assert_eq!(
            target(&calls, "s.Serve"),
            None,
            "the type of a variable is not tracked"
        );
    }

    #[test]
    fn typescript_relative_imports_this_and_new() {
        let calls = resolved(
            &[
                (
                    "src/lib/math.ts",
                    "export function add(a: number, b: number) { return a + b; }\nexport class Vec {}\n",
                ),
                (
                    "src/app.ts",
                    "import { add as plus, Vec } from './lib/math';\nimport * as path from 'path';\n\nexport class App {\n  run() {\n    plus(1, 2);\n    this.stop();\n    new Vec();\n    path.join('a');\n  }\n  stop() {}\n}\n",
                ),
            ],
            "App.run",
        );
        assert_eq!(target(&calls, "plus").as_deref(), Some("add"));
        assert_eq!(target(&calls, "this.stop").as_deref(), Some("App.stop"));
        assert_eq!(target(&calls, "Vec").as_deref(), Some("Vec"));
        assert_eq!(target(&calls, "path.join"), None);
    }

    #[test]
    fn module_names_come_from_paths() {
        assert_eq!(file_stem("src/parser/mod.rs"), "parser");
        assert_eq!(file_stem("pkg/util.py"), "util");
        assert_eq!(last_segment("crate::lexer"), "lexer");
    }
}
