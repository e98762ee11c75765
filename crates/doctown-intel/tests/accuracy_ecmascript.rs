//! TypeScript, TSX, JavaScript and JSX symbols against the TypeScript compiler's own parser, over
//! real packages from the npm registry (rxjs and TanStack Query in TypeScript, Docusaurus's
//! theme in TSX and in JavaScript with JSX, lodash, Express and Preact in JavaScript), which
//! `scripts/install-test-deps` downloads with the `typescript` package.
//!
//! `tests/reference/ecmascript_symbols.js` lists what the compiler sees; the extraction must find
//! the same symbols with the same first and last lines (≥ 98% recall and precision).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

#[test]
fn ecmascript_symbols_match_the_typescript_compiler_on_npm_packages() {
    let corpus = support::test_corpus();
    let root = corpus.join("npm/sources");
    let mut reference = Command::new("node");
    reference
        .arg(support::reference_script("ecmascript_symbols.js"))
        .arg(corpus.join("npm/typescript"))
        .arg(&root);
    support::score_against_reference(reference, &root).assert_at_least("ecmascript", 0.98);
}
