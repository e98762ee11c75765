//! Go: functions, methods with receivers (`Server.Serve`, attached to their type when it is in
//! the same file), struct and interface types (interface methods as symbols), other type
//! declarations, package-level consts and vars; calls; imports with their aliases.

use doctown_common::{
    CallKind, EntryKind, FileAnalysis, Import, ImportKind, SymbolKind, Visibility,
};
use tree_sitter::Node;

use super::{
    EntryFound, Grammar, children, named_children, parameter, route_call, type_text, unquote,
};
use crate::extract::{Cx, Definition};
use crate::imports::{ImportTarget, RepoIndex, folder_of};
use crate::modules::{ModuleKind, ModuleStep};
use crate::text::{one_line, strip_line_markers};

/// The Go grammar.
pub(crate) struct Go;

impl Grammar for Go {
    fn ts_language(&self) -> tree_sitter::Language {
        tree_sitter_go::LANGUAGE.into()
    }

    fn separator(&self) -> &'static str {
        "."
    }

    fn kinds(&self) -> &'static [&'static str] {
        &[
            "function_declaration",
            "method_declaration",
            "type_spec",
            "type_alias",
            "method_elem",
            "const_spec",
            "var_spec",
            "call_expression",
            "import_spec",
            "composite_literal",
        ]
    }

    fn visit(&self, node: Node<'_>, cx: &mut Cx<'_>) {
        match node.kind() {
            "function_declaration" => function(node, None, cx),
            "method_declaration" => {
                let receiver = node
                    .child_by_field_name("receiver")
                    .and_then(|r| receiver_type(r, cx));
                function(node, receiver, cx);
            }
            "type_spec" | "type_alias" if at_package_level(node) => type_spec(node, cx),
            "method_elem" if cx.parent_kind() == Some(SymbolKind::Interface) => {
                interface_method(node, cx)
            }
            "const_spec" | "var_spec" if at_package_level(node) => value_spec(node, cx),
            "call_expression" => call(node, cx),
            "import_spec" => import(node, cx),
            "composite_literal" => cobra_command(node, cx),
            _ => {}
        }
    }

    /// A package is a folder of Go files, named by its path.
    fn module_of(&self, path: &str, _index: &RepoIndex<'_>) -> Vec<ModuleStep> {
        let folder = folder_of(path);
        let name = if folder.is_empty() { "." } else { folder };
        vec![ModuleStep::folder(
            folder,
            name.to_owned(),
            ModuleKind::Package,
        )]
    }

    /// The package comment: the `//` lines (or the `/* */` block) right above the `package`
    /// clause.
    fn file_doc(&self, root: Node<'_>, cx: &Cx<'_>) -> Option<String> {
        let clause = named_children(root).find(|child| child.kind() == "package_clause")?;
        if let Some(block) = clause.prev_sibling().filter(|sibling| {
            sibling.kind() == "comment"
                && cx.text(*sibling).starts_with("/*")
                && cx.line_of(sibling.end_byte().saturating_sub(1)) + 1
                    == cx.line_of(clause.start_byte())
        }) {
            let text = cx.text(block);
            let inner = text.trim_start_matches("/*").trim_end_matches("*/");
            return crate::text::clean_doc(inner);
        }
        let mut definition = Definition::new(SymbolKind::Module, "", clause);
        doc_comment(clause, &mut definition, cx);
        definition.doc
    }

    /// A package is a folder, and its import path is its module's path followed by the folder
    /// (`example.com/app/internal/store` → `internal/store/`) or, in a GOPATH or the standard
    /// library, a folder that ends with the whole import path (`net/http` → `src/net/http/`).
    /// A package under a `vendor` folder is seen only from that folder's parent down, and is
    /// preferred there (the innermost first), as the go command does. Otherwise the folder of
    /// Go files that shares the most trailing components with the import, then the shortest;
    /// none when two still tie.
    fn resolve_import<'r>(
        &self,
        importer: &FileAnalysis,
        import: &Import,
        index: &RepoIndex<'r>,
    ) -> Option<ImportTarget<'r>> {
        let wanted: Vec<&str> = import.module.split('/').collect();
        let mut best: Option<(Rank, &'r str)> = None;
        let mut tied = false;
        for &folder in index.folders_named(wanted.last()?) {
            if !index
                .files_in(folder)
                .iter()
                .any(|file| file.ends_with(".go"))
            {
                continue;
            }
            let have: Vec<&str> = folder.split('/').collect();
            let shared = wanted
                .iter()
                .rev()
                .zip(have.iter().rev())
                .take_while(|(a, b)| a == b)
                .count();
            if shared != have.len() && shared != wanted.len() {
                continue;
            }
            let vendor_depth = match have[..have.len() - shared].split_last() {
                Some((&"vendor", parent)) => {
                    let parent = parent.join("/");
                    if !parent.is_empty() && !importer.path.starts_with(&format!("{parent}/")) {
                        continue;
                    }
                    parent.len() + 1
                }
                _ => 0,
            };
            let rank = (vendor_depth, shared, std::cmp::Reverse(have.len()));
            match best {
                Some((top, _)) if top > rank => {}
                Some((top, _)) if top == rank => tied = true,
                _ => {
                    best = Some((rank, folder));
                    tied = false;
                }
            }
        }
        best.filter(|_| !tied)
            .map(|(_, folder)| ImportTarget::Package(folder))
    }
}

/// How well a folder matches an import, higher first: the depth of the `vendor` folder's
/// parent it is under (0 outside one), the trailing components it shares with the import, and
/// fewer components of its own.
type Rank = (usize, usize, std::cmp::Reverse<usize>);

/// Whether a spec is declared at package level: its declaration sits directly in the file.
fn at_package_level(spec: Node<'_>) -> bool {
    let mut declaration = spec.parent();
    if declaration.is_some_and(|parent| parent.kind() == "var_spec_list") {
        declaration = declaration.and_then(|list| list.parent());
    }
    declaration
        .and_then(|declaration| declaration.parent())
        .is_some_and(|file| file.kind() == "source_file")
}

/// Exported names start with an upper-case letter.
fn visibility(name: &str) -> Visibility {
    if name.starts_with(|c: char| c.is_uppercase()) {
        Visibility::Public
    } else {
        Visibility::Private
    }
}

fn function(node: Node<'_>, receiver: Option<String>, cx: &mut Cx<'_>) {
    let Some(name) = cx.field_text(node, "name") else {
        return;
    };
    let kind = if receiver.is_some() {
        SymbolKind::Method
    } else {
        SymbolKind::Function
    };
    let mut definition = Definition::new(kind, name, node);
    let body = node.child_by_field_name("body");
    definition.signature = one_line(
        &cx.slice(
            node.start_byte(),
            body.map_or(node.end_byte(), |b| b.start_byte()),
        ),
        400,
    );
    definition.visibility = visibility(&definition.name);
    signature_parts(node, &mut definition, cx);
    if definition.name == "main" && receiver.is_none() {
        definition.entry = Some((EntryKind::Main, "main".to_owned()));
    }
    definition.owner = receiver;
    doc_comment(node, &mut definition, cx);
    cx.define(definition, Some(node));
}

/// A function's or interface method's parameters and results: each name of `a, b int` is a
/// parameter of type `int`, an unnamed `int` a parameter without a name, `...T` a variadic
/// one; the results as written (`error`, `(int, error)`).
fn signature_parts(node: Node<'_>, definition: &mut Definition, cx: &Cx<'_>) {
    if let Some(list) = node.child_by_field_name("parameters") {
        for declaration in named_children(list) {
            let variadic = match declaration.kind() {
                "parameter_declaration" => false,
                "variadic_parameter_declaration" => true,
                _ => continue,
            };
            let ty = declaration.child_by_field_name("type");
            let mut cursor = declaration.walk();
            let names: Vec<Node<'_>> = declaration
                .children_by_field_name("name", &mut cursor)
                .collect();
            let mut add = |name: Option<Node<'_>>| {
                let mut parameter = parameter(name, ty, cx);
                if variadic {
                    parameter.type_name = parameter.type_name.map(|ty| format!("...{ty}"));
                }
                definition.parameters.push(parameter);
            };
            if names.is_empty() {
                add(None);
            }
            for name in names {
                add(Some(name));
            }
        }
    }
    definition.returns = node
        .child_by_field_name("result")
        .map(|result| type_text(result, cx));
}

/// The receiver's type name: `(s *Server)` → `Server`, `(l List[T])` → `List`.
fn receiver_type(receiver: Node<'_>, cx: &Cx<'_>) -> Option<String> {
    let parameter = named_children(receiver).find(|c| c.kind() == "parameter_declaration")?;
    let mut ty = parameter.child_by_field_name("type")?;
    loop {
        match ty.kind() {
            "pointer_type" | "parenthesized_type" => ty = ty.named_child(0)?,
            "generic_type" => ty = ty.child_by_field_name("type")?,
            _ => return Some(cx.text(ty).into_owned()),
        }
    }
}

/// A type declaration: one `type X …` or one spec of a `type ( … )` group.
fn type_spec(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(name) = cx.field_text(node, "name") else {
        return;
    };
    let ty = node.child_by_field_name("type");
    let kind = match ty.map(|ty| ty.kind()) {
        Some("struct_type") => SymbolKind::Struct,
        Some("interface_type") => SymbolKind::Interface,
        _ => SymbolKind::TypeAlias,
    };
    let mut definition = Definition::new(kind, name, node);
    extend_ungrouped(node, &mut definition);
    let text = match (kind, ty) {
        (SymbolKind::Interface, Some(ty)) => {
            cx.slice(node.start_byte(), ty.start_byte()).into_owned() + "interface"
        }
        _ => cx.text(node).into_owned(),
    };
    definition.signature = one_line(&format!("type {text}"), 400);
    definition.visibility = visibility(&definition.name);
    doc_comment(spec_or_declaration(node), &mut definition, cx);
    cx.define(definition, Some(node));
}

fn interface_method(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(name) = cx.field_text(node, "name") else {
        return;
    };
    let mut definition = Definition::new(SymbolKind::Method, name, node);
    definition.signature = one_line(&cx.text(node), 300);
    signature_parts(node, &mut definition, cx);
    definition.visibility = visibility(&definition.name);
    doc_comment(node, &mut definition, cx);
    cx.define(definition, None);
}

/// A const or var spec: one symbol per name, each spanning the spec (or the whole declaration
/// when it is not grouped).
fn value_spec(node: Node<'_>, cx: &mut Cx<'_>) {
    let is_const = node.kind() == "const_spec";
    let kind = if is_const {
        SymbolKind::Const
    } else {
        SymbolKind::Variable
    };
    let keyword = if is_const { "const" } else { "var" };
    let mut cursor = node.walk();
    let names: Vec<String> = node
        .children_by_field_name("name", &mut cursor)
        .filter(|name| name.kind() == "identifier")
        .map(|name| cx.text(name).into_owned())
        .filter(|name| name != "_")
        .collect();
    let signature = one_line(&format!("{keyword} {}", cx.text(node)), 200);
    for name in names {
        let mut definition = Definition::new(kind, name, node);
        extend_ungrouped(node, &mut definition);
        definition.signature = signature.clone();
        definition.visibility = visibility(&definition.name);
        doc_comment(spec_or_declaration(node), &mut definition, cx);
        cx.define(definition, None);
    }
}

/// The declaration holding `spec` when it is not in a `( … )` group, else the spec itself.
fn spec_or_declaration(spec: Node<'_>) -> Node<'_> {
    match spec.parent() {
        Some(parent)
            if parent.kind().ends_with("_declaration")
                && !children(parent).any(|c| c.kind() == "(") =>
        {
            parent
        }
        _ => spec,
    }
}

/// An ungrouped declaration (`type X struct{…}`) starts at its keyword.
fn extend_ungrouped(spec: Node<'_>, definition: &mut Definition) {
    let declaration = spec_or_declaration(spec);
    definition.start = declaration.start_byte();
    definition.outer_start = definition.start;
}

/// The `//` comment lines right above `node`, with no blank line between.
fn doc_comment(node: Node<'_>, definition: &mut Definition, cx: &Cx<'_>) {
    let mut lines = Vec::new();
    let mut next_line = cx.line_of(node.start_byte());
    let mut sibling = node.prev_sibling();
    while let Some(comment) = sibling.filter(|s| s.kind() == "comment") {
        let text = cx.text(comment);
        if cx.line_of(comment.end_byte().saturating_sub(1)) + 1 != next_line
            || !text.starts_with("//")
        {
            break;
        }
        lines.push(text.trim_end().to_owned());
        next_line = cx.line_of(comment.start_byte());
        definition.outer_start = definition.outer_start.min(comment.start_byte());
        sibling = comment.prev_sibling();
    }
    lines.reverse();
    definition.doc = strip_line_markers(lines.iter().map(String::as_str), "//");
}

fn call(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(function) = node.child_by_field_name("function") else {
        return;
    };
    match function.kind() {
        "identifier" => {
            let name = cx.text(function).into_owned();
            cx.call(node, name.clone(), name, None, CallKind::Plain);
        }
        "selector_expression" => {
            if let (Some(operand), Some(field)) = (
                function.child_by_field_name("operand"),
                function.child_by_field_name("field"),
            ) {
                if let Some(arguments) = node.child_by_field_name("arguments")
                    && let Some(route) = route_call(&cx.text(field), arguments, cx)
                {
                    route.report(cx);
                }
                cx.member_call(node, operand, field);
            }
        }
        _ => {}
    }
}

/// A cobra command, `&cobra.Command{Use: "serve [dir]", …}`: named by the first word of `Use`.
fn cobra_command(node: Node<'_>, cx: &mut Cx<'_>) {
    let is_command = node
        .child_by_field_name("type")
        .is_some_and(|ty| cx.text(ty).ends_with("cobra.Command"));
    let Some(body) = node.child_by_field_name("body").filter(|_| is_command) else {
        return;
    };
    let usage = named_children(body)
        .filter(|element| element.kind() == "keyed_element")
        .find_map(|element| {
            let mut parts = named_children(element);
            let key = parts.next()?;
            let value = parts.next()?;
            (cx.text(key).trim() == "Use").then(|| Some((unquote(&cx.text(value))?, value)))?
        });
    let Some((name, value)) =
        usage.and_then(|(usage, value)| Some((usage.split_whitespace().next()?.to_owned(), value)))
    else {
        return;
    };
    EntryFound {
        kind: EntryKind::Command,
        name,
        at: value.start_byte(),
        handler: None,
    }
    .report(cx);
}

fn import(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(path) = cx.field_text(node, "path") else {
        return;
    };
    let path = path.trim_matches(['"', '`']).to_owned();
    cx.import(Import {
        module: path.clone(),
        path,
        name: None,
        alias: cx.field_text(node, "name"),
        level: 0,
        kind: ImportKind::Import,
        line: cx.line_of(node.start_byte()),
    });
}
