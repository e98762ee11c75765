//! The `doctown` binary as a user runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn doctown(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_doctown"))
        .args(args)
        .output()
        .expect("doctown runs")
}

#[test]
fn help_lists_every_subcommand() {
    let output = doctown(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for subcommand in [
        "ingest", "symbols", "generate", "inspect", "verify", "serve",
    ] {
        assert!(
            help.contains(&format!("  {subcommand} ")),
            "{subcommand} missing from:\n{help}"
        );
    }
}

#[test]
fn version_is_the_crate_version() {
    let output = doctown(&["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        format!("doctown {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let output = doctown(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unrecognized subcommand 'frobnicate'")
    );
}
