//! The JSON Schemas under docs/schemas/ against real output: every JSON member of a docpack built
//! from real code validates, and the schemas' enumerations are exactly the ones the code knows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::PathBuf;

use doctown_common::{Language, SymbolKind};
use doctown_testkit::docpack::{sample_contents, written};
use serde_json::Value;

fn schema(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schemas")
        .join(format!("{name}.schema.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn every_json_member_validates_against_its_schema() {
    let bytes = written(sample_contents(true, true));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let mut checked = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        let mut body = String::new();
        entry.read_to_string(&mut body).unwrap();
        let instance: Value = serde_json::from_str(&body).unwrap();
        let validator = jsonschema::validator_for(&schema(stem)).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .take(5)
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        checked.push(stem.to_owned());
    }
    assert_eq!(
        checked,
        [
            "manifest",
            "clusters",
            "graph",
            "nodes",
            "pages",
            "source_map",
            "symbol_contexts"
        ]
    );
}

#[test]
fn a_schema_refuses_what_the_format_forbids() {
    let validator = jsonschema::validator_for(&schema("nodes")).unwrap();
    let bad = serde_json::json!({"nodes": [{"id": "not-an-id"}]});
    assert!(!validator.is_valid(&bad));
}

#[test]
fn schema_enumerations_match_the_code() {
    fn enums(value: &Value, found: &mut Vec<Vec<String>>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::Array(items)) = map.get("enum") {
                    found.push(
                        items
                            .iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect(),
                    );
                }
                map.values().for_each(|v| enums(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| enums(v, found)),
            _ => {}
        }
    }
    let languages: Vec<String> = Language::ALL.iter().map(|l| l.id().to_owned()).collect();
    let kinds: Vec<String> = SymbolKind::ALL.iter().map(|k| k.id().to_owned()).collect();
    for name in ["manifest", "nodes", "source_map", "symbol_contexts"] {
        let mut found = Vec::new();
        enums(&schema(name), &mut found);
        for list in found {
            if list.contains(&"rust".to_owned()) {
                assert_eq!(list, languages, "{name}");
            }
            if list.contains(&"function".to_owned()) {
                assert_eq!(list, kinds, "{name}");
            }
        }
    }
}
