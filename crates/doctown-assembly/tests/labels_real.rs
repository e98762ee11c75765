//! Cluster labels on a real repository with real embeddings: Go's `encoding` packages (Debian's
//! golang-go, which `scripts/install-test-deps` installs), embedded by all-MiniLM-L6-v2
//! (`scripts/fetch-model`). Run with `--nocapture` to read the labels.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use doctown_assembly::{AssemblyOptions, assemble, tokens};
use doctown_common::{FileAnalysis, Language};
use doctown_contracts::assemble::EmbeddedChunk;
use doctown_embedding::{Embedder, EmbedderOptions, default_model_dir};
use doctown_intel::{ChunkOptions, chunk_file, extract};

/// The Go files (tests and test data left out) under `root`, by path relative to it.
fn go_files(root: &Path, folder: &Path, found: &mut Vec<(String, Vec<u8>)>) {
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() && name != "testdata" {
            go_files(root, &path, found);
        } else if name.ends_with(".go") && !name.ends_with("_test.go") {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            found.push((relative, std::fs::read(&path).unwrap()));
        }
    }
}

#[test]
fn labels_of_go_encoding_packages_name_what_their_clusters_hold() {
    let output = Command::new("go").args(["env", "GOROOT"]).output().expect(
        "the go command runs: install Go (scripts/install-test-deps does) to run this test",
    );
    let root = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim()).join("src");
    let mut sources = Vec::new();
    go_files(&root, &root.join("encoding"), &mut sources);

    let mut files: Vec<FileAnalysis> = Vec::new();
    let mut chunks = Vec::new();
    for (path, bytes) in &sources {
        let analysis = extract(path, bytes, Language::Go);
        chunks.extend(chunk_file(
            path,
            bytes,
            Some(Language::Go),
            Some(&analysis),
            &ChunkOptions::default(),
        ));
        files.push(analysis);
    }
    let library = std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from);
    let embedder = Embedder::load(
        &default_model_dir(),
        library.as_deref(),
        EmbedderOptions {
            max_tokens: 128,
            ..EmbedderOptions::default()
        },
    )
    .expect("the model loads: run `eval \"$(scripts/fetch-model)\"` first");
    let texts: Vec<&str> = chunks.iter().map(|c| c.content.as_str()).collect();
    let vectors = embedder.embed(&texts).unwrap();
    let embedded: Vec<EmbeddedChunk> = chunks
        .iter()
        .zip(vectors)
        .map(|(chunk, vector)| EmbeddedChunk::new(chunk, vector))
        .collect();
    let assembly = assemble(files, &embedded, &AssemblyOptions::default()).unwrap();
    let names: BTreeMap<_, _> = assembly
        .files
        .iter()
        .flat_map(|f| f.symbols.iter().map(|s| (s.id, s.name.as_str())))
        .collect();

    let by_id: BTreeMap<_, _> = embedded.iter().map(|c| (c.chunk_id, c)).collect();
    let mut grounded = 0;
    let mut word_use: BTreeMap<&str, usize> = BTreeMap::new();
    for cluster in &assembly.clusters {
        let words: Vec<&str> = cluster.label.split(' ').collect();
        assert!((1..=3).contains(&words.len()), "{}", cluster.label);
        assert!(!cluster.label.starts_with("cluster "), "{}", cluster.label);
        for word in &words {
            *word_use.entry(word).or_default() += 1;
        }
        // The label is grounded when one of its words is in the names or paths of a quarter of
        // its chunks.
        let members: Vec<HashSet<String>> = cluster
            .member_ids
            .iter()
            .map(|id| {
                let chunk = by_id[id];
                chunk
                    .symbol_ids
                    .iter()
                    .flat_map(|s| tokens(names[s]))
                    .chain(tokens(&chunk.path))
                    .collect()
            })
            .collect();
        let best = words
            .iter()
            .map(|w| members.iter().filter(|m| m.contains(*w)).count())
            .max()
            .unwrap_or(0);
        if best * 4 >= members.len() {
            grounded += 1;
        }
        let mut folders: BTreeMap<&str, usize> = BTreeMap::new();
        for id in &cluster.member_ids {
            let path = &by_id[id].path;
            *folders
                .entry(path.rsplit_once('/').map_or("", |(f, _)| f))
                .or_default() += 1;
        }
        let mut folders: Vec<_> = folders.into_iter().collect();
        folders.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        println!(
            "{:>4} chunks  {:<28} {:?}",
            cluster.member_count,
            cluster.label,
            &folders[..folders.len().min(3)]
        );
    }
    let clusters = assembly.clusters.len();
    println!("{grounded} of {clusters} labels grounded; words used most: {word_use:?}");
    assert!(clusters >= 8, "{clusters} clusters");
    assert!(grounded * 3 >= clusters * 2, "{grounded} of {clusters}");
    let distinct: HashSet<_> = assembly.clusters.iter().map(|c| &c.label).collect();
    assert_eq!(distinct.len(), clusters);
    // No word names a third of the clusters: labels say what sets a cluster apart.
    let most = word_use.values().copied().max().unwrap_or(0);
    assert!(most * 3 <= clusters, "{word_use:?}");
}
