//! Rust symbols against `syn`, the Rust parser the ecosystem builds on, over the sources of the
//! crates in this workspace's Cargo.lock (real code, already in the cargo registry).
//!
//! Every item `syn` sees (functions, methods, structs, unions, enums, traits, impls, modules,
//! consts, statics, type aliases, `macro_rules!`), at any depth, must be found with the same
//! qualified name, kind, first line (the keyword or visibility, after attributes and doc comments)
//! and last line: ≥ 99% recall and precision.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use doctown_common::Language;
use quote::ToTokens;
use syn::visit::{self, Visit};

/// Collects the reference symbols of one file.
#[derive(Default)]
struct Collector {
    scopes: Vec<String>,
    symbols: Vec<support::Key>,
}

impl Collector {
    fn define<T: ToTokens + Clone>(&mut self, name: &str, kind: &str, item: &T, strip: fn(&mut T)) {
        // Lines of the item without its attributes (doc comments are attributes to syn).
        let mut bare = item.clone();
        strip(&mut bare);
        let tokens: Vec<_> = bare.into_token_stream().into_iter().collect();
        let (Some(first), Some(last)) = (tokens.first(), tokens.last()) else {
            return;
        };
        let qualified = self
            .scopes
            .iter()
            .map(String::as_str)
            .chain([name])
            .collect::<Vec<_>>();
        self.symbols.push((
            qualified.join("::"),
            kind.to_owned(),
            first.span().start().line,
            last.span().end().line,
        ));
    }

    fn scoped(&mut self, name: String, walk: impl FnOnce(&mut Self)) {
        self.scopes.push(name);
        walk(self);
        self.scopes.pop();
    }
}

/// An impl's name: the type's last path segment, through references.
fn type_name(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().unwrap().ident.to_string(),
        syn::Type::Reference(reference) => type_name(&reference.elem),
        syn::Type::Ptr(pointer) => type_name(&pointer.elem),
        syn::Type::TraitObject(object) => object
            .bounds
            .iter()
            .filter_map(|bound| match bound {
                // Lifetime bounds (`+ 'a`) are not part of the name.
                syn::TypeParamBound::Trait(bound) => {
                    Some(bound.path.segments.last()?.ident.to_string())
                }
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(" + "),
        // Slices, arrays and tuples are named as written; whitespace is not compared.
        other => other.to_token_stream().to_string(),
    }
}

macro_rules! strip_attrs {
    () => {
        |item| item.attrs.clear()
    };
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        let name = item.sig.ident.to_string();
        self.define(&name, "function", item, strip_attrs!());
        self.scoped(name, |this| visit::visit_item_fn(this, item));
    }
    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        let name = item.sig.ident.to_string();
        self.define(&name, "method", item, strip_attrs!());
        self.scoped(name, |this| visit::visit_impl_item_fn(this, item));
    }
    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        let name = item.sig.ident.to_string();
        self.define(&name, "method", item, strip_attrs!());
        self.scoped(name, |this| visit::visit_trait_item_fn(this, item));
    }
    fn visit_foreign_item_fn(&mut self, item: &'ast syn::ForeignItemFn) {
        self.define(
            &item.sig.ident.to_string(),
            "function",
            item,
            strip_attrs!(),
        );
    }
    fn visit_item_struct(&mut self, item: &'ast syn::ItemStruct) {
        self.define(&item.ident.to_string(), "struct", item, strip_attrs!());
        visit::visit_item_struct(self, item);
    }
    fn visit_item_union(&mut self, item: &'ast syn::ItemUnion) {
        self.define(&item.ident.to_string(), "struct", item, strip_attrs!());
    }
    fn visit_item_enum(&mut self, item: &'ast syn::ItemEnum) {
        self.define(&item.ident.to_string(), "enum", item, strip_attrs!());
        visit::visit_item_enum(self, item);
    }
    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        let name = item.ident.to_string();
        self.define(&name, "trait", item, strip_attrs!());
        self.scoped(name, |this| visit::visit_item_trait(this, item));
    }
    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let name = type_name(&item.self_ty);
        self.define(&name, "impl", item, strip_attrs!());
        self.scoped(name, |this| visit::visit_item_impl(this, item));
    }
    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        let name = item.ident.to_string();
        self.define(&name, "module", item, strip_attrs!());
        self.scoped(name, |this| visit::visit_item_mod(this, item));
    }
    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        // `const _: () = …;` has no name to find it by.
        if item.ident != "_" {
            self.define(&item.ident.to_string(), "const", item, strip_attrs!());
        }
        visit::visit_item_const(self, item);
    }
    fn visit_impl_item_const(&mut self, item: &'ast syn::ImplItemConst) {
        self.define(&item.ident.to_string(), "const", item, strip_attrs!());
        visit::visit_impl_item_const(self, item);
    }
    fn visit_trait_item_const(&mut self, item: &'ast syn::TraitItemConst) {
        self.define(&item.ident.to_string(), "const", item, strip_attrs!());
        visit::visit_trait_item_const(self, item);
    }
    fn visit_item_static(&mut self, item: &'ast syn::ItemStatic) {
        self.define(&item.ident.to_string(), "static", item, strip_attrs!());
        visit::visit_item_static(self, item);
    }
    fn visit_foreign_item_static(&mut self, item: &'ast syn::ForeignItemStatic) {
        self.define(&item.ident.to_string(), "static", item, strip_attrs!());
    }
    fn visit_item_type(&mut self, item: &'ast syn::ItemType) {
        self.define(&item.ident.to_string(), "type_alias", item, strip_attrs!());
    }
    fn visit_impl_item_type(&mut self, item: &'ast syn::ImplItemType) {
        self.define(&item.ident.to_string(), "type_alias", item, strip_attrs!());
    }
    fn visit_trait_item_type(&mut self, item: &'ast syn::TraitItemType) {
        self.define(&item.ident.to_string(), "type_alias", item, strip_attrs!());
    }
    fn visit_item_macro(&mut self, item: &'ast syn::ItemMacro) {
        if let Some(ident) = &item.ident {
            self.define(&ident.to_string(), "macro", item, strip_attrs!());
        }
    }
}

/// Type names inside qualified names differ only in spacing between `syn`'s tokens and source.
fn without_spaces(keys: Vec<support::Key>) -> Vec<support::Key> {
    keys.into_iter()
        .map(|(name, kind, start, end)| {
            let name: String = name.split_whitespace().collect();
            (name.replace(",)", ")"), kind, start, end)
        })
        .collect()
}

#[test]
fn rust_symbols_match_syn_on_locked_crates() {
    let mut files = Vec::new();
    for directory in support::locked_crate_sources() {
        support::rust_files(&directory, &mut files);
    }
    let mut score = support::Score::default();
    for path in &files {
        let source = std::fs::read(path).unwrap();
        let Ok(text) = std::str::from_utf8(&source) else {
            continue;
        };
        // Files syn cannot parse (macro templates, newer syntax) have no reference.
        let Ok(file) = syn::parse_file(text) else {
            continue;
        };
        let mut collector = Collector::default();
        collector.visit_file(&file);
        let display = path.to_string_lossy();
        let display = display.split("/registry/src/").last().unwrap_or(&display);
        let analysis = doctown_intel::extract(display, &source, Language::Rust);
        let found = support::keys(&analysis, |_| true);
        score.add(
            display,
            without_spaces(collector.symbols),
            without_spaces(found),
        );
    }
    score.assert_at_least("rust", 0.99);
}
