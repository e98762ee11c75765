//! Imports resolved to the repository: the file or package an import names when it is part of
//! the repository. The rules are each language's own (`Grammar::resolve_import` in `lang/`);
//! this module only indexes the repository's paths for them. Call resolution and the code graph
//! both resolve imports here, so they agree on what a file imports.

use std::collections::{HashMap, HashSet};

use doctown_common::{FileAnalysis, Import};

use crate::lang::grammar;

/// Where an import leads inside the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImportTarget<'a> {
    /// One file: a Python module, a JavaScript or TypeScript file, a Rust module's file.
    File(&'a str),
    /// A package that is a whole folder (Go), by its folder's path.
    Package(&'a str),
}

impl ImportTarget<'_> {
    /// Whether the file at `path` is (part of) this target.
    pub fn holds(&self, path: &str) -> bool {
        match *self {
            ImportTarget::File(file) => file == path,
            ImportTarget::Package(folder) => folder_of(path) == folder,
        }
    }
}

/// The paths of a repository's files, indexed for resolving imports to them.
#[derive(Debug, Default)]
pub struct RepoIndex<'a> {
    files: HashSet<&'a str>,
    /// The files directly in each folder (`""` is the root), in path order.
    folders: HashMap<&'a str, Vec<&'a str>>,
    /// Every folder above a file (not the root), by its last component.
    folders_by_name: HashMap<&'a str, Vec<&'a str>>,
    /// Files by their name (`util.py`).
    files_by_name: HashMap<&'a str, Vec<&'a str>>,
}

impl<'a> RepoIndex<'a> {
    /// Indexes `paths` (`/`-separated, relative to the repository's root).
    pub fn new(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut index = RepoIndex::default();
        let mut paths: Vec<&'a str> = paths.into_iter().collect();
        paths.sort_unstable();
        paths.dedup();
        let mut known = HashSet::new();
        for path in paths {
            index.files.insert(path);
            let folder = folder_of(path);
            let name = path.rsplit('/').next().unwrap_or(path);
            index.files_by_name.entry(name).or_default().push(path);
            index.folders.entry(folder).or_default().push(path);
            let mut ancestor = folder;
            while !ancestor.is_empty() && known.insert(ancestor) {
                let name = ancestor.rsplit('/').next().unwrap_or(ancestor);
                index
                    .folders_by_name
                    .entry(name)
                    .or_default()
                    .push(ancestor);
                ancestor = folder_of(ancestor);
            }
        }
        index
    }

    /// Where `import`, written in `importer`, leads in the repository, by the importer's
    /// language's rules; `None` for what lies outside it (a dependency, the standard library)
    /// or what those rules cannot tell apart.
    pub fn resolve(&self, importer: &FileAnalysis, import: &Import) -> Option<ImportTarget<'a>> {
        grammar(importer.language).resolve_import(importer, import, self)
    }

    /// The repository's own copy of `path`, when it is one of its files.
    pub(crate) fn file(&self, path: &str) -> Option<&'a str> {
        self.files.get(path).copied()
    }

    /// The first of `candidates` that is a file of the repository.
    pub(crate) fn first_file(
        &self,
        candidates: impl IntoIterator<Item = String>,
    ) -> Option<&'a str> {
        candidates
            .into_iter()
            .find_map(|candidate| self.file(&candidate))
    }

    /// The files directly in `folder`, in path order.
    pub fn files_in(&self, folder: &str) -> &[&'a str] {
        self.folders.get(folder).map_or(&[], Vec::as_slice)
    }

    /// The folders above the repository's files (not the root) whose last component is
    /// `name`.
    pub(crate) fn folders_named(&self, name: &str) -> &[&'a str] {
        self.folders_by_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// The files named `name`, wherever they are.
    pub(crate) fn files_named(&self, name: &str) -> &[&'a str] {
        self.files_by_name.get(name).map_or(&[], Vec::as_slice)
    }
}

/// The folder of a `/`-separated path: `src/a/b.rs` → `src/a`; `main.go` → `""`.
pub(crate) fn folder_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(folder, _)| folder)
}

/// `/`-separated `path` with its `.` and `..` components resolved; `None` when it climbs above
/// the root.
pub(crate) fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The only one of `candidates`, or `None` for none or several.
pub(crate) fn only<T>(mut candidates: impl Iterator<Item = T>) -> Option<T> {
    let first = candidates.next()?;
    candidates.next().is_none().then_some(first)
}

#[cfg(test)]
pub(crate) mod tests {
    use doctown_common::Language;

    use super::*;
    use crate::extract;

    /// Each of `files` (path and source, the language detected from the path) extracted.
    pub(crate) fn analyses(files: &[(&str, &str)]) -> Vec<FileAnalysis> {
        files
            .iter()
            .map(|(path, source)| {
                let language =
                    Language::detect(std::path::Path::new(path), source.as_bytes()).unwrap();
                extract(path, source.as_bytes(), language)
            })
            .collect()
    }

    /// Extracts `files` and resolves every import of `importer` (a path among them) to the
    /// repository, as `module → target` lines (`-` for an import left outside).
    fn resolved(files: &[(&str, &str)], importer: &str) -> Vec<String> {
        let analyses = analyses(files);
        let index = RepoIndex::new(analyses.iter().map(|a| a.path.as_str()));
        let file = analyses.iter().find(|a| a.path == importer).unwrap();
        file.imports
            .iter()
            .map(|import| {
                let target = match index.resolve(file, import) {
                    Some(ImportTarget::File(path)) => path.to_owned(),
                    Some(ImportTarget::Package(folder)) => format!("{folder}/"),
                    None => "-".to_owned(),
                };
                format!("{} → {target}", import.path)
            })
            .collect()
    }

    #[test]
    fn python_modules_resolve_from_the_root_relatively_and_under_a_source_folder() {
        let files = [
            ("src/shop/__init__.py", ""),
            ("src/shop/models.py", "class User:\n    pass\n"),
            ("src/shop/util/__init__.py", ""),
            ("src/shop/util/text.py", "def slug(s):\n    return s\n"),
            (
                "src/shop/views.py",
                "import os\nimport shop.models\nfrom . import models\nfrom .util import text\nfrom .util.text import slug\nfrom ..other import x\nfrom shop.util import *\n",
            ),
        ];
        assert_eq!(
            resolved(&files, "src/shop/views.py"),
            [
                "os → -",
                "shop.models → src/shop/models.py",
                ".models → src/shop/models.py",
                ".util.text → src/shop/util/text.py",
                ".util.text.slug → src/shop/util/text.py",
                "..other.x → -",
                "shop.util.* → src/shop/util/__init__.py",
            ]
        );
    }

    #[test]
    fn script_imports_resolve_relative_paths_extensions_and_index_files() {
        let files = [
            ("web/src/app.ts", "export const app = 1;\n"),
            ("web/src/lib/index.ts", "export const lib = 1;\n"),
            ("web/src/esm.ts", "export const esm = 1;\n"),
            ("web/util.js", "module.exports = {};\n"),
            (
                "web/src/main.ts",
                "import { app } from './app';\nimport * as lib from './lib';\nimport { esm } from './esm.js';\nimport react from 'react';\nconst util = require('../util');\nimport x from '../../../outside';\n",
            ),
        ];
        assert_eq!(
            resolved(&files, "web/src/main.ts"),
            [
                "./app.app → web/src/app.ts",
                "./lib → web/src/lib/index.ts",
                "./esm.js.esm → web/src/esm.ts",
                "react.default → -",
                "../util → web/util.js",
                "../../../outside.default → -",
            ]
        );
    }

    #[test]
    fn go_imports_resolve_to_package_folders_by_their_trailing_path() {
        let files = [
            ("internal/store/store.go", "package store\n"),
            ("internal/store/store_test.go", "package store\n"),
            ("vendor/golang.org/x/text/width/width.go", "package width\n"),
            ("src/net/http/server.go", "package http\n"),
            ("a/util/util.go", "package util\n"),
            ("b/util/util.go", "package util\n"),
            (
                "cmd/server/main.go",
                "package main\n\nimport (\n\t\"example.com/app/internal/store\"\n\t\"fmt\"\n\t\"golang.org/x/text/width\"\n\t\"net/http\"\n\t\"example.com/other/util\"\n)\n",
            ),
        ];
        assert_eq!(
            resolved(&files, "cmd/server/main.go"),
            [
                "example.com/app/internal/store → internal/store/",
                "fmt → -",
                "golang.org/x/text/width → vendor/golang.org/x/text/width/",
                "net/http → src/net/http/",
                "example.com/other/util → -",
            ]
        );
    }

    #[test]
    fn rust_paths_resolve_to_module_files_crates_of_the_workspace_and_declared_modules() {
        let files = [
            ("crates/core-types/src/lib.rs", "pub mod ids;\n"),
            ("crates/core-types/src/ids.rs", "pub struct Id;\n"),
            (
                "crates/app/src/lib.rs",
                "mod parser;\npub mod lexer;\nuse crate::parser::Parser;\nuse core_types::ids::Id;\nuse std::collections::HashMap;\n",
            ),
            ("crates/app/src/lexer/mod.rs", "pub mod token;\n"),
            (
                "crates/app/src/lexer/token.rs",
                "use super::super::parser;\nuse self::inner::X;\nmod inner { pub struct X; }\n",
            ),
            (
                "crates/app/src/parser.rs",
                "use crate::lexer::token::{self, Token};\nuse super::*;\npub struct Parser;\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n",
            ),
        ];
        assert_eq!(
            resolved(&files, "crates/app/src/lib.rs"),
            [
                "parser → crates/app/src/parser.rs",
                "lexer → crates/app/src/lexer/mod.rs",
                "crate::parser::Parser → crates/app/src/parser.rs",
                "core_types::ids::Id → crates/core-types/src/ids.rs",
                "std::collections::HashMap → -",
            ]
        );
        assert_eq!(
            resolved(&files, "crates/app/src/lexer/mod.rs"),
            ["token → crates/app/src/lexer/token.rs"]
        );
        assert_eq!(
            resolved(&files, "crates/app/src/lexer/token.rs"),
            [
                "super::super::parser → crates/app/src/parser.rs",
                "self::inner::X → crates/app/src/lexer/token.rs",
            ]
        );
        assert_eq!(
            resolved(&files, "crates/app/src/parser.rs"),
            [
                "crate::lexer::token → crates/app/src/lexer/token.rs",
                "crate::lexer::token::Token → crates/app/src/lexer/token.rs",
                "super::* → crates/app/src/lib.rs",
                "super::* → crates/app/src/parser.rs",
            ],
            "an inline module's `super` is the file's own module"
        );
    }

    #[test]
    fn paths_normalize_without_climbing_above_the_root() {
        assert_eq!(normalize("src/./a/../b/c").as_deref(), Some("src/b/c"));
        assert_eq!(normalize("a/../../b"), None);
        assert_eq!(folder_of("src/a/b.rs"), "src/a");
        assert_eq!(folder_of("main.go"), "");
    }
}
