//! A GitHub-shaped server on loopback for tests outside Rust (the website's end-to-end tests):
//! serves each folder given as the repository named beside it, at one fixed commit, until
//! killed.
//!
//! ```text
//! fake-github PORT OWNER/NAME=FOLDER...
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use doctown_testkit::{FakeGitHub, FakeRepo, github_zip};

/// The commit every served repository is at.
const SHA: &str = "6e1735597bb21c5d979a077395df85e1d633e077";

/// Every text file under `folder`, with its path from `root`.
fn files(root: &Path, folder: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(root, &path, out);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((relative, text));
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: fake-github PORT OWNER/NAME=FOLDER...";
    let port: u16 = args.next().and_then(|p| p.parse().ok()).expect(usage);
    let repos: Vec<FakeRepo> = args
        .map(|spec| {
            let (repo, folder) = spec.split_once('=').expect(usage);
            let (owner, name) = repo.split_once('/').expect(usage);
            let mut found = Vec::new();
            files(Path::new(folder), Path::new(folder), &mut found);
            let borrowed: Vec<(&str, &str)> = found
                .iter()
                .map(|(p, t)| (p.as_str(), t.as_str()))
                .collect();
            // The server lives as long as the process: its repositories may as well.
            FakeRepo {
                owner: Box::leak(owner.to_owned().into_boxed_str()),
                name: Box::leak(name.to_owned().into_boxed_str()),
                default_branch: "main",
                sha: SHA,
                archive: github_zip(name, SHA, &borrowed),
                drip: None,
            }
        })
        .collect();
    assert!(!repos.is_empty(), "{usage}");
    let server = FakeGitHub::start_on(port, repos);
    println!("fake-github listening on {}", server.base);
    loop {
        std::thread::park();
    }
}
