//! The whole assembly stage on a real tree: the chunks `doctown symbols --chunks DIR` prints,
//! their vectors (JSON lines of floats, in the same order, as the embedding bench writes them)
//! and the files under DIR, re-extracted. Prints the stage's wall time, what it made and the
//! largest clusters with their labels and folders; run it under `/usr/bin/time -v` for peak
//! RSS. `scripts/bench-assembly` makes the inputs.
//!
//! ```text
//! cargo bench -p doctown-assembly --bench assemble_tree -- DIR CHUNKS.jsonl VECTORS.jsonl
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::time::Instant;

use doctown_assembly::{AssemblyOptions, assemble};
use doctown_common::Language;
use doctown_contracts::assemble::EmbeddedChunk;
use doctown_docpack::EdgeKind;
use serde_json::Value;

fn lines(path: &str) -> impl Iterator<Item = Value> {
    std::io::BufReader::new(std::fs::File::open(path).unwrap())
        .lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [dir, chunks, vectors] = args.as_slice() else {
        eprintln!("usage: assemble_tree DIR CHUNKS.jsonl VECTORS.jsonl");
        std::process::exit(2);
    };
    let mut languages: BTreeMap<String, Language> = BTreeMap::new();
    let chunks: Vec<EmbeddedChunk> = lines(chunks)
        .zip(lines(vectors))
        .map(|(chunk, vector)| {
            let path = chunk["path"].as_str().unwrap().to_owned();
            if let Ok(language) = serde_json::from_value(chunk["language"].clone()) {
                languages.insert(path.clone(), language);
            }
            EmbeddedChunk {
                chunk_id: serde_json::from_value(chunk["chunk_id"].clone()).unwrap(),
                path,
                symbol_ids: serde_json::from_value(chunk["symbol_ids"].clone()).unwrap(),
                vector: serde_json::from_value(vector).unwrap(),
            }
        })
        .collect();
    let files: Vec<_> = languages
        .iter()
        .map(|(path, language)| {
            let bytes = std::fs::read(std::path::Path::new(dir).join(path)).unwrap();
            doctown_intel::extract(path, &bytes, *language)
        })
        .collect();
    let symbols: usize = files.iter().map(|f| f.symbols.len()).sum();

    let started = Instant::now();
    let assembly = assemble(files, &chunks, &AssemblyOptions::default()).unwrap();
    let elapsed = started.elapsed().as_secs_f64();

    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for edge in &assembly.graph.edges {
        let kind = match edge.kind {
            EdgeKind::Contains => "contains",
            EdgeKind::Calls => "calls",
            EdgeKind::Imports => "imports",
            EdgeKind::Related => "related",
        };
        *by_kind.entry(kind).or_default() += 1;
    }
    println!(
        "assemble: {} chunks ({} dims), {} files, {symbols} symbols in {elapsed:.2} s: {} clusters (silhouette {:.3}), {} nodes, {} edges {by_kind:?}, density {:.6}",
        chunks.len(),
        chunks.first().map_or(0, |c| c.vector.len()),
        assembly.files.len(),
        assembly.clusters.len(),
        assembly.silhouette,
        assembly.graph.nodes.len(),
        assembly.graph.edges.len(),
        assembly.graph.density,
    );
    let folders: BTreeMap<_, _> = chunks
        .iter()
        .map(|c| {
            let folder = c.path.rsplit_once('/').map_or(".", |(f, _)| f);
            (c.chunk_id, folder)
        })
        .collect();
    let mut clusters: Vec<_> = assembly.clusters.iter().collect();
    clusters.sort_by_key(|c| std::cmp::Reverse(c.member_count));
    for cluster in clusters.iter().take(20) {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for id in &cluster.member_ids {
            *counts.entry(folders[id]).or_default() += 1;
        }
        let mut top: Vec<_> = counts.into_iter().collect();
        top.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        let top: BTreeSet<String> = top
            .iter()
            .take(3)
            .map(|(f, n)| format!("{f} ({n})"))
            .collect();
        println!(
            "  {:>5} chunks  {:<32} {}",
            cluster.member_count,
            format!("\"{}\"", cluster.label),
            top.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
}
