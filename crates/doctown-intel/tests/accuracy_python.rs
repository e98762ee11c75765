//! Python symbols against CPython's own `ast` module, over the machine's standard library.
//!
//! `tests/reference/python_symbols.py` lists every def, class and module-level assignment that
//! `ast` sees, with its lines; the extraction must find the same ones with the same first and
//! last lines (≥ 99% recall and precision).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn python_symbols_match_the_ast_module_on_the_standard_library() {
    let output = Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .expect("python3 runs: install Python 3 to run this test");
    let root = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());

    let mut reference = Command::new("python3");
    reference
        .arg(support::reference_script("python_symbols.py"))
        .arg(&root);
    support::score_against_reference(reference, &root).assert_at_least("python", 0.99);
}
