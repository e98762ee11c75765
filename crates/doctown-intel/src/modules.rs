//! A repository's modules, as its languages define them: a Rust crate and its `mod` tree, a Go
//! package, a Python package and its modules, a JavaScript or TypeScript package and its
//! directories. Each language's rule (`Grammar::module_of`, in `lang/`) names the modules a
//! file belongs to; this module only gathers them into one tree, nested as their paths nest.

use std::collections::BTreeMap;

use doctown_common::Language;
use serde::{Deserialize, Serialize};

use crate::imports::RepoIndex;
use crate::lang::grammar;

/// What a module is, as its language calls it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleKind {
    /// A Rust crate (a folder with `Cargo.toml`).
    Crate,
    /// A Go package, a Python package (a folder with `__init__.py`), a JavaScript or
    /// TypeScript package (a folder with `package.json`).
    Package,
    /// A Rust module, a Python module: one file, or a folder of them.
    Module,
    /// A folder of JavaScript or TypeScript files, or of Python files outside any package.
    Directory,
}

impl ModuleKind {
    /// The word pages use for it.
    pub fn word(self) -> &'static str {
        match self {
            ModuleKind::Crate => "crate",
            ModuleKind::Package => "package",
            ModuleKind::Module => "module",
            ModuleKind::Directory => "directory",
        }
    }
}

/// One module a file belongs to, as a language's rule names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ModuleStep {
    /// Its id: the path of its folder, or of its file without the extension (`.` for the
    /// repository's root folder).
    pub(crate) id: String,
    /// Its name as the language writes it.
    pub(crate) name: String,
    /// What it is.
    pub(crate) kind: ModuleKind,
    /// The folder that is the module, where its own documentation (a README) would be; `None`
    /// for a module that is one file.
    pub(crate) folder: Option<String>,
}

impl ModuleStep {
    /// A module that is the folder `folder` (`""` is the root, whose id is `.`).
    pub(crate) fn folder(folder: &str, name: String, kind: ModuleKind) -> Self {
        Self {
            id: if folder.is_empty() {
                ".".to_owned()
            } else {
                folder.to_owned()
            },
            name,
            kind,
            folder: Some(folder.to_owned()),
        }
    }
}

/// A module of the repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Module {
    /// Its id: the path of its folder, or of its file without the extension; `.` for a
    /// module that is the repository's root folder.
    pub id: String,
    /// Its name as its language writes it: `doctown_intel::lang`, `shop.models`,
    /// `internal/store`, `src/components`.
    pub name: String,
    /// What it is.
    pub kind: ModuleKind,
    /// The language of most of its files.
    pub language: Language,
    /// The module it is nested in: the one its language's rule puts it in (a Rust module's
    /// crate, a Python module's package), else the nearest module whose id is a folder above
    /// its own (never the root folder's `.`, which would hold everything).
    pub parent: Option<String>,
    /// The code files that belong to it directly, sorted.
    pub files: Vec<String>,
    /// The folder that is the module (`""` for the root), where its own documentation (a
    /// README) would be; `None` for a module that is one file.
    pub folder: Option<String>,
}

/// The modules of a repository whose code files are `files` (each with its language) and
/// whose files of every kind are `paths` (manifests such as `Cargo.toml`, `package.json` and
/// `__init__.py` mark crates and packages). Sorted by id; every parent is in the list.
pub fn modules<'a>(
    files: impl IntoIterator<Item = (&'a str, Language)>,
    paths: impl IntoIterator<Item = &'a str>,
) -> Vec<Module> {
    let index = RepoIndex::new(paths);
    let mut modules: BTreeMap<String, (Module, BTreeMap<Language, usize>)> = BTreeMap::new();
    let mut nested_in: BTreeMap<String, String> = BTreeMap::new();
    for (path, language) in files {
        let steps = grammar(language).module_of(path, &index);
        let last = steps.len().saturating_sub(1);
        let mut outer: Option<String> = None;
        for (position, step) in steps.into_iter().enumerate() {
            if let Some(outer) = outer.replace(step.id.clone()) {
                nested_in.entry(step.id.clone()).or_insert(outer);
            }
            let (module, languages) = modules.entry(step.id.clone()).or_insert_with(|| {
                (
                    Module {
                        id: step.id,
                        name: step.name,
                        kind: step.kind,
                        language,
                        parent: None,
                        files: Vec::new(),
                        folder: step.folder,
                    },
                    BTreeMap::new(),
                )
            });
            if position == last {
                module.files.push(path.to_owned());
                *languages.entry(language).or_default() += 1;
            }
        }
    }
    let ids: Vec<String> = modules.keys().cloned().collect();
    modules
        .into_values()
        .map(|(mut module, languages)| {
            if let Some((&language, _)) = languages.iter().max_by_key(|(_, count)| **count) {
                module.language = language;
            }
            module.files.sort();
            module.parent = nested_in
                .get(&module.id)
                .cloned()
                .or_else(|| parent_of(&module.id, &ids));
            module
        })
        .collect()
}

/// The nearest of `ids` (sorted) that is a folder above `id`; the root's `.` is no module's
/// parent by its path alone.
fn parent_of(id: &str, ids: &[String]) -> Option<String> {
    let mut folder = id;
    while let Some((above, _)) = folder.rsplit_once('/') {
        folder = above;
        if ids
            .binary_search_by(|probe| probe.as_str().cmp(folder))
            .is_ok()
        {
            return Some(folder.to_owned());
        }
    }
    None
}

/// The last component of a `/`-separated path.
pub(crate) fn last_component(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The nearest folder at or above `folder` (`""` is the root) that holds a file named
/// `marker`, by the repository's index.
pub(crate) fn nearest_with<'p>(
    index: &RepoIndex<'_>,
    folder: &'p str,
    marker: &str,
) -> Option<&'p str> {
    let mut current = folder;
    loop {
        let candidate = if current.is_empty() {
            marker.to_owned()
        } else {
            format!("{current}/{marker}")
        };
        if index.file(&candidate).is_some() {
            return Some(current);
        }
        if current.is_empty() {
            return None;
        }
        current = current.rsplit_once('/').map_or("", |(above, _)| above);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The modules of `paths` (code files detected by extension), as
    /// `id [kind] name ← parent: files` lines.
    fn tree(paths: &[&str]) -> Vec<String> {
        let files = paths.iter().filter_map(|path| {
            let extension = path.rsplit_once('.')?.1;
            Language::from_extension(extension).map(|language| (*path, language))
        });
        modules(files, paths.iter().copied())
            .into_iter()
            .map(|module| {
                format!(
                    "{} [{}] {} ← {}: {}",
                    module.id,
                    module.kind.word(),
                    module.name,
                    module.parent.as_deref().unwrap_or("-"),
                    module.files.join(" ")
                )
            })
            .collect()
    }

    #[test]
    fn rust_crates_hold_their_module_trees() {
        assert_eq!(
            tree(&[
                "Cargo.toml",
                "crates/intel-core/Cargo.toml",
                "crates/intel-core/src/lib.rs",
                "crates/intel-core/src/lang/mod.rs",
                "crates/intel-core/src/lang/go.rs",
                "crates/intel-core/src/text.rs",
                "crates/intel-core/tests/support/mod.rs",
                "crates/intel-core/tests/accuracy.rs",
                "crates/intel-core/src/bin/tool.rs",
                "src/main.rs",
            ]),
            [
                ". [crate] . ← -: src/main.rs",
                "crates/intel-core [crate] intel_core ← -: crates/intel-core/src/lib.rs",
                "crates/intel-core/src/bin [module] intel_core::bin ← crates/intel-core: ",
                "crates/intel-core/src/bin/tool [module] intel_core::bin::tool ← crates/intel-core/src/bin: crates/intel-core/src/bin/tool.rs",
                "crates/intel-core/src/lang [module] intel_core::lang ← crates/intel-core: crates/intel-core/src/lang/mod.rs",
                "crates/intel-core/src/lang/go [module] intel_core::lang::go ← crates/intel-core/src/lang: crates/intel-core/src/lang/go.rs",
                "crates/intel-core/src/text [module] intel_core::text ← crates/intel-core: crates/intel-core/src/text.rs",
                "crates/intel-core/tests [module] tests ← crates/intel-core: ",
                "crates/intel-core/tests/accuracy [module] tests/accuracy ← crates/intel-core/tests: crates/intel-core/tests/accuracy.rs",
                "crates/intel-core/tests/support [module] tests/support ← crates/intel-core/tests: crates/intel-core/tests/support/mod.rs",
            ]
        );
    }

    #[test]
    fn go_packages_are_folders_nested_as_folders_nest() {
        assert_eq!(
            tree(&[
                "go.mod",
                "main.go",
                "internal/store/store.go",
                "internal/store/store_test.go",
                "internal/store/sql/sql.go",
                "cmd/tool/main.go",
            ]),
            [
                ". [package] . ← -: main.go",
                "cmd/tool [package] cmd/tool ← -: cmd/tool/main.go",
                "internal/store [package] internal/store ← -: internal/store/store.go internal/store/store_test.go",
                "internal/store/sql [package] internal/store/sql ← internal/store: internal/store/sql/sql.go",
            ]
        );
    }

    #[test]
    fn python_packages_hold_their_modules_and_loose_scripts_their_folder() {
        assert_eq!(
            tree(&[
                "setup.py",
                "src/shop/__init__.py",
                "src/shop/models.py",
                "src/shop/util/__init__.py",
                "src/shop/util/text.py",
                "tests/test_models.py",
            ]),
            [
                "setup [module] setup ← -: setup.py",
                "src/shop [package] shop ← -: src/shop/__init__.py",
                "src/shop/models [module] shop.models ← src/shop: src/shop/models.py",
                "src/shop/util [package] shop.util ← src/shop: src/shop/util/__init__.py",
                "src/shop/util/text [module] shop.util.text ← src/shop/util: src/shop/util/text.py",
                "tests [directory] tests ← -: ",
                "tests/test_models [module] test_models ← tests: tests/test_models.py",
            ]
        );
    }

    #[test]
    fn ecmascript_workspaces_give_a_package_each_and_its_directories() {
        assert_eq!(
            tree(&[
                "package.json",
                "index.js",
                "src/app.ts",
                "src/components/Button.tsx",
                "packages/ui/package.json",
                "packages/ui/index.ts",
                "packages/ui/lib/colors.ts",
            ]),
            [
                ". [directory] . ← -: index.js",
                "packages/ui [package] ui ← -: packages/ui/index.ts",
                "packages/ui/lib [directory] ui/lib ← packages/ui: packages/ui/lib/colors.ts",
                "src [directory] src ← -: src/app.ts",
                "src/components [directory] src/components ← src: src/components/Button.tsx",
            ]
        );
    }
}
