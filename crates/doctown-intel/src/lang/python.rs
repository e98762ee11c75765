//! Python: `def` and `async def` (functions, methods, nested), `class`, module-level assignments
//! (plain, annotated, chained, unpacked, inside module-level `if` / `try`), `__all__`, calls,
//! `import` and `from … import` with relative levels.

use doctown_common::{
    CallKind, EntryKind, FileAnalysis, Import, ImportKind, Parameter, SymbolKind, SymbolTag,
    Visibility,
};
use tree_sitter::Node;

use super::{
    EntryFound, Grammar, decorator_call, has_token, http_method, is_route_path, named_children,
    parameter, route_name, type_text, unquote,
};
use crate::extract::{Cx, Definition};
use crate::imports::{ImportTarget, RepoIndex, folder_of, only};
use crate::modules::{ModuleKind, ModuleStep, last_component};
use crate::text::{clean_doc, one_line};

/// The Python grammar.
pub(crate) struct Python;

/// Statements that keep an assignment at module level when they enclose it.
const MODULE_LEVEL_BLOCKS: &[&str] = &[
    "module",
    "block",
    "if_statement",
    "elif_clause",
    "else_clause",
    "try_statement",
    "except_clause",
    "except_group_clause",
    "finally_clause",
    "expression_statement",
];

impl Grammar for Python {
    fn ts_language(&self) -> tree_sitter::Language {
        tree_sitter_python::LANGUAGE.into()
    }

    fn separator(&self) -> &'static str {
        "."
    }

    fn kinds(&self) -> &'static [&'static str] {
        &[
            "function_definition",
            "class_definition",
            "assignment",
            "call",
            "import_statement",
            "future_import_statement",
            "import_from_statement",
            "if_statement",
        ]
    }

    fn visit(&self, node: Node<'_>, cx: &mut Cx<'_>) {
        match node.kind() {
            "function_definition" => function(node, cx),
            "class_definition" => class(node, cx),
            "assignment" => assignment(node, cx),
            "call" => call(node, cx),
            "import_statement" | "future_import_statement" => import(node, cx),
            "import_from_statement" => import_from(node, cx),
            "if_statement" => main_guard(node, cx),
            _ => {}
        }
    }

    /// A package is a folder with `__init__.py`, named by its dotted path from the topmost
    /// package above it; each other file is a module of its package (`shop.models`), or, outside
    /// any package, of its folder.
    fn module_of(&self, path: &str, index: &RepoIndex<'_>) -> Vec<ModuleStep> {
        let folder = folder_of(path);
        let mut packages = Vec::new();
        let mut above = folder;
        while !above.is_empty() && index.file(&format!("{above}/__init__.py")).is_some() {
            packages.push(above);
            above = folder_of(above);
        }
        packages.reverse();
        let dotted = |folder: &str| {
            folder
                .strip_prefix(above)
                .unwrap_or(folder)
                .trim_start_matches('/')
                .replace('/', ".")
        };
        let mut steps: Vec<ModuleStep> = packages
            .iter()
            .map(|package| ModuleStep::folder(package, dotted(package), ModuleKind::Package))
            .collect();
        if packages.is_empty() && !folder.is_empty() {
            steps.push(ModuleStep::folder(
                folder,
                folder.to_owned(),
                ModuleKind::Directory,
            ));
        }
        let stem = path.rsplit_once('.').map_or(path, |(stem, _)| stem);
        let name = last_component(stem);
        if name == "__init__" && !packages.is_empty() {
            return steps;
        }
        steps.push(ModuleStep {
            id: stem.to_owned(),
            name: if packages.is_empty() {
                name.to_owned()
            } else {
                format!("{}.{name}", dotted(folder))
            },
            kind: ModuleKind::Module,
            folder: None,
        });
        steps
    }

    /// The module's docstring.
    fn file_doc(&self, root: Node<'_>, cx: &Cx<'_>) -> Option<String> {
        docstring(root, cx)
    }

    /// A module by its dotted name, from the repository's root or (when none is there) from any
    /// folder that holds it alone, as a `src/` layout does; relative imports from the
    /// importer's package. `from pkg import name` names the module `pkg.name` when there is
    /// one, else `pkg`.
    fn resolve_import<'r>(
        &self,
        importer: &FileAnalysis,
        import: &Import,
        index: &RepoIndex<'r>,
    ) -> Option<ImportTarget<'r>> {
        let mut base: Vec<&str> = Vec::new();
        if import.level > 0 {
            base.extend(
                folder_of(&importer.path)
                    .split('/')
                    .filter(|p| !p.is_empty()),
            );
            for _ in 1..import.level {
                base.pop()?;
            }
        }
        base.extend(import.module.split('.').filter(|p| !p.is_empty()));
        let submodule = import
            .name
            .as_deref()
            .filter(|name| *name != "*")
            .map(|name| [base.as_slice(), &[name]].concat());
        submodule
            .into_iter()
            .chain([base])
            .find_map(|parts| module_file(&parts, import.level > 0, index))
            .map(ImportTarget::File)
    }
}

fn function(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(name) = cx.field_text(node, "name") else {
        return;
    };
    let in_class = cx.parent_kind() == Some(SymbolKind::Class);
    let kind = if in_class {
        SymbolKind::Method
    } else {
        SymbolKind::Function
    };
    let mut definition = Definition::new(kind, name, node);
    if has_token(node, "async") {
        definition.tags.push(SymbolTag::Async);
    }
    if in_class && definition.name == "__init__" {
        definition.tags.push(SymbolTag::Constructor);
    }
    finish(node, &mut definition, cx);
    definition.entry = definition
        .decorators
        .iter()
        .find_map(|d| decorated_entry(d, &definition.name));
    cx.define(definition, Some(node));
}

/// The entry point a function's decorator makes it: a route of Flask, FastAPI and their kin
/// (`@app.route("/x", methods=["POST"])`, `@router.get("/x")`), or a command of click or typer
/// (`@click.command()`, `@cli.command("name")`, `@app.command()`).
fn decorated_entry(decorator: &str, function: &str) -> Option<(EntryKind, String)> {
    let (callee, first) = decorator_call(decorator);
    let method = callee.rsplit('.').next().unwrap_or(callee);
    if let Some(path) = first.as_deref().filter(|path| is_route_path(path)) {
        let verb = match http_method(method) {
            Some(verb) => Some(verb),
            None if method.ends_with("route") => {
                decorator.split_once("methods").and_then(|(_, methods)| {
                    methods
                        .split(|c: char| !c.is_ascii_alphabetic())
                        .find_map(http_method)
                })
            }
            None => return None,
        };
        return Some((EntryKind::Route, route_name(verb.as_deref(), path)));
    }
    let is_command = callee.contains('.') && matches!(method, "command" | "group");
    is_command.then(|| {
        (
            EntryKind::Command,
            first.unwrap_or_else(|| function.replace('_', "-")),
        )
    })
}

/// `if __name__ == "__main__":` at module level: the module runs as a program.
fn main_guard(node: Node<'_>, cx: &mut Cx<'_>) {
    if node.parent().is_none_or(|parent| parent.kind() != "module") {
        return;
    }
    let Some(condition) = node.child_by_field_name("condition") else {
        return;
    };
    let condition: String = cx.text(condition).split_whitespace().collect();
    let condition = condition.replace('\'', "\"");
    if condition == "__name__==\"__main__\"" || condition == "\"__main__\"==__name__" {
        EntryFound {
            kind: EntryKind::Main,
            name: "__main__".to_owned(),
            at: node.start_byte(),
            handler: None,
        }
        .report(cx);
    }
}

fn class(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(name) = cx.field_text(node, "name") else {
        return;
    };
    let mut definition = Definition::new(SymbolKind::Class, name, node);
    finish(node, &mut definition, cx);
    cx.define(definition, Some(node));
}

/// Fills in what `def` and `class` share: the end (the last statement, not trailing comments),
/// the signature, the docstring, decorators and visibility.
fn finish(node: Node<'_>, definition: &mut Definition, cx: &Cx<'_>) {
    let body = node.child_by_field_name("body");
    definition.end = end_of_code(node);
    let signature_end = body.map_or(node.end_byte(), |body| body.start_byte());
    definition.signature = one_line(
        cx.slice(node.start_byte(), signature_end)
            .trim_end()
            .trim_end_matches(':'),
        300,
    );
    definition.doc = body.and_then(|body| docstring(body, cx));
    if definition.kind != SymbolKind::Class {
        if let Some(list) = node.child_by_field_name("parameters") {
            definition.parameters = parameters(list, cx);
        }
        definition.returns = node
            .child_by_field_name("return_type")
            .map(|ty| type_text(ty, cx));
    }
    if let Some(decorated) = node
        .parent()
        .filter(|parent| parent.kind() == "decorated_definition")
    {
        definition.outer_start = decorated.start_byte();
        definition.decorators = named_children(decorated)
            .filter(|child| child.kind() == "decorator")
            .map(|decorator| one_line(&cx.text(decorator), 200))
            .collect();
    }
    definition.visibility = visibility(&definition.name);
}

/// A function's parameters: `x`, `x: T`, `x=1`, `x: T = 1`, `*args`, `**kwargs`; `self` and
/// `cls` are the receiver, and the bare `*` and `/` separators are not parameters.
fn parameters(list: Node<'_>, cx: &Cx<'_>) -> Vec<Parameter> {
    named_children(list)
        .filter_map(|child| {
            let (name, ty) = match child.kind() {
                "identifier" | "list_splat_pattern" | "dictionary_splat_pattern" => {
                    (Some(child), None)
                }
                "typed_parameter" => (child.named_child(0), child.child_by_field_name("type")),
                "default_parameter" | "typed_default_parameter" => (
                    child.child_by_field_name("name"),
                    child.child_by_field_name("type"),
                ),
                _ => return None,
            };
            let parameter = parameter(name, ty, cx);
            (!matches!(parameter.name.as_deref(), Some("self" | "cls"))).then_some(parameter)
        })
        .collect()
}

/// Where the last token of `node` that is not a comment ends: tree-sitter keeps comments that
/// trail a block inside it, where Python counts the block as ending with its last statement.
fn end_of_code(mut node: Node<'_>) -> usize {
    loop {
        let last_code = (0..node.child_count())
            .rev()
            .filter_map(|i| node.child(i))
            .find(|child| child.kind() != "comment" && child.end_byte() > child.start_byte());
        match last_code {
            Some(child) => node = child,
            None => return node.end_byte(),
        }
    }
}

/// The docstring: a string literal as the body's first statement.
fn docstring(body: Node<'_>, cx: &Cx<'_>) -> Option<String> {
    let first = named_children(body).find(|child| child.kind() != "comment")?;
    if first.kind() != "expression_statement" {
        return None;
    }
    let string = first
        .named_child(0)
        .filter(|child| child.kind() == "string")?;
    let content: String = named_children(string)
        .filter(|part| part.kind() == "string_content")
        .map(|part| cx.text(part).into_owned())
        .collect();
    clean_doc(&content)
}

/// `_private` names are private; dunder names and the rest are public.
fn visibility(name: &str) -> Visibility {
    if name.starts_with('_') && !(name.starts_with("__") && name.ends_with("__")) {
        Visibility::Private
    } else {
        Visibility::Public
    }
}

/// A module-level assignment gives one variable per name it binds: `a = b = 1` two, `x, y = p`
/// two, `x: int = 0` one. Each spans the whole statement.
fn assignment(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(statement) = node.parent() else {
        return;
    };
    // Only the outermost assignment of a chain is a statement of its own.
    if statement.kind() != "expression_statement" || cx.parent_kind().is_some() {
        return;
    }
    if !is_module_level(statement) {
        return;
    }
    let mut names = Vec::new();
    let mut current = Some(node);
    while let Some(assignment) = current.filter(|n| n.kind() == "assignment") {
        if let Some(left) = assignment.child_by_field_name("left") {
            bound_names(left, cx, &mut names);
        }
        current = assignment.child_by_field_name("right");
    }
    if let (true, Some(value)) = (names == ["__all__"], current) {
        for item in named_children(value).filter(|item| item.kind() == "string") {
            let text: String = named_children(item)
                .filter(|part| part.kind() == "string_content")
                .map(|part| cx.text(part).into_owned())
                .collect();
            cx.export(text);
        }
    }
    let signature = one_line(&cx.text(statement), 200);
    for name in names {
        let mut definition = Definition::new(SymbolKind::Variable, name, statement);
        definition.signature = signature.clone();
        definition.visibility = visibility(&definition.name);
        cx.define(definition, None);
    }
}

/// The plain names a left-hand side binds (attributes and subscripts bind none).
fn bound_names(target: Node<'_>, cx: &Cx<'_>, names: &mut Vec<String>) {
    match target.kind() {
        "identifier" => names.push(cx.text(target).into_owned()),
        "pattern_list" | "tuple_pattern" | "list_pattern" | "list_splat_pattern" => {
            for child in named_children(target) {
                bound_names(child, cx, names);
            }
        }
        _ => {}
    }
}

/// Whether a statement is at module level: only `if` / `try` blocks lie between it and the module.
fn is_module_level(statement: Node<'_>) -> bool {
    let mut current = statement.parent();
    // Module-level nesting is shallow in real code; a bound keeps pathological files linear.
    for _ in 0..64 {
        match current {
            None => return true,
            Some(node) if node.kind() == "module" => return true,
            Some(node) if MODULE_LEVEL_BLOCKS.contains(&node.kind()) => current = node.parent(),
            Some(_) => return false,
        }
    }
    false
}

fn call(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(function) = node.child_by_field_name("function") else {
        return;
    };
    let callee = cx.text(function).into_owned();
    command_parser(node, &callee, cx);
    match function.kind() {
        "identifier" => {
            let kind = if callee.starts_with(|c: char| c.is_ascii_uppercase()) {
                CallKind::Constructor
            } else {
                CallKind::Plain
            };
            cx.call(node, callee.clone(), callee, None, kind);
        }
        "attribute" => {
            if let (Some(object), Some(attribute)) = (
                function.child_by_field_name("object"),
                function.child_by_field_name("attribute"),
            ) {
                cx.member_call(node, object, attribute);
            }
        }
        _ => {}
    }
}

/// argparse's parsers: `ArgumentParser(prog="tool")` a command (named by `prog` when it is
/// given), `subparsers.add_parser("name")` a subcommand.
fn command_parser(node: Node<'_>, callee: &str, cx: &mut Cx<'_>) {
    let method = callee.rsplit('.').next().unwrap_or(callee);
    if method != "ArgumentParser" && method != "add_parser" {
        return;
    }
    let Some(arguments) = node.child_by_field_name("arguments") else {
        return;
    };
    let mut name = None;
    for argument in named_children(arguments) {
        match argument.kind() {
            "string" if method == "add_parser" && name.is_none() => {
                name = unquote(&cx.text(argument));
            }
            "keyword_argument" if cx.field_text(argument, "name").as_deref() == Some("prog") => {
                name = argument
                    .child_by_field_name("value")
                    .and_then(|value| unquote(&cx.text(value)));
            }
            _ => {}
        }
    }
    if method == "add_parser" && name.is_none() {
        return;
    }
    EntryFound {
        kind: EntryKind::Command,
        name: name.unwrap_or_else(|| "argparse".to_owned()),
        at: node.start_byte(),
        handler: None,
    }
    .report(cx);
}

/// `import a.b, c as d`.
fn import(node: Node<'_>, cx: &mut Cx<'_>) {
    let line = cx.line_of(node.start_byte());
    for name in named_children(node) {
        let (module, alias) = match name.kind() {
            "dotted_name" => (cx.text(name).into_owned(), None),
            "aliased_import" => (
                cx.field_text(name, "name").unwrap_or_default(),
                cx.field_text(name, "alias"),
            ),
            _ => continue,
        };
        let module = if node.kind() == "future_import_statement" {
            format!("__future__.{module}")
        } else {
            module
        };
        cx.import(Import {
            path: module.clone(),
            module,
            name: None,
            alias,
            level: 0,
            kind: ImportKind::Import,
            line,
        });
    }
}

/// `from ..pkg.mod import a, b as c` and `from x import *`.
fn import_from(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(module_node) = node.child_by_field_name("module_name") else {
        return;
    };
    let module = cx.text(module_node).split_whitespace().collect::<String>();
    let level = module.chars().take_while(|&c| c == '.').count() as u32;
    let line = cx.line_of(node.start_byte());
    let mut imported = Vec::new();
    for child in named_children(node) {
        if child.id() == module_node.id() {
            continue;
        }
        match child.kind() {
            "dotted_name" => imported.push((cx.text(child).into_owned(), None)),
            "aliased_import" => imported.push((
                cx.field_text(child, "name").unwrap_or_default(),
                cx.field_text(child, "alias"),
            )),
            "wildcard_import" => imported.push(("*".to_owned(), None)),
            _ => {}
        }
    }
    for (name, alias) in imported {
        let separator = if module.ends_with('.') { "" } else { "." };
        cx.import(Import {
            path: format!("{module}{separator}{name}"),
            module: module.clone(),
            name: Some(name),
            alias,
            level,
            kind: ImportKind::Import,
            line,
        });
    }
}

/// The file of the module whose path from the root is `parts` (`a/b.py`, `a/b/__init__.py`,
/// or their stubs); unless `relative`, also a file that ends with that path, when only one does.
fn module_file<'r>(parts: &[&str], relative: bool, index: &RepoIndex<'r>) -> Option<&'r str> {
    let (&last, _) = parts.split_last()?;
    let stem = parts.join("/");
    const FORMS: [&str; 4] = [".py", ".pyi", "/__init__.py", "/__init__.pyi"];
    if let Some(file) = index.first_file(FORMS.map(|form| format!("{stem}{form}"))) {
        return Some(file);
    }
    if relative {
        return None;
    }
    let wanted = format!("/{stem}");
    let module = [".py", ".pyi"].iter().find_map(|form| {
        let files = index.files_named(&format!("{last}{form}"));
        only(
            files
                .iter()
                .filter(|path| path.ends_with(&format!("{wanted}{form}"))),
        )
        .copied()
    });
    module.or_else(|| {
        let packages = index
            .folders_named(last)
            .iter()
            .filter(|folder| folder.ends_with(&wanted));
        only(packages.filter_map(|folder| {
            index.first_file(["__init__.py", "__init__.pyi"].map(|init| format!("{folder}/{init}")))
        }))
    })
}
