//! Go symbols against Go's own `go/parser`, over the Go standard library's sources (Debian's
//! golang-go package, which `scripts/install-test-deps` installs).
//!
//! `tests/reference/go_symbols.go` lists every package-level function, method, type, interface
//! method, const and var with its lines; the extraction must find the same ones with the same
//! first and last lines (≥ 99% recall and precision).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn go_symbols_match_go_parser_on_the_standard_library() {
    let output = Command::new("go").args(["env", "GOROOT"]).output().expect(
        "the go command runs: install Go (scripts/install-test-deps does) to run this test",
    );
    let root = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim()).join("src");
    let root = root.canonicalize().unwrap();

    let mut reference = Command::new("go");
    reference
        .arg("run")
        .arg(support::reference_script("go_symbols.go"))
        .arg(&root);
    support::score_against_reference(reference, &root).assert_at_least("go", 0.99);
}
