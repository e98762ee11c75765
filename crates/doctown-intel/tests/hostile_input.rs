//! Inputs that would sink a naive extractor: huge minified files, pathological nesting, invalid
//! UTF-8, syntax errors, parse timeouts. Each must end with a result (what parsed, or a reason),
//! never a panic, a stack overflow or unbounded memory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use doctown_common::Language;
use doctown_intel::{ChunkOptions, Extractor, chunk_file, extract};

#[test]
fn a_five_megabyte_minified_javascript_file_is_extracted() {
    let unit = "var NAME=function(b,c){return b+c},d=[1,2,3].map(function(e){return e*2});";
    let mut source = String::new();
    let mut i = 0;
    while source.len() < 5 * 1024 * 1024 {
        source.push_str(&unit.replace("NAME", &format!("f{i}")));
        i += 1;
    }
    let analysis = extract("bundle.min.js", source.as_bytes(), Language::JavaScript);
    assert_eq!(analysis.skipped, None);
    assert!(
        analysis.symbols.len() >= i,
        "{} symbols for {i} statements",
        analysis.symbols.len()
    );
    let chunks = chunk_file(
        "bundle.min.js",
        source.as_bytes(),
        None,
        Some(&analysis),
        &ChunkOptions::default(),
    );
    assert!(chunks.iter().all(|c| c.byte_range.len() <= 4096));
}

#[test]
fn ten_thousand_levels_of_nesting_do_not_overflow_the_stack() {
    let depth = 10_000;
    let cases = [
        (
            "deep.js",
            Language::JavaScript,
            format!("x = {}1{};", "[".repeat(depth), "]".repeat(depth)),
        ),
        (
            "deep.rs",
            Language::Rust,
            format!("fn f() {{ {} }}", "{".repeat(depth) + &"}".repeat(depth)),
        ),
        (
            "deep.py",
            Language::Python,
            format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth)),
        ),
        (
            "deep.go",
            Language::Go,
            format!(
                "package p\nvar x = {}1{}\n",
                "(".repeat(depth),
                ")".repeat(depth)
            ),
        ),
    ];
    for (path, language, source) in cases {
        let analysis = extract(path, source.as_bytes(), language);
        assert!(
            analysis.skipped.is_none() || analysis.symbols.is_empty(),
            "{path}"
        );
    }
}

#[test]
fn ten_thousand_nested_functions_keep_qualified_names_bounded() {
    let depth = 10_000;
    let source = "function f() {\n".repeat(depth) + &"}\n".repeat(depth);
    let analysis = extract("nested.js", source.as_bytes(), Language::JavaScript);
    // Symbols are extracted down to a bounded depth (each function is a few tree levels).
    assert!(analysis.symbols.len() >= 200, "{}", analysis.symbols.len());
    let longest = analysis
        .symbols
        .iter()
        .map(|s| s.qualified_name.len())
        .max()
        .unwrap();
    assert!(
        longest <= 520,
        "qualified names grow without bound: {longest} bytes"
    );
    assert!(
        analysis
            .symbols
            .last()
            .unwrap()
            .qualified_name
            .starts_with('…')
    );
}

#[test]
fn a_parse_that_runs_out_of_time_is_skipped_with_a_reason() {
    let source = "def f():\n    return 1\n".repeat(200_000);
    let mut extractor = Extractor::new().with_timeout(Duration::from_millis(1));
    let analysis = extractor.extract("slow.py", source.as_bytes(), Language::Python);
    assert!(analysis.symbols.is_empty());
    let reason = analysis.skipped.expect("a reason is given");
    assert!(reason.contains("parsing took longer than"), "{reason}");
    // The same extractor still works for the next file.
    let analysis = extractor.with_timeout(Duration::from_secs(10)).extract(
        "ok.py",
        b"def g(): pass\n",
        Language::Python,
    );
    assert_eq!(analysis.symbols.len(), 1);
}

#[test]
fn invalid_utf8_keeps_exact_byte_ranges() {
    let mut source = b"def caf\xe9():\n    pass\n\ndef ok():\n    return '\xff'\n".to_vec();
    source.extend_from_slice(b"\n");
    let analysis = extract("latin1.py", &source, Language::Python);
    let ok = analysis
        .symbols
        .iter()
        .find(|s| s.name == "ok")
        .expect("ok is found");
    assert_eq!(
        &source[ok.byte_range.start()..ok.byte_range.start() + 6],
        b"def ok"
    );
    assert_eq!((ok.line_range.start(), ok.line_range.end()), (4, 5));
}

#[test]
fn syntax_errors_are_counted_and_the_rest_is_extracted() {
    let source = "fn good() {}\n\nfn broken( {\n\nstruct After { x: u32 }\n";
    let analysis = extract("broken.rs", source.as_bytes(), Language::Rust);
    assert!(analysis.parse_errors > 0);
    assert!(analysis.symbols.iter().any(|s| s.name == "good"));
}

#[test]
fn empty_and_binary_input_give_empty_results() {
    for language in Language::ALL {
        let analysis = extract("empty", b"", language);
        assert!(analysis.symbols.is_empty());
        let analysis = extract(
            "noise",
            &[0u8, 159, 146, 150, 0, 255, 254, 0, 1, 2],
            language,
        );
        assert!(analysis.symbols.is_empty() || analysis.parse_errors > 0);
    }
}
