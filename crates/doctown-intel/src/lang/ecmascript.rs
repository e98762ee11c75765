//! JavaScript, JSX, TypeScript and TSX, which share most of their grammar: function
//! declarations and overloads, classes (methods, getters and setters, `#private`, abstract),
//! functions, arrow functions and classes bound to module-level `const` / `let` / `var`, other
//! module-level bindings, interfaces, type aliases, enums, namespaces and `declare module`,
//! CommonJS `module.exports` / `exports.x`; calls and `new`; `import`, `require` and re-exports.

use doctown_common::{
    CallKind, EntryKind, FileAnalysis, Import, ImportKind, SymbolKind, SymbolTag, Visibility,
};
use tree_sitter::Node;

use super::{
    EntryFound, Grammar, children, has_token, named_children, parameter, route_call, type_text,
    unquote,
};
use crate::extract::{Cx, Definition};
use crate::imports::{ImportTarget, RepoIndex, folder_of, normalize};
use crate::modules::{ModuleKind, ModuleStep, last_component, nearest_with};
use crate::text::{one_line, strip_block_comment};

/// One of the ECMAScript-family grammars.
pub(crate) struct EcmaScript {
    language: fn() -> tree_sitter::Language,
}

/// TypeScript without JSX.
pub(crate) static TYPESCRIPT: EcmaScript = EcmaScript {
    language: || tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
};
/// TypeScript with JSX.
pub(crate) static TSX: EcmaScript = EcmaScript {
    language: || tree_sitter_typescript::LANGUAGE_TSX.into(),
};
/// JavaScript, JSX included.
pub(crate) static JAVASCRIPT: EcmaScript = EcmaScript {
    language: || tree_sitter_javascript::LANGUAGE.into(),
};

impl Grammar for EcmaScript {
    fn ts_language(&self) -> tree_sitter::Language {
        (self.language)()
    }

    fn separator(&self) -> &'static str {
        "."
    }

    fn kinds(&self) -> &'static [&'static str] {
        &[
            "function_declaration",
            "generator_function_declaration",
            "function_signature",
            "class_declaration",
            "abstract_class_declaration",
            "class",
            "function_expression",
            "generator_function",
            "method_definition",
            "method_signature",
            "abstract_method_signature",
            "interface_declaration",
            "type_alias_declaration",
            "enum_declaration",
            "internal_module",
            "module",
            "variable_declarator",
            "expression_statement",
            "export_statement",
            "call_expression",
            "new_expression",
            "import_statement",
            "import_require_clause",
        ]
    }

    fn visit(&self, node: Node<'_>, cx: &mut Cx<'_>) {
        match node.kind() {
            "function_declaration" | "generator_function_declaration" | "function_signature" => {
                function(node, cx)
            }
            "class_declaration" | "abstract_class_declaration" => class(node, None, cx),
            "class"
                if node
                    .parent()
                    .is_some_and(|p| p.kind() == "export_statement") =>
            {
                class(node, None, cx)
            }
            "function_expression" | "generator_function"
                if node
                    .parent()
                    .is_some_and(|p| p.kind() == "export_statement") =>
            {
                function(node, cx)
            }
            "method_definition" | "method_signature" | "abstract_method_signature" => {
                // Members of a class body only: not methods of object literals or type literals.
                let in_class_body = node.parent().is_some_and(|p| p.kind() == "class_body");
                if in_class_body && cx.parent_kind() == Some(SymbolKind::Class) {
                    method(node, cx);
                }
            }
            "interface_declaration" => named(node, SymbolKind::Interface, cx),
            "type_alias_declaration" => named(node, SymbolKind::TypeAlias, cx),
            "enum_declaration" => named(node, SymbolKind::Enum, cx),
            "internal_module" | "module" => namespace(node, cx),
            "variable_declarator" => binding(node, cx),
            "expression_statement" => commonjs_export(node, cx),
            "export_statement" => re_export(node, cx),
            "call_expression" => call(node, cx),
            "new_expression" => construct(node, cx),
            "import_statement" => import(node, cx),
            "import_require_clause" => import_require(node, cx),
            _ => {}
        }
    }

    /// A package is a folder with `package.json` below the root (a workspace's member; the
    /// root's own is the repository); each folder of script files is a directory module, in
    /// its package when it has one.
    fn module_of(&self, path: &str, index: &RepoIndex<'_>) -> Vec<ModuleStep> {
        let folder = folder_of(path);
        let package = nearest_with(index, folder, "package.json").filter(|p| !p.is_empty());
        let mut steps = Vec::new();
        if let Some(package) = package {
            let name = last_component(package).to_owned();
            steps.push(ModuleStep::folder(package, name, ModuleKind::Package));
        }
        if package != Some(folder) {
            let name = match package {
                Some(package) => format!(
                    "{}/{}",
                    last_component(package),
                    folder[package.len()..].trim_start_matches('/')
                ),
                None if folder.is_empty() => ".".to_owned(),
                None => folder.to_owned(),
            };
            steps.push(ModuleStep::folder(folder, name, ModuleKind::Directory));
        }
        steps
    }

    /// A `/** … */` block opening the file (after a `#!` line and `//` comments) that is the
    /// file's own: tagged `@file`, `@fileoverview`, `@module` or `@packageDocumentation`, or
    /// not directly above a declaration it would document.
    fn file_doc(&self, root: Node<'_>, cx: &Cx<'_>) -> Option<String> {
        let mut opening = children(root).skip_while(|child| {
            child.kind() == "hash_bang_line"
                || (child.kind() == "comment" && cx.text(*child).starts_with("//"))
        });
        let comment = opening.next().filter(|child| child.kind() == "comment")?;
        let text = cx.text(comment);
        if !text.starts_with("/**") || text.starts_with("/***") {
            return None;
        }
        let tagged = ["@file", "@fileoverview", "@module", "@packageDocumentation"]
            .iter()
            .any(|tag| text.contains(tag));
        let documents_next = opening.next().is_some_and(|next| {
            !matches!(
                next.kind(),
                "import_statement" | "expression_statement" | "comment"
            ) && cx.line_of(comment.end_byte()) + 1 >= cx.line_of(next.start_byte())
        });
        if !tagged && documents_next {
            return None;
        }
        let doc = strip_block_comment(&text)?;
        let lines: Vec<&str> = doc
            .lines()
            .filter(|line| {
                !["@file", "@fileoverview", "@module", "@packageDocumentation"]
                    .iter()
                    .any(|tag| line.trim() == *tag)
            })
            .collect();
        let doc = lines.join("\n");
        let doc = ["@fileoverview", "@file", "@module", "@packageDocumentation"]
            .iter()
            .fold(doc, |doc, tag| doc.replace(tag, ""));
        let doc = doc.trim();
        (!doc.is_empty()).then(|| doc.to_owned())
    }

    /// Relative specifiers only (`./a`, `../lib`), as Node and bundlers resolve them: the file
    /// itself, with one of the script extensions added, or a folder's `index` file; a `.js`
    /// specifier may name the TypeScript file it is compiled from. Bare specifiers name
    /// packages, outside the repository.
    fn resolve_import<'r>(
        &self,
        importer: &FileAnalysis,
        import: &Import,
        index: &RepoIndex<'r>,
    ) -> Option<ImportTarget<'r>> {
        let specifier = import.module.as_str();
        let relative = specifier == "."
            || specifier == ".."
            || specifier.starts_with("./")
            || specifier.starts_with("../");
        if !relative {
            return None;
        }
        let joined = normalize(&format!("{}/{specifier}", folder_of(&importer.path)))?;
        const EXTENSIONS: [&str; 9] = [
            ".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts",
        ];
        let compiled_from = [
            (".js", ".ts"),
            (".jsx", ".tsx"),
            (".mjs", ".mts"),
            (".cjs", ".cts"),
        ]
        .iter()
        .filter_map(|(js, ts)| Some(format!("{}{ts}", joined.strip_suffix(js)?)));
        let candidates = std::iter::once(joined.clone())
            .chain(
                EXTENSIONS
                    .iter()
                    .map(|extension| format!("{joined}{extension}")),
            )
            .chain(compiled_from)
            .chain(EXTENSIONS.iter().map(|extension| match joined.as_str() {
                "" => format!("index{extension}"),
                folder => format!("{folder}/index{extension}"),
            }));
        index.first_file(candidates).map(ImportTarget::File)
    }
}

/// The node a declaration is written as a statement with: the `export` or `declare` wrapping it,
/// if any.
fn statement_of(declaration: Node<'_>) -> Node<'_> {
    let mut statement = declaration;
    while let Some(parent) = statement
        .parent()
        .filter(|p| matches!(p.kind(), "export_statement" | "ambient_declaration"))
    {
        statement = parent;
    }
    statement
}

/// Where a statement's code starts: its first child that is not a decorator or comment.
fn code_start(node: Node<'_>) -> usize {
    children(node)
        .find(|child| !matches!(child.kind(), "decorator" | "comment"))
        .map_or(node.start_byte(), |child| child.start_byte())
}

/// Fills in the range (from the statement's first keyword, decorators excluded), decorators,
/// the JSDoc comment before the statement, and module-level visibility.
fn place(declaration: Node<'_>, definition: &mut Definition, cx: &Cx<'_>) {
    let statement = statement_of(declaration);
    definition.start = code_start(statement);
    definition.outer_start = statement.start_byte();
    definition.end = declaration.end_byte().max(definition.start);
    if statement.kind() == "export_statement" && declaration.kind().ends_with("declaration") {
        // `export const x = 1;`: the statement's end takes in the semicolon.
        definition.end = statement.end_byte();
    }
    definition.decorators = [statement, declaration]
        .iter()
        .flat_map(|node| children(*node))
        .filter(|child| child.kind() == "decorator")
        .map(|decorator| one_line(&cx.text(decorator), 200))
        .collect();
    definition.decorators.dedup();
    definition.doc = jsdoc(statement, definition, cx);
    let exported = statement.kind() != declaration.kind();
    definition.visibility = if exported {
        Visibility::Public
    } else {
        Visibility::Private
    };
    if statement.kind() == "export_statement" && has_token(statement, "default") {
        definition.tags.push(SymbolTag::DefaultExport);
    }
}

/// The `/** … */` comment right before `node`.
fn jsdoc(node: Node<'_>, definition: &mut Definition, cx: &Cx<'_>) -> Option<String> {
    let comment = node
        .prev_sibling()
        .filter(|sibling| sibling.kind() == "comment")?;
    let text = cx.text(comment);
    if !text.starts_with("/**") || text.starts_with("/***") {
        return None;
    }
    definition.outer_start = comment.start_byte();
    strip_block_comment(&text)
}

/// The signature: the declaration from its first keyword up to its body.
fn signature_up_to(node: Node<'_>, start: usize, body: Option<Node<'_>>, cx: &Cx<'_>) -> String {
    let end = body.map_or(node.end_byte(), |body| body.start_byte());
    one_line(cx.slice(start, end.max(start)).trim_end_matches(';'), 400)
}

/// A name as written, without the quotes of a string-literal name.
fn name_text(node: Node<'_>, cx: &Cx<'_>) -> String {
    cx.text(node).trim_matches(['"', '\'', '`']).to_owned()
}

fn function(node: Node<'_>, cx: &mut Cx<'_>) {
    let name = node
        .child_by_field_name("name")
        .map_or_else(|| "default".to_owned(), |n| name_text(n, cx));
    let mut definition = Definition::new(SymbolKind::Function, name, node);
    place(node, &mut definition, cx);
    function_tags(node, &mut definition);
    signature_parts(node, &mut definition, cx);
    if node.kind() == "function_signature" {
        definition.tags.push(SymbolTag::Declaration);
    }
    definition.signature =
        signature_up_to(node, definition.start, node.child_by_field_name("body"), cx);
    cx.define(definition, Some(node));
}

/// A function's parameters (`x`, `x: T`, `x?: T`, `x = 1`, `...rest`, a destructured
/// `{ a, b }`; TypeScript's `this: T` is the receiver) and its declared return type.
fn signature_parts(function: Node<'_>, definition: &mut Definition, cx: &Cx<'_>) {
    if let Some(single) = function.child_by_field_name("parameter") {
        definition.parameters = vec![parameter(Some(single), None, cx)];
    } else if let Some(list) = function.child_by_field_name("parameters") {
        definition.parameters = named_children(list)
            .filter_map(|child| {
                let (name, ty) = match child.kind() {
                    "required_parameter" | "optional_parameter" => (
                        child.child_by_field_name("pattern"),
                        child.child_by_field_name("type"),
                    ),
                    "assignment_pattern" => (child.child_by_field_name("left"), None),
                    "comment" => return None,
                    _ => (Some(child), None),
                };
                let mut parameter = parameter(name, ty, cx);
                if child.kind() == "optional_parameter" {
                    parameter.name = parameter.name.map(|name| format!("{name}?"));
                }
                (parameter.name.as_deref() != Some("this")).then_some(parameter)
            })
            .collect();
    }
    definition.returns = function
        .child_by_field_name("return_type")
        .map(|ty| type_text(ty, cx));
}

fn function_tags(node: Node<'_>, definition: &mut Definition) {
    if has_token(node, "async") {
        definition.tags.push(SymbolTag::Async);
    }
    if has_token(node, "*") || node.kind().starts_with("generator") {
        definition.tags.push(SymbolTag::Generator);
    }
}

/// A class declaration, an exported class expression, or (with `name`) a class bound to a name.
fn class(node: Node<'_>, name: Option<String>, cx: &mut Cx<'_>) {
    let name = name
        .or_else(|| node.child_by_field_name("name").map(|n| name_text(n, cx)))
        .unwrap_or_else(|| "default".to_owned());
    let mut definition = Definition::new(SymbolKind::Class, name, node);
    place(node, &mut definition, cx);
    if node.kind() == "abstract_class_declaration" {
        definition.tags.push(SymbolTag::Abstract);
    }
    definition.signature =
        signature_up_to(node, definition.start, node.child_by_field_name("body"), cx);
    cx.define(definition, Some(node));
}

fn method(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(name_node) = node.child_by_field_name("name") else {
        return;
    };
    let name = name_text(name_node, cx);
    let mut definition = Definition::new(SymbolKind::Method, name, node);
    definition.start = code_start(node);
    // Decorators are the method's own children in JavaScript and its preceding siblings in
    // TypeScript.
    let mut decorators: Vec<String> = children(node)
        .filter(|c| c.kind() == "decorator")
        .map(|d| one_line(&cx.text(d), 200))
        .collect();
    let mut sibling = node.prev_sibling();
    while let Some(decorator) = sibling.filter(|s| s.kind() == "decorator") {
        decorators.insert(0, one_line(&cx.text(decorator), 200));
        definition.outer_start = decorator.start_byte();
        sibling = decorator.prev_sibling();
    }
    definition.decorators = decorators;
    if let Some(comment) = sibling.filter(|s| s.kind() == "comment") {
        let text = cx.text(comment);
        if text.starts_with("/**") {
            definition.doc = strip_block_comment(&text);
            definition.outer_start = comment.start_byte();
        }
    }
    let accessibility = named_children(node).find(|c| c.kind() == "accessibility_modifier");
    definition.visibility = match accessibility.map(|a| cx.text(a)) {
        Some(modifier) if modifier == "private" => Visibility::Private,
        Some(modifier) if modifier == "protected" => Visibility::Protected,
        _ if definition.name.starts_with('#') => Visibility::Private,
        _ => Visibility::Public,
    };
    function_tags(node, &mut definition);
    signature_parts(node, &mut definition, cx);
    for (token, tag) in [
        ("get", SymbolTag::Getter),
        ("set", SymbolTag::Setter),
        ("static", SymbolTag::Static),
    ] {
        if has_token(node, token) {
            definition.tags.push(tag);
        }
    }
    if node.kind() == "abstract_method_signature" || has_token(node, "abstract") {
        definition.tags.push(SymbolTag::Abstract);
    }
    if definition.name == "constructor" {
        definition.tags.push(SymbolTag::Constructor);
    }
    definition.signature =
        signature_up_to(node, definition.start, node.child_by_field_name("body"), cx);
    cx.define(definition, Some(node));
}

/// Interfaces, type aliases and enums: named declarations whose members are not symbols.
fn named(node: Node<'_>, kind: SymbolKind, cx: &mut Cx<'_>) {
    let Some(name) = node.child_by_field_name("name").map(|n| name_text(n, cx)) else {
        return;
    };
    let mut definition = Definition::new(kind, name, node);
    place(node, &mut definition, cx);
    let body = match kind {
        SymbolKind::TypeAlias => None,
        _ => node.child_by_field_name("body"),
    };
    definition.signature = signature_up_to(node, definition.start, body, cx);
    cx.define(definition, None);
}

/// `namespace A.B { … }`, `module M { … }`, `declare module "x" { … }`.
fn namespace(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(name) = node.child_by_field_name("name").map(|n| name_text(n, cx)) else {
        return;
    };
    let mut definition = Definition::new(SymbolKind::Module, name, node);
    place(node, &mut definition, cx);
    if statement_of(node).kind() == "ambient_declaration" {
        definition.visibility = Visibility::Public;
    }
    definition.signature =
        signature_up_to(node, definition.start, node.child_by_field_name("body"), cx);
    cx.define(definition, Some(node));
}

/// Whether a declaration statement is at module level: in the file, or in a namespace's body.
fn at_module_level(declaration: Node<'_>) -> bool {
    match statement_of(declaration).parent() {
        Some(parent) if parent.kind() == "program" => true,
        Some(parent) if parent.kind() == "statement_block" => parent
            .parent()
            .is_some_and(|p| matches!(p.kind(), "internal_module" | "module")),
        _ => false,
    }
}

/// `const f = () => …`, `let C = class { … }`, `var x = 1` at module level: one symbol per
/// declarator that binds a plain name, each spanning the whole statement. Each declarator is
/// handled when the walk reaches it, so a function bound by the first one is closed before the
/// second is defined.
fn binding(declarator: Node<'_>, cx: &mut Cx<'_>) {
    let Some(node) = declarator
        .parent()
        .filter(|p| matches!(p.kind(), "lexical_declaration" | "variable_declaration"))
    else {
        return;
    };
    if !at_module_level(node) {
        return;
    }
    let Some(name_node) = declarator.child_by_field_name("name") else {
        return;
    };
    if name_node.kind() != "identifier" {
        return;
    }
    let name = cx.text(name_node).into_owned();
    let value = declarator.child_by_field_name("value");
    match value {
        Some(value) if value.kind() == "class" => {
            let mut definition = Definition::new(SymbolKind::Class, name, node);
            place(node, &mut definition, cx);
            let body = value.child_by_field_name("body");
            definition.signature = signature_up_to(node, definition.start, body, cx);
            cx.define(definition, body);
        }
        Some(value) if is_function_value(value.kind()) => {
            let mut definition = Definition::new(SymbolKind::Function, name, node);
            place(node, &mut definition, cx);
            function_tags(value, &mut definition);
            signature_parts(value, &mut definition, cx);
            let body = value.child_by_field_name("body");
            definition.signature = signature_up_to(node, definition.start, body, cx);
            cx.define(definition, Some(value));
        }
        _ => {
            let is_const = children(node).any(|c| c.kind() == "const");
            let kind = if is_const {
                SymbolKind::Const
            } else {
                SymbolKind::Variable
            };
            let mut definition = Definition::new(kind, name, node);
            place(node, &mut definition, cx);
            definition.signature = one_line(&cx.slice(definition.start, definition.end), 200);
            cx.define(definition, None);
        }
    }
}

fn is_function_value(kind: &str) -> bool {
    matches!(
        kind,
        "arrow_function" | "function_expression" | "generator_function"
    )
}

/// CommonJS at module level: `module.exports = function name() {}` / `= class X {}` define and
/// export that symbol; `exports.x = …` and `module.exports.x = …` define and export `x`;
/// `module.exports = { a, b }` exports `a` and `b`.
fn commonjs_export(node: Node<'_>, cx: &mut Cx<'_>) {
    if node.parent().is_none_or(|p| p.kind() != "program") {
        return;
    }
    let Some(assignment) = node
        .named_child(0)
        .filter(|c| c.kind() == "assignment_expression")
    else {
        return;
    };
    let (Some(left), Some(right)) = (
        assignment.child_by_field_name("left"),
        assignment.child_by_field_name("right"),
    ) else {
        return;
    };
    let target = cx.text(left).split_whitespace().collect::<String>();
    let name = if target == "module.exports" {
        if right.kind() == "object" {
            for entry in named_children(right) {
                let key = match entry.kind() {
                    "shorthand_property_identifier" => Some(entry),
                    "pair" => entry.child_by_field_name("key"),
                    _ => None,
                };
                if let Some(key) = key {
                    cx.export(name_text(key, cx));
                }
            }
            return;
        }
        match right.child_by_field_name("name") {
            Some(name) => name_text(name, cx),
            None => "module.exports".to_owned(),
        }
    } else if let Some(export) = target
        .strip_prefix("module.exports.")
        .or_else(|| target.strip_prefix("exports."))
    {
        if export.contains('.') {
            return;
        }
        export.to_owned()
    } else {
        return;
    };
    let kind = match right.kind() {
        kind if is_function_value(kind) => SymbolKind::Function,
        "class" => SymbolKind::Class,
        _ if target == "module.exports" => return,
        _ => SymbolKind::Variable,
    };
    let mut definition = Definition::new(kind, name, node);
    definition.doc = jsdoc(node, &mut definition, cx);
    definition.visibility = Visibility::Public;
    if kind == SymbolKind::Function {
        signature_parts(right, &mut definition, cx);
    }
    let body = right.child_by_field_name("body");
    definition.signature = match kind {
        SymbolKind::Variable => one_line(&cx.text(node), 200),
        _ => signature_up_to(node, node.start_byte(), body, cx),
    };
    let scope = if kind == SymbolKind::Class {
        body
    } else {
        Some(right)
    };
    cx.define(definition, scope.filter(|_| kind != SymbolKind::Variable));
}

/// `export … from "…"`: re-exports are imports of what they pass on.
fn re_export(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(source) = node.child_by_field_name("source") else {
        return;
    };
    let module = name_text(source, cx);
    let line = cx.line_of(node.start_byte());
    let mut names: Vec<(Option<String>, Option<String>)> = Vec::new();
    for child in named_children(node) {
        match child.kind() {
            "export_clause" => {
                for specifier in named_children(child).filter(|c| c.kind() == "export_specifier") {
                    let name = specifier
                        .child_by_field_name("name")
                        .map(|n| name_text(n, cx));
                    let alias = specifier
                        .child_by_field_name("alias")
                        .map(|n| name_text(n, cx));
                    names.push((name, alias));
                }
            }
            "namespace_export" => {
                let alias = named_children(child).last().map(|n| name_text(n, cx));
                names.push((None, alias));
            }
            _ => {}
        }
    }
    if names.is_empty() {
        names.push((Some("*".to_owned()), None));
    }
    for (name, alias) in names {
        push_import(cx, &module, name, alias, ImportKind::ReExport, line);
    }
}

fn push_import(
    cx: &mut Cx<'_>,
    module: &str,
    name: Option<String>,
    alias: Option<String>,
    kind: ImportKind,
    line: usize,
) {
    let path = match &name {
        Some(name) => format!("{module}.{name}"),
        None => module.to_owned(),
    };
    cx.import(Import {
        path,
        module: module.to_owned(),
        name,
        alias,
        level: 0,
        kind,
        line,
    });
}

/// `import d, { a, b as c } from "m"`, `import * as ns from "m"`, `import "m"`.
fn import(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(source) = node.child_by_field_name("source") else {
        return;
    };
    let module = name_text(source, cx);
    let line = cx.line_of(node.start_byte());
    let Some(clause) = named_children(node).find(|c| c.kind() == "import_clause") else {
        push_import(cx, &module, None, None, ImportKind::Import, line);
        return;
    };
    for part in named_children(clause) {
        match part.kind() {
            "identifier" => {
                let alias = cx.text(part).into_owned();
                push_import(
                    cx,
                    &module,
                    Some("default".to_owned()),
                    Some(alias),
                    ImportKind::Import,
                    line,
                );
            }
            "namespace_import" => {
                let alias = named_children(part).last().map(|n| cx.text(n).into_owned());
                push_import(cx, &module, None, alias, ImportKind::Import, line);
            }
            "named_imports" => {
                for specifier in named_children(part).filter(|c| c.kind() == "import_specifier") {
                    let name = specifier
                        .child_by_field_name("name")
                        .map(|n| name_text(n, cx));
                    let alias = specifier
                        .child_by_field_name("alias")
                        .map(|n| cx.text(n).into_owned());
                    push_import(cx, &module, name, alias, ImportKind::Import, line);
                }
            }
            _ => {}
        }
    }
}

/// TypeScript's `import x = require("m")`.
fn import_require(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(source) = named_children(node).find(|c| c.kind() == "string") else {
        return;
    };
    let module = name_text(source, cx);
    let alias = named_children(node)
        .find(|c| c.kind() == "identifier")
        .map(|n| cx.text(n).into_owned());
    let line = cx.line_of(node.start_byte());
    push_import(cx, &module, None, alias, ImportKind::Require, line);
}

/// `require("m")` is an import (bound to the variable it initialises, if any); other calls are
/// calls.
fn call(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(function) = node.child_by_field_name("function") else {
        return;
    };
    match function.kind() {
        "identifier" => {
            let name = cx.text(function).into_owned();
            if name == "require" {
                require(node, cx);
                return;
            }
            cx.call(node, name.clone(), name, None, CallKind::Plain);
        }
        "member_expression" => {
            if let (Some(object), Some(property)) = (
                function.child_by_field_name("object"),
                function.child_by_field_name("property"),
            ) {
                entry_call(node, &cx.text(property), cx);
                cx.member_call(node, object, property);
            }
        }
        _ => {}
    }
}

/// A route registered by express, fastify, koa-router or hono (`app.get("/x", handler)`), or a
/// command declared with commander or yargs (`program.command("serve <dir>")`).
fn entry_call(node: Node<'_>, method: &str, cx: &mut Cx<'_>) {
    let Some(arguments) = node.child_by_field_name("arguments") else {
        return;
    };
    if method == "command" {
        let Some(first) = named_children(arguments).next() else {
            return;
        };
        let name = unquote(&cx.text(first))
            .and_then(|usage| usage.split_whitespace().next().map(str::to_owned));
        if let Some(name) = name {
            EntryFound {
                kind: EntryKind::Command,
                name,
                at: first.start_byte(),
                handler: None,
            }
            .report(cx);
        }
    } else if let Some(route) = route_call(method, arguments, cx) {
        route.report(cx);
    }
}

fn require(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(arguments) = node.child_by_field_name("arguments") else {
        return;
    };
    let Some(source) = named_children(arguments)
        .next()
        .filter(|a| a.kind() == "string")
    else {
        return;
    };
    let module = name_text(source, cx);
    let line = cx.line_of(node.start_byte());
    let binding = node
        .parent()
        .filter(|p| p.kind() == "variable_declarator")
        .and_then(|d| d.child_by_field_name("name"));
    match binding {
        Some(pattern) if pattern.kind() == "object_pattern" => {
            for property in named_children(pattern) {
                let (name, alias) = match property.kind() {
                    "shorthand_property_identifier_pattern" => {
                        (cx.text(property).into_owned(), None)
                    }
                    "pair_pattern" => (
                        property
                            .child_by_field_name("key")
                            .map(|k| name_text(k, cx))
                            .unwrap_or_default(),
                        property
                            .child_by_field_name("value")
                            .map(|v| cx.text(v).into_owned()),
                    ),
                    _ => continue,
                };
                push_import(cx, &module, Some(name), alias, ImportKind::Require, line);
            }
        }
        Some(identifier) => {
            let alias = cx.text(identifier).into_owned();
            push_import(cx, &module, None, Some(alias), ImportKind::Require, line);
        }
        None => push_import(cx, &module, None, None, ImportKind::Require, line),
    }
}

/// `new Foo()`, `new ns.Foo()`.
fn construct(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(constructor) = node.child_by_field_name("constructor") else {
        return;
    };
    let callee = one_line(&cx.text(constructor), 120);
    let (name, receiver) = match constructor.kind() {
        "identifier" => (callee.clone(), None),
        "member_expression" => {
            let Some(property) = constructor.child_by_field_name("property") else {
                return;
            };
            let object = constructor
                .child_by_field_name("object")
                .map(|o| one_line(&cx.text(o), 80));
            (cx.text(property).into_owned(), object)
        }
        _ => return,
    };
    if name == "Command" {
        let command = node
            .child_by_field_name("arguments")
            .and_then(|arguments| named_children(arguments).next())
            .and_then(|first| unquote(&cx.text(first)));
        EntryFound {
            kind: EntryKind::Command,
            name: command.unwrap_or_else(|| "program".to_owned()),
            at: node.start_byte(),
            handler: None,
        }
        .report(cx);
    }
    cx.call(node, callee, name, receiver, CallKind::Constructor);
}
