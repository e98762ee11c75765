//! Golden snapshots of what extraction finds in one small fixture per language, covering each
//! construct the languages' sections of the extraction spec list. A change in what is extracted
//! shows up as a snapshot diff to review (`cargo insta review`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use doctown_common::Language;
use serde_json::{Value, json};

/// The analysis of a fixture, with ids replaced by qualified names so the snapshot reads well.
fn snapshot_of(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let source = std::fs::read(&path).unwrap();
    let language = Language::detect(&path, &source).unwrap();
    let analysis = doctown_intel::extract(name, &source, language);
    let name_of = |id| {
        analysis
            .symbols
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.qualified_name.clone())
    };
    let symbols: Vec<Value> = analysis
        .symbols
        .iter()
        .map(|s| {
            let mut entry = json!({
                "symbol": format!(
                    "{} {} [{}-{}] {:?}",
                    s.kind,
                    s.qualified_name,
                    s.line_range.start(),
                    s.line_range.end(),
                    s.visibility
                ),
                "signature": s.signature,
            });
            if let Some(parent) = s.parent.and_then(name_of) {
                entry["parent"] = json!(parent);
            }
            if !s.tags.is_empty() {
                entry["tags"] = json!(s.tags);
            }
            if let Some(doc) = &s.doc {
                entry["doc"] = json!(doc);
            }
            if !s.decorators.is_empty() {
                entry["decorators"] = json!(s.decorators);
            }
            if !s.calls.is_empty() {
                let calls: Vec<String> = s
                    .calls
                    .iter()
                    .map(|c| format!("{:?} {} @{}", c.kind, c.callee, c.line))
                    .collect();
                entry["calls"] = json!(calls);
            }
            entry
        })
        .collect();
    let imports: Vec<String> = analysis
        .imports
        .iter()
        .map(|i| {
            let alias = i
                .alias
                .as_deref()
                .map(|a| format!(" as {a}"))
                .unwrap_or_default();
            let level = if i.level > 0 {
                format!(" (level {})", i.level)
            } else {
                String::new()
            };
            format!("{:?} {}{alias}{level} @{}", i.kind, i.path, i.line)
        })
        .collect();
    assert_eq!(
        analysis.parse_errors, 0,
        "the fixture {name} should parse cleanly"
    );
    json!({ "symbols": symbols, "imports": imports })
}

#[test]
fn rust() {
    insta::assert_json_snapshot!(snapshot_of("sample.rs"));
}

#[test]
fn python() {
    insta::assert_json_snapshot!(snapshot_of("sample.py"));
}

#[test]
fn typescript() {
    insta::assert_json_snapshot!(snapshot_of("sample.ts"));
}

#[test]
fn javascript_with_jsx() {
    insta::assert_json_snapshot!(snapshot_of("sample.jsx"));
}

#[test]
fn go() {
    insta::assert_json_snapshot!(snapshot_of("sample.go"));
}
