//! Shared by the accuracy tests: scoring extracted symbols against a language's own parser.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::fmt::Write as _;

use std::path::{Path, PathBuf};
use std::process::Command;

use doctown_common::{FileAnalysis, Language};
use serde::Deserialize;

/// One symbol as compared: qualified name, kind, first and last line.
pub(crate) type Key = (String, String, usize, usize);

/// Matches, misses and extras over many files.
#[derive(Default)]
pub(crate) struct Score {
    pub(crate) files: usize,
    pub(crate) expected: usize,
    pub(crate) found: usize,
    pub(crate) matched: usize,
    pub(crate) misses: Vec<String>,
    pub(crate) extras: Vec<String>,
}

impl Score {
    /// Compares one file's extracted symbols (mapped to keys by `key`) with the reference's.
    pub(crate) fn add(&mut self, path: &str, expected: Vec<Key>, found: Vec<Key>) {
        self.files += 1;
        self.expected += expected.len();
        self.found += found.len();
        let mut remaining: HashMap<&Key, usize> = HashMap::new();
        for key in &found {
            *remaining.entry(key).or_default() += 1;
        }
        for key in &expected {
            match remaining.get_mut(key) {
                Some(count) if *count > 0 => {
                    *count -= 1;
                    self.matched += 1;
                }
                _ => self.misses.push(format!("{path}: {key:?}")),
            }
        }
        for (key, count) in remaining {
            for _ in 0..count {
                self.extras.push(format!("{path}: {key:?}"));
            }
        }
    }

    pub(crate) fn recall(&self) -> f64 {
        self.matched as f64 / self.expected.max(1) as f64
    }

    pub(crate) fn precision(&self) -> f64 {
        self.matched as f64 / self.found.max(1) as f64
    }

    /// A report with the figures and the first few misses and extras.
    pub(crate) fn report(&self, language: &str) -> String {
        let mut text = format!(
            "{language}: {} files, {} reference symbols, {} extracted, {} exact matches: \
             recall {:.4}, precision {:.4}\n",
            self.files,
            self.expected,
            self.found,
            self.matched,
            self.recall(),
            self.precision()
        );
        let mut misses = self.misses.clone();
        misses.sort();
        let mut extras = self.extras.clone();
        extras.sort();
        for miss in misses.iter().take(25) {
            writeln!(text, "  missed {miss}").unwrap();
        }
        for extra in extras.iter().take(25) {
            writeln!(text, "  extra  {extra}").unwrap();
        }
        text
    }

    /// Fails unless recall and precision both reach `target`.
    pub(crate) fn assert_at_least(&self, language: &str, target: f64) {
        let report = self.report(language);
        eprintln!("{report}");
        assert!(
            self.expected > 1000,
            "too few reference symbols to judge:\n{report}"
        );
        assert!(
            self.recall() >= target && self.precision() >= target,
            "below {target}:\n{report}"
        );
    }
}

/// The keys of an analysis, with kinds as their wire ids.
pub(crate) fn keys(
    analysis: &FileAnalysis,
    keep: impl Fn(&doctown_common::Symbol) -> bool,
) -> Vec<Key> {
    analysis
        .symbols
        .iter()
        .filter(|symbol| keep(symbol))
        .map(|symbol| {
            (
                symbol.qualified_name.clone(),
                symbol.kind.id().to_owned(),
                symbol.line_range.start(),
                symbol.line_range.end(),
            )
        })
        .collect()
}

/// One file of a reference parser's output.
#[derive(Deserialize)]
struct ReferenceFile {
    path: String,
    symbols: Vec<Key>,
}

/// Runs a reference program that prints one `{"path", "symbols"}` line per file under `root`,
/// and scores the extraction of each of those files against it.
pub(crate) fn score_against_reference(mut reference: Command, root: &Path) -> Score {
    let program = format!("{reference:?}");
    let output = reference
        .output()
        .unwrap_or_else(|err| panic!("could not run the reference parser {program}: {err}"));
    assert!(
        output.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut score = Score::default();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let file: ReferenceFile = serde_json::from_str(line).unwrap();
        let source = std::fs::read(root.join(&file.path)).unwrap();
        let language = Language::detect(Path::new(&file.path), &source).unwrap();
        let analysis = doctown_intel::extract(&file.path, &source, language);
        score.add(&file.path, file.symbols, keys(&analysis, |_| true));
    }
    score
}

/// A reference program or script under `tests/reference/`.
pub(crate) fn reference_script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(name)
}

/// Where `scripts/install-test-deps` put the test corpus: `$DOCTOWN_TEST_CORPUS`, else
/// `~/.cache/doctown/test-corpus`.
pub(crate) fn test_corpus() -> std::path::PathBuf {
    let corpus = match std::env::var_os("DOCTOWN_TEST_CORPUS") {
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::PathBuf::from(std::env::var_os("HOME").unwrap())
            .join(".cache/doctown/test-corpus"),
    };
    assert!(
        corpus.join("ready").exists(),
        "the test corpus is missing from {}: run scripts/install-test-deps",
        corpus.display()
    );
    corpus
}

/// The source directories of the packages in Cargo.lock that the registry holds.
pub(crate) fn locked_crate_sources() -> Vec<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let lock = std::fs::read_to_string(workspace.join("Cargo.lock")).unwrap();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cargo"));
    let registries: Vec<PathBuf> = std::fs::read_dir(cargo_home.join("registry/src"))
        .map(|entries| {
            entries
                .filter_map(|entry| Some(entry.ok()?.path()))
                .collect()
        })
        .unwrap_or_default();
    let mut names = Vec::new();
    let mut name = None;
    for line in lock.lines() {
        if let Some(value) = line.strip_prefix("name = ") {
            name = Some(value.trim_matches('"').to_owned());
        } else if let (Some(value), Some(current)) = (line.strip_prefix("version = "), name.take())
        {
            names.push(format!("{current}-{}", value.trim_matches('"')));
        }
    }
    let mut directories: Vec<PathBuf> = names
        .iter()
        .filter_map(|package| {
            registries
                .iter()
                .map(|r| r.join(package))
                .find(|d| d.is_dir())
        })
        .collect();
    directories.sort();
    directories
}

pub(crate) fn rust_files(directory: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(directory) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(|entry| entry.ok()).collect();
    entries.sort_by_key(|entry| entry.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}
