//! Imports resolved to the repository (`RepoIndex::resolve`) against each language's own rules,
//! on real code:
//!
//! - Go's source distribution (Debian's golang-go package) as one repository: the go command
//!   finds an import `P` of GOROOT at `src/P`, else at `src/cmd/vendor/P` (for the commands) or
//!   `src/vendor/P`, a folder of Go files; every import must lead where it does (≥ 99% recall
//!   and precision);
//! - the crates of this workspace's Cargo.lock, from the cargo registry, each a repository of
//!   its own: every `mod name;` and every `crate::`, `self::` and `super::` path names code of
//!   the crate, so ≥ 99% of them must lead to one of its files.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use doctown_common::{FileAnalysis, ImportKind, Language};
use doctown_intel::{ImportTarget, RepoIndex};

/// Extracts every file under `root` given by `paths` (relative, `/`-separated).
fn analyses(root: &Path, paths: &[String]) -> Vec<FileAnalysis> {
    paths
        .iter()
        .filter_map(|path| {
            let source = std::fs::read(root.join(path)).ok()?;
            let language = Language::detect(Path::new(path), &source)?;
            Some(doctown_intel::extract(path, &source, language))
        })
        .collect()
}

/// The files under `folder` whose names end with `suffix`, relative to `root`, skipping
/// `testdata` folders (Go ignores them).
fn files(root: &Path, folder: &Path, suffix: &str, out: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "testdata" {
                files(root, &path, suffix, out);
            }
        } else if name.ends_with(suffix) {
            let relative = path.strip_prefix(root).unwrap();
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn go_imports_lead_where_the_go_command_finds_them() {
    let output = Command::new("go").args(["env", "GOROOT"]).output().expect(
        "the go command runs: install Go (scripts/install-test-deps does) to run this test",
    );
    let goroot = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
        .canonicalize()
        .unwrap();
    let mut paths = Vec::new();
    files(&goroot, &goroot.join("src"), ".go", &mut paths);
    let analyses = analyses(&goroot, &paths);
    let index = RepoIndex::new(analyses.iter().map(|a| a.path.as_str()));
    let packages: HashSet<&str> = analyses
        .iter()
        .map(|a| a.path.rsplit_once('/').unwrap().0)
        .collect();

    let (mut expected, mut found, mut matched) = (0usize, 0usize, 0usize);
    let mut wrong = Vec::new();
    for file in &analyses {
        for import in &file.imports {
            let module = &import.module;
            let vendor = if file.path.starts_with("src/cmd/") {
                vec![format!("src/{module}"), format!("src/cmd/vendor/{module}")]
            } else {
                vec![format!("src/{module}"), format!("src/vendor/{module}")]
            };
            let reference = vendor.iter().find(|p| packages.contains(p.as_str()));
            let resolved = match index.resolve(file, import) {
                Some(ImportTarget::Package(folder)) => Some(folder),
                Some(ImportTarget::File(path)) => panic!("a Go import led to a file: {path}"),
                None => None,
            };
            expected += usize::from(reference.is_some());
            found += usize::from(resolved.is_some());
            if reference.is_some() && reference.map(String::as_str) == resolved {
                matched += 1;
            } else if reference.is_some() || resolved.is_some() {
                wrong.push(format!(
                    "{}: {module} → {resolved:?}, the go command: {reference:?}",
                    file.path
                ));
            }
        }
    }
    let recall = matched as f64 / expected.max(1) as f64;
    let precision = matched as f64 / found.max(1) as f64;
    eprintln!(
        "go: {} files, {expected} imports of the repository by Go's rules, {found} resolved, \
         {matched} to the same package: recall {recall:.4}, precision {precision:.4}",
        analyses.len()
    );
    for line in wrong.iter().take(20) {
        eprintln!("  {line}");
    }
    assert!(expected > 10_000, "Go's sources import their own packages");
    assert!(
        recall >= 0.99 && precision >= 0.99,
        "Go imports resolved below 99%"
    );
}

#[test]
fn rust_paths_of_a_crate_lead_to_its_files() {
    let (mut expected, mut resolved) = (0usize, 0usize);
    let mut missed = Vec::new();
    let mut crates = 0;
    for directory in support::locked_crate_sources() {
        let mut paths = Vec::new();
        files(&directory, &directory, ".rs", &mut paths);
        let analyses = analyses(&directory, &paths);
        let index = RepoIndex::new(analyses.iter().map(|a| a.path.as_str()));
        crates += 1;
        for file in &analyses {
            for import in &file.imports {
                let own = import.kind == ImportKind::Module
                    || ["crate", "self", "super"]
                        .iter()
                        .any(|first| import.path.split("::").next() == Some(first));
                if !own {
                    continue;
                }
                expected += 1;
                match index.resolve(file, import) {
                    Some(ImportTarget::File(_)) => resolved += 1,
                    other => missed.push(format!(
                        "{}/{}:{}: {} → {other:?}",
                        directory.file_name().unwrap().to_string_lossy(),
                        file.path,
                        import.line,
                        import.path
                    )),
                }
            }
        }
    }
    let recall = resolved as f64 / expected.max(1) as f64;
    eprintln!(
        "rust: {crates} crates, {expected} `mod`, `crate::`, `self::` and `super::` imports, \
         {resolved} led to a file of their crate: {recall:.4}"
    );
    for line in missed.iter().take(30) {
        eprintln!("  missed {line}");
    }
    assert!(
        expected > 1_000,
        "the registry's crates import their own modules"
    );
    assert!(
        recall >= 0.99,
        "Rust imports of a crate's own code resolved below 99%"
    );
}
