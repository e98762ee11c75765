//! The `fake-github` binary as the website's end-to-end tests start it: a folder served as a
//! repository, the way GitHub's API and archive host would serve it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

#[test]
fn a_folder_is_served_as_a_repository() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::create_dir(folder.path().join("src")).unwrap();
    std::fs::write(folder.path().join("src/lib.rs"), "pub fn one() {}\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-github"))
        .arg("0")
        .arg(format!("octo/demo={}", folder.path().display()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    let client = reqwest::blocking::Client::new();
    let repo: serde_json::Value = client
        .get(format!("{base}/repos/octo/demo"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(repo["default_branch"], "main");
    let sha = client
        .get(format!("{base}/repos/octo/demo/commits/main"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let archive = client
        .get(format!("{base}/octo/demo/zip/{sha}"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive.to_vec())).unwrap();
    let mut file = zip.by_name(&format!("demo-{sha}/src/lib.rs")).unwrap();
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    assert_eq!(text, "pub fn one() {}\n");
    drop(file);
    let missing = client
        .get(format!("{base}/repos/octo/other"))
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
    child.kill().unwrap();
    child.wait().unwrap();
}
