//! Rust: functions (async, const, unsafe, generic, with where clauses), structs, unions, enums,
//! traits and their items, `impl` blocks and their items, inline and file modules, consts,
//! statics, type aliases, `macro_rules!`, extern blocks; items nested in functions and under
//! `#[cfg]`; calls; `use` trees expanded and `extern crate`.

use doctown_common::{
    CallKind, EntryKind, FileAnalysis, Import, ImportKind, Parameter, SymbolKind, SymbolTag,
    Visibility,
};
use tree_sitter::Node;

use super::{
    Grammar, children, decorator_call, http_method, is_route_path, named_children, parameter,
    route_call, route_name, type_text, unquote,
};
use crate::extract::{Cx, Definition};
use crate::imports::{ImportTarget, RepoIndex, folder_of, normalize, only};
use crate::modules::{ModuleKind, ModuleStep, last_component, nearest_with};
use crate::text::{one_line, strip_block_comment, strip_line_markers};

/// The Rust grammar.
pub(crate) struct Rust;

impl Grammar for Rust {
    fn ts_language(&self) -> tree_sitter::Language {
        tree_sitter_rust::LANGUAGE.into()
    }

    fn separator(&self) -> &'static str {
        "::"
    }

    fn kinds(&self) -> &'static [&'static str] {
        &[
            "function_item",
            "function_signature_item",
            "struct_item",
            "union_item",
            "enum_item",
            "trait_item",
            "mod_item",
            "impl_item",
            "const_item",
            "static_item",
            "type_item",
            "associated_type",
            "macro_definition",
            "call_expression",
            "use_declaration",
            "extern_crate_declaration",
        ]
    }

    fn visit(&self, node: Node<'_>, cx: &mut Cx<'_>) {
        match node.kind() {
            "function_item" | "function_signature_item" => function(node, cx),
            "struct_item" | "union_item" => data_type(node, SymbolKind::Struct, cx),
            "enum_item" => data_type(node, SymbolKind::Enum, cx),
            "trait_item" => container(node, SymbolKind::Trait, cx),
            "mod_item" => container(node, SymbolKind::Module, cx),
            "impl_item" => implementation(node, cx),
            "const_item" => item(node, SymbolKind::Const, cx),
            "static_item" => item(node, SymbolKind::Static, cx),
            "type_item" | "associated_type" => item(node, SymbolKind::TypeAlias, cx),
            "macro_definition" => macro_definition(node, cx),
            "call_expression" => call(node, cx),
            "use_declaration" => use_declaration(node, cx),
            "extern_crate_declaration" => extern_crate(node, cx),
            _ => {}
        }
    }

    /// A crate is the folder of the nearest `Cargo.toml` (the root's when there is none); below
    /// `src/`, each file is a module named by its path (`lang/mod.rs` and `lang.rs` are both
    /// `crate::lang`; `lib.rs` and `main.rs` are the crate); a file of `tests/`, `benches/` or
    /// `examples/` is a module of its own under its folder.
    fn module_of(&self, path: &str, index: &RepoIndex<'_>) -> Vec<ModuleStep> {
        let root = nearest_with(index, folder_of(path), "Cargo.toml").unwrap_or("");
        // Inside a crate its modules are `crate::…`; a crate at the root has no name of its
        // own (`.`, which pages show as the repository's).
        let (crate_title, crate_name) = if root.is_empty() {
            (".".to_owned(), "crate".to_owned())
        } else {
            let name = last_component(root).replace('-', "_");
            (name.clone(), name)
        };
        let mut steps = vec![ModuleStep::folder(root, crate_title, ModuleKind::Crate)];
        let relative = path
            .strip_prefix(root)
            .map_or(path, |rest| rest.trim_start_matches('/'));
        let (base, inner) = match relative.strip_prefix("src/") {
            Some(inner) => (Some("src"), inner),
            None => (None, relative),
        };
        let stem = inner.strip_suffix(".rs").unwrap_or(inner);
        let is_folder = stem.ends_with("/mod");
        let stem = stem.strip_suffix("/mod").unwrap_or(stem);
        let is_root = match base {
            Some(_) => stem == "lib" || stem == "main",
            None => stem == "build",
        };
        if is_root {
            return steps;
        }
        let parts: Vec<&str> = stem.split('/').collect();
        for depth in 1..=parts.len() {
            let id = [root, base.unwrap_or_default()]
                .into_iter()
                .chain(parts[..depth].iter().copied())
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("/");
            let name = match base {
                Some(_) => format!("{crate_name}::{}", parts[..depth].join("::")),
                None => parts[..depth].join("/"),
            };
            let is_own_folder = depth < parts.len() || is_folder;
            steps.push(ModuleStep {
                folder: is_own_folder.then(|| id.clone()),
                id,
                name,
                kind: ModuleKind::Module,
            });
        }
        steps
    }

    /// The crate's or module's `//!` comments at the top of the file.
    fn file_doc(&self, root: Node<'_>, cx: &Cx<'_>) -> Option<String> {
        inner_doc(root, cx)
    }

    /// Module paths as rustc reads them: `crate::` from the crate's root (the `src/` folder
    /// the importer is under), `self::` and `super::` from the importer's module (inline
    /// modules around the `use` included), a first segment naming a module of the importer's
    /// own, else a crate of the workspace (`core_types` → a `core-types/src/lib.rs`). A path
    /// leads to the file of its longest prefix that is a module (`a/b.rs` or `a/b/mod.rs`).
    /// `mod name;` leads to the declared module's file.
    fn resolve_import<'r>(
        &self,
        importer: &FileAnalysis,
        import: &Import,
        index: &RepoIndex<'r>,
    ) -> Option<ImportTarget<'r>> {
        let root = crate_of(&importer.path, index);
        let own = module_path(importer, &root, import.line);
        if import.kind == ImportKind::Module {
            if let Some(file) = path_attribute(importer, import) {
                let joined = normalize(&format!("{}/{file}", folder_of(&importer.path)))?;
                return index.file(&joined).map(ImportTarget::File);
            }
            let declared = [own.as_slice(), &[import.module.as_str()]].concat();
            return module_file(index, &root, &declared).map(ImportTarget::File);
        }
        let mut segments = import
            .path
            .split("::")
            .filter(|s| !s.is_empty() && *s != "*");
        let first = segments.next()?;
        let rest: Vec<&str> = segments.collect();
        let (root, base, rest) = match first {
            "crate" => (root, Vec::new(), rest),
            "self" | "super" => {
                let mut base = own;
                let mut rest = rest.as_slice();
                if first == "super" {
                    base.pop()?;
                }
                while let ["super", tail @ ..] = rest {
                    base.pop()?;
                    rest = tail;
                }
                (root, base, rest.to_vec())
            }
            "std" | "core" | "alloc" => return None,
            name => {
                let local = [own.as_slice(), &[name], &rest].concat();
                if let Some(file) = longest_module(index, &root, &local, own.len() + 1) {
                    return Some(ImportTarget::File(file));
                }
                (workspace_crate(index, name)?, Vec::new(), rest)
            }
        };
        let path = [base.as_slice(), &rest].concat();
        longest_module(index, &root, &path, 0).map(ImportTarget::File)
    }
}

fn function(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(name) = cx.field_text(node, "name") else {
        return;
    };
    let in_type = matches!(cx.parent_kind(), Some(SymbolKind::Impl | SymbolKind::Trait));
    let kind = if in_type {
        SymbolKind::Method
    } else {
        SymbolKind::Function
    };
    let mut definition = Definition::new(kind, name, node);
    if let Some(modifiers) = named_children(node).find(|c| c.kind() == "function_modifiers") {
        for (token, tag) in [
            ("async", SymbolTag::Async),
            ("unsafe", SymbolTag::Unsafe),
            ("const", SymbolTag::Const),
        ] {
            if children(modifiers).any(|child| child.kind() == token) {
                definition.tags.push(tag);
            }
        }
    }
    let body = node.child_by_field_name("body");
    if body.is_none() {
        definition.tags.push(if in_type {
            SymbolTag::Abstract
        } else {
            SymbolTag::Declaration
        });
    }
    let signature_end = body.map_or(node.end_byte(), |body| body.start_byte());
    definition.signature = one_line(
        cx.slice(node.start_byte(), signature_end)
            .trim_end_matches(';'),
        400,
    );
    if let Some(list) = node.child_by_field_name("parameters") {
        definition.parameters = parameters(list, cx);
    }
    definition.returns = node
        .child_by_field_name("return_type")
        .map(|ty| type_text(ty, cx));
    annotate(node, &mut definition, cx);
    definition.entry = if definition.name == "main" && cx.parent_kind().is_none() {
        Some((EntryKind::Main, "main".to_owned()))
    } else {
        definition.decorators.iter().find_map(|attribute| {
            let (callee, path) = decorator_call(attribute);
            let verb = http_method(callee.rsplit("::").next().unwrap_or(callee));
            let path = path.filter(|path| is_route_path(path))?;
            (verb.is_some() || callee.ends_with("route"))
                .then(|| (EntryKind::Route, route_name(verb.as_deref(), &path)))
        })
    };
    cx.define(definition, Some(node));
}

/// A function's parameters: `pattern: Type` each, and `...` for a C variadic; `self` is the
/// receiver, not a parameter.
fn parameters(list: Node<'_>, cx: &Cx<'_>) -> Vec<Parameter> {
    named_children(list)
        .filter_map(|child| match child.kind() {
            "parameter" => Some(parameter(
                child.child_by_field_name("pattern"),
                child.child_by_field_name("type"),
                cx,
            )),
            "variadic_parameter" => Some(Parameter {
                name: Some("...".to_owned()),
                type_name: None,
            }),
            _ => None,
        })
        .collect()
}

/// Structs, unions and enums: the signature is the whole declaration (fields, variants, generics).
/// A type deriving clap's `Parser` or `Subcommand` is a command-line interface.
fn data_type(node: Node<'_>, kind: SymbolKind, cx: &mut Cx<'_>) {
    let Some(name) = cx.field_text(node, "name") else {
        return;
    };
    let mut definition = Definition::new(kind, name, node);
    definition.signature = one_line(&cx.text(node), 400);
    annotate(node, &mut definition, cx);
    let derives_cli = definition.decorators.iter().any(|attribute| {
        attribute.starts_with("#[derive(")
            && attribute
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|word| word == "Parser" || word == "Subcommand")
    });
    if derives_cli {
        let named = definition
            .decorators
            .iter()
            .filter(|attribute| {
                attribute.starts_with("#[command(") || attribute.starts_with("#[clap(")
            })
            .find_map(|attribute| {
                let (_, value) = attribute.split_once("name")?.1.split_once('=')?;
                unquote(value.split([',', ')']).next()?)
            });
        definition.entry = Some((
            EntryKind::Command,
            named.unwrap_or_else(|| definition.name.clone()),
        ));
    }
    cx.define(definition, Some(node));
}

/// Traits and modules: the signature is the header; members are their own symbols.
fn container(node: Node<'_>, kind: SymbolKind, cx: &mut Cx<'_>) {
    let Some(name) = cx.field_text(node, "name") else {
        return;
    };
    let mut definition = Definition::new(kind, name, node);
    let body = node.child_by_field_name("body");
    let header_end = body.map_or(node.end_byte(), |body| body.start_byte());
    definition.signature = one_line(
        cx.slice(node.start_byte(), header_end)
            .trim_end_matches(';'),
        300,
    );
    if kind == SymbolKind::Module && body.is_none() {
        definition.tags.push(SymbolTag::Declaration);
        cx.import(Import {
            path: definition.name.clone(),
            module: definition.name.clone(),
            name: None,
            alias: None,
            level: 0,
            kind: ImportKind::Module,
            line: cx.line_of(node.start_byte()),
        });
    }
    annotate(node, &mut definition, cx);
    if definition.doc.is_none() {
        definition.doc = body.and_then(|body| inner_doc(body, cx));
    }
    cx.define(definition, Some(node));
}

/// `impl Type`, `impl Trait for Type`: named after the type, so methods read `Type::method`.
fn implementation(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(target) = node.child_by_field_name("type") else {
        return;
    };
    let name = impl_type_name(&cx.text(target));
    let mut definition = Definition::new(SymbolKind::Impl, name, node);
    let header_end = node
        .child_by_field_name("body")
        .map_or(node.end_byte(), |b| b.start_byte());
    definition.signature = one_line(
        cx.slice(node.start_byte(), header_end)
            .trim_end_matches(';'),
        300,
    );
    if children(node).any(|child| child.kind() == "unsafe") {
        definition.tags.push(SymbolTag::Unsafe);
    }
    annotate(node, &mut definition, cx);
    cx.define(definition, Some(node));
}

/// The name an `impl`'s members are qualified with: for a path type, its last segment without
/// references, lifetimes or generic arguments (`&'a mut fmt::Formatter<'_>` → `Formatter`);
/// slices, arrays and tuples as written (`[T; N]`).
pub(crate) fn impl_type_name(text: &str) -> String {
    let mut rest = text.trim();
    // Peel references, lifetimes, `mut`, `dyn` and raw-pointer markers off the front.
    loop {
        let peeled = rest
            .strip_prefix('&')
            .or_else(|| rest.strip_prefix("mut "))
            .or_else(|| rest.strip_prefix("dyn "))
            .or_else(|| rest.strip_prefix("*const "))
            .or_else(|| rest.strip_prefix("*mut "))
            .or_else(|| {
                let lifetime = rest.strip_prefix('\'')?;
                Some(lifetime.trim_start_matches(|c: char| c.is_alphanumeric() || c == '_'))
            });
        match peeled {
            Some(peeled) => rest = peeled.trim_start(),
            None => break,
        }
    }
    if rest.starts_with(['[', '(']) {
        return one_line(rest, 80);
    }
    // A path, or trait bounds joined by `+`: each bound's last segment, lifetimes dropped.
    let bounds: Vec<&str> = rest
        .split('<')
        .next()
        .unwrap_or(rest)
        .split('+')
        .map(str::trim)
        .filter(|bound| !bound.is_empty() && !bound.starts_with('\''))
        .map(|bound| bound.rsplit("::").next().unwrap_or(bound).trim())
        .collect();
    if bounds.is_empty() {
        one_line(text, 80)
    } else {
        bounds.join(" + ")
    }
}

/// Consts, statics and type aliases: the signature is the item, value included, shortened.
fn item(node: Node<'_>, kind: SymbolKind, cx: &mut Cx<'_>) {
    // `const _: () = …;` names nothing.
    let Some(name) = cx.field_text(node, "name").filter(|name| name != "_") else {
        return;
    };
    let mut definition = Definition::new(kind, name, node);
    definition.signature = one_line(cx.text(node).trim_end_matches(';'), 200);
    annotate(node, &mut definition, cx);
    cx.define(definition, None);
}

fn macro_definition(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(name) = cx.field_text(node, "name") else {
        return;
    };
    let mut definition = Definition::new(SymbolKind::Macro, name, node);
    definition.signature = format!("macro_rules! {}", definition.name);
    annotate(node, &mut definition, cx);
    // `#[macro_export]` is what makes a macro visible outside its crate.
    if definition
        .decorators
        .iter()
        .any(|attribute| attribute.contains("macro_export"))
    {
        definition.visibility = Visibility::Public;
    }
    cx.define(definition, None);
}

/// Visibility, outer doc comments (`///`, `/** */`) and attributes (`#[…]`), which tree-sitter
/// puts before the item as siblings.
fn annotate(node: Node<'_>, definition: &mut Definition, cx: &Cx<'_>) {
    definition.visibility = match named_children(node).find(|c| c.kind() == "visibility_modifier") {
        Some(modifier) if cx.text(modifier).trim() == "pub" => Visibility::Public,
        Some(_) => Visibility::Restricted,
        None => Visibility::Private,
    };
    let mut doc_lines: Vec<String> = Vec::new();
    let mut block_doc = None;
    let mut attributes = Vec::new();
    let mut sibling = node.prev_sibling();
    while let Some(current) = sibling {
        let text = cx.text(current);
        match current.kind() {
            "attribute_item" => {
                attributes.push(one_line(&text, 200));
                definition.outer_start = current.start_byte();
            }
            "line_comment" if text.starts_with("///") && !text.starts_with("////") => {
                doc_lines.push(text.trim_end().to_owned());
                definition.outer_start = current.start_byte();
            }
            "block_comment" if text.starts_with("/**") && !text.starts_with("/***") => {
                block_doc = block_doc.or_else(|| strip_block_comment(&text));
                definition.outer_start = current.start_byte();
            }
            "line_comment" | "block_comment" => {}
            _ => break,
        }
        sibling = current.prev_sibling();
    }
    attributes.reverse();
    doc_lines.reverse();
    definition.decorators = attributes;
    definition.doc = strip_line_markers(doc_lines.iter().map(String::as_str), "///").or(block_doc);
}

/// A module's `//!` doc comments at the top of its body.
fn inner_doc(body: Node<'_>, cx: &Cx<'_>) -> Option<String> {
    let lines: Vec<String> = named_children(body)
        .take_while(|child| child.kind() == "line_comment")
        .map(|child| cx.text(child).trim_end().to_owned())
        .filter(|line| line.starts_with("//!"))
        .collect();
    strip_line_markers(lines.iter().map(String::as_str), "//!")
}

fn call(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(mut function) = node.child_by_field_name("function") else {
        return;
    };
    if function.kind() == "generic_function" {
        match function.child_by_field_name("function") {
            Some(inner) => function = inner,
            None => return,
        }
    }
    let (name, receiver, kind) = match function.kind() {
        "identifier" => (cx.text(function).into_owned(), None, CallKind::Plain),
        "scoped_identifier" => {
            let Some(name) = cx.field_text(function, "name") else {
                return;
            };
            if let Some(arguments) = node.child_by_field_name("arguments")
                && let Some(route) = route_call(&name, arguments, cx)
            {
                route.report(cx);
            }
            let path = cx
                .field_text(function, "path")
                .map(|path| one_line(&path, 80));
            (name, path, CallKind::Path)
        }
        "field_expression" => {
            let Some(name) = cx.field_text(function, "field") else {
                return;
            };
            if let Some(arguments) = node.child_by_field_name("arguments")
                && let Some(route) = route_call(&name, arguments, cx)
            {
                route.report(cx);
            }
            let value = cx
                .field_text(function, "value")
                .map(|value| one_line(&value, 80));
            (name, value, CallKind::Method)
        }
        _ => return,
    };
    let callee = match (&receiver, kind) {
        (Some(receiver), CallKind::Path) => format!("{receiver}::{name}"),
        (Some(receiver), _) => format!("{receiver}.{name}"),
        (None, _) => name.clone(),
    };
    cx.call(node, callee, name, receiver, kind);
}

/// `use a::{b, c::d as e, f::*};` gives `a::b`, `a::c::d` (as `e`) and `a::f::*`.
fn use_declaration(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(argument) = node.child_by_field_name("argument") else {
        return;
    };
    let kind = if named_children(node).any(|c| c.kind() == "visibility_modifier") {
        ImportKind::ReExport
    } else {
        ImportKind::Import
    };
    let line = cx.line_of(node.start_byte());
    let mut paths = Vec::new();
    expand_use(argument, "", cx, &mut paths);
    for (path, alias) in paths {
        let (module, name) = match path.rsplit_once("::") {
            Some((module, name)) => (module.to_owned(), Some(name.to_owned())),
            None => (path.clone(), None),
        };
        cx.import(Import {
            path,
            module,
            name,
            alias,
            level: 0,
            kind,
            line,
        });
    }
}

/// Expands one use clause under `prefix` into (path, alias) pairs.
fn expand_use(
    clause: Node<'_>,
    prefix: &str,
    cx: &Cx<'_>,
    out: &mut Vec<(String, Option<String>)>,
) {
    let join = |rest: &str| {
        let rest: String = rest.split_whitespace().collect();
        match (prefix.is_empty(), rest.as_str()) {
            (_, "self") if !prefix.is_empty() => prefix.to_owned(),
            (true, _) => rest,
            (false, _) => format!("{prefix}::{rest}"),
        }
    };
    match clause.kind() {
        "use_as_clause" => {
            let path = cx.field_text(clause, "path").unwrap_or_default();
            out.push((join(&path), cx.field_text(clause, "alias")));
        }
        "use_list" => {
            for child in named_children(clause) {
                expand_use(child, prefix, cx, out);
            }
        }
        "scoped_use_list" => {
            let inner = match cx.field_text(clause, "path") {
                Some(path) => join(&path),
                None => prefix.to_owned(),
            };
            if let Some(list) = clause.child_by_field_name("list") {
                expand_use(list, &inner, cx, out);
            }
        }
        "use_wildcard" => {
            let text = cx.text(clause);
            let path = text.trim_end_matches('*').trim_end_matches("::");
            let base = if path.trim().is_empty() {
                prefix.to_owned()
            } else {
                join(path)
            };
            out.push((
                if base.is_empty() {
                    "*".to_owned()
                } else {
                    format!("{base}::*")
                },
                None,
            ));
        }
        "line_comment" | "block_comment" => {}
        _ => out.push((join(&cx.text(clause)), None)),
    }
}

fn extern_crate(node: Node<'_>, cx: &mut Cx<'_>) {
    let Some(name) = cx.field_text(node, "name") else {
        return;
    };
    cx.import(Import {
        path: name.clone(),
        module: name,
        name: None,
        alias: cx.field_text(node, "alias"),
        level: 0,
        kind: ImportKind::Import,
        line: cx.line_of(node.start_byte()),
    });
}

/// The crate a file belongs to: the folder its crate paths start from and the crate's root
/// file. Under a `src` folder, that folder and its `lib.rs` (or `main.rs`); a binary under
/// `src/bin`, a test, example or bench (no `src` above), or a build script is a crate of its
/// own, rooted at itself, unless its folder holds a `lib.rs` or `main.rs` (a crate laid out
/// without `src`) or a `mod.rs` (a module of a crate rooted in a folder above, whose root
/// file is not known).
fn crate_of<'r>(path: &str, index: &RepoIndex<'r>) -> (String, Option<&'r str>) {
    let own = folder_of(path);
    let roots = |folder: &str| {
        let prefix = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        index.first_file(["lib.rs", "main.rs"].map(|name| format!("{prefix}{name}")))
    };
    let is_binary = own.rsplit('/').next() == Some("bin") && is_source_folder(folder_of(own));
    if !is_binary {
        let mut folder = own;
        loop {
            if is_source_folder(folder) {
                return (folder.to_owned(), roots(folder));
            }
            if folder.is_empty() {
                break;
            }
            folder = folder_of(folder);
        }
        if let Some(root) = roots(own) {
            return (own.to_owned(), Some(root));
        }
        // A folder of modules (`tests/common/mod.rs`) belongs to a crate rooted above it.
        let mut above = own;
        while !above.is_empty() && index.file(&format!("{above}/mod.rs")).is_some() {
            above = folder_of(above);
        }
        if above != own {
            return (above.to_owned(), roots(above));
        }
    }
    (own.to_owned(), index.file(path))
}

fn is_source_folder(folder: &str) -> bool {
    folder == "src" || folder.ends_with("/src")
}

/// The module path of the code at `line` of `file` in the crate rooted at `root` (its folder
/// and root file): `src/a/b.rs` → `a::b`, `src/a/mod.rs` → `a`, the root file → none, with
/// the inline modules around `line` after.
fn module_path<'a>(
    file: &'a FileAnalysis,
    (folder, root_file): &(String, Option<&str>),
    line: usize,
) -> Vec<&'a str> {
    let path = file.path.as_str();
    let mut parts: Vec<&str> = Vec::new();
    if *root_file != Some(path) {
        let relative = match path.strip_prefix(folder.as_str()) {
            Some(rest) if !folder.is_empty() => rest.trim_start_matches('/'),
            _ => path,
        };
        let relative = relative.strip_suffix(".rs").unwrap_or(relative);
        parts.extend(relative.split('/').filter(|p| !p.is_empty()));
        if matches!(parts.as_slice(), [.., "mod"] | ["lib" | "main"]) {
            parts.pop();
        }
    }
    let mut inline: Vec<&doctown_common::Symbol> = file
        .symbols
        .iter()
        .filter(|symbol| {
            symbol.kind == SymbolKind::Module
                && !symbol.tags.contains(&SymbolTag::Declaration)
                && symbol.line_range.start() < line
                && line <= symbol.line_range.end()
        })
        .collect();
    inline.sort_by_key(|symbol| symbol.line_range.start());
    parts.extend(inline.iter().map(|symbol| symbol.name.as_str()));
    parts
}

/// The file of the module at `parts` of the crate rooted at `root`: its root file for none,
/// else `a/b.rs` or `a/b/mod.rs` under its folder.
fn module_file<'r>(
    index: &RepoIndex<'r>,
    (folder, root_file): &(String, Option<&'r str>),
    parts: &[&str],
) -> Option<&'r str> {
    if parts.is_empty() {
        return *root_file;
    }
    let parts: Vec<&str> = parts
        .iter()
        .map(|part| part.strip_prefix("r#").unwrap_or(part))
        .collect();
    let stem = match folder.as_str() {
        "" => parts.join("/"),
        folder => format!("{folder}/{}", parts.join("/")),
    };
    index.first_file([format!("{stem}.rs"), format!("{stem}/mod.rs")])
}

/// The file of the longest prefix of `path` (at least `at_least` segments long) that is a
/// module with a file of its own in the crate rooted at `root`: an inline module's code is in
/// its parent's file.
fn longest_module<'r>(
    index: &RepoIndex<'r>,
    root: &(String, Option<&'r str>),
    path: &[&str],
    at_least: usize,
) -> Option<&'r str> {
    (at_least..=path.len())
        .rev()
        .find_map(|taken| module_file(index, root, &path[..taken]))
}

/// The file a `#[path = "…"]` attribute gives the module that `import` declares, relative to
/// the declaring file's folder.
fn path_attribute<'a>(file: &'a FileAnalysis, import: &Import) -> Option<&'a str> {
    let declaration = file.symbols.iter().find(|symbol| {
        symbol.kind == SymbolKind::Module
            && symbol.tags.contains(&SymbolTag::Declaration)
            && symbol.name == import.module
            && symbol.line_range.end() == import.line
    })?;
    declaration.decorators.iter().find_map(|attribute| {
        let inner = attribute.strip_prefix("#[")?.strip_suffix(']')?;
        let (name, value) = inner.split_once('=')?;
        (name.trim() == "path").then(|| value.trim().trim_matches('"'))
    })
}

/// The root of the workspace's crate named `name` (`core_types` → a folder `core-types` or
/// `core_types` holding `src/lib.rs`), when exactly one matches.
fn workspace_crate<'r>(index: &RepoIndex<'r>, name: &str) -> Option<(String, Option<&'r str>)> {
    let dashed = name.replace('_', "-");
    let mut spellings = vec![name];
    if dashed != name {
        spellings.push(&dashed);
    }
    let folder = only(
        spellings
            .iter()
            .flat_map(|spelling| index.folders_named(spelling))
            .filter(|folder| index.file(&format!("{folder}/src/lib.rs")).is_some()),
    )?;
    let source = format!("{folder}/src");
    let root = index.file(&format!("{source}/lib.rs"));
    Some((source, root))
}

#[cfg(test)]
mod tests {
    use super::impl_type_name;

    #[test]
    fn impl_names_are_the_bare_type() {
        assert_eq!(impl_type_name("Parser"), "Parser");
        assert_eq!(impl_type_name("Vec<T>"), "Vec");
        assert_eq!(impl_type_name("&'a mut fmt::Formatter<'_>"), "Formatter");
        assert_eq!(impl_type_name("dyn Error + Send"), "Error + Send");
        assert_eq!(
            impl_type_name("&mut [MaybeUninit<u8>]"),
            "[MaybeUninit<u8>]"
        );
        assert_eq!(impl_type_name("dyn fmt::Write + 'a"), "Write");
        assert_eq!(impl_type_name("*const T"), "T");
        assert_eq!(impl_type_name("(A,\n B)"), "(A, B)");
    }
}
