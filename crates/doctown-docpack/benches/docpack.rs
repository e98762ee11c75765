//! Writes or reads a docpack of a synthetic repository, for wall time and peak RSS (run it under
//! `/usr/bin/time -v`, as `scripts/bench-docpack` does):
//!
//! ```text
//! cargo bench -p doctown-docpack --bench docpack -- write FILE [SYMBOLS]   # default 10000
//! cargo bench -p doctown-docpack --bench docpack -- read FILE
//! ```
//!
//! The repository has SYMBOLS symbols in SYMBOLS / 20 files, one chunk per symbol with a
//! 384-dimension embedding, a doc comment, a summary and a symbol context for each, three edges
//! per symbol and SYMBOLS / 200 clusters: the shape of a real repository of that size.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::time::Instant;

use chrono::{TimeZone, Utc};
use doctown_common::{ByteRange, ChunkId, Language, LineRange, SymbolId, SymbolKind, Visibility};
use doctown_docpack::*;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.as_slice() {
        [mode, file, rest @ ..] if mode == "write" => {
            let symbols = rest.first().map_or(10_000, |n| n.parse().unwrap());
            let started = Instant::now();
            let contents = synthetic(symbols);
            let built = started.elapsed();
            let out = BufWriter::new(File::create(file).unwrap());
            let manifest = write_docpack(contents, out).unwrap();
            println!(
                "wrote {file}: {} symbols, {} bytes, built in {:.2} s, written in {:.2} s",
                manifest.statistics.symbol_count,
                std::fs::metadata(file).unwrap().len(),
                built.as_secs_f64(),
                (started.elapsed() - built).as_secs_f64()
            );
        }
        [mode, file] if mode == "read" => {
            let started = Instant::now();
            let input = BufReader::new(File::open(file).unwrap());
            let mut docpack =
                read_docpack(input, tempfile::tempfile().unwrap(), &ReadLimits::default()).unwrap();
            let read = started.elapsed();
            let chunk = docpack.source_map.files[0].chunks[0].chunk_id;
            let vector = docpack
                .embeddings
                .as_mut()
                .unwrap()
                .get(&chunk)
                .unwrap()
                .unwrap();
            println!(
                "read and verified {file}: {} symbols in {:.2} s; one vector of {} dimensions by chunk id",
                docpack.nodes.nodes.len(),
                read.as_secs_f64(),
                vector.len()
            );
        }
        _ => {
            eprintln!("usage: docpack write FILE [SYMBOLS] | docpack read FILE");
            std::process::exit(2);
        }
    }
}

fn id32(n: u64, salt: u8) -> [u8; 32] {
    let mut bytes = [salt; 32];
    bytes[..8].copy_from_slice(&n.to_be_bytes());
    bytes
}

fn synthetic(symbols: usize) -> DocpackContents {
    let files = (symbols / 20).max(1);
    let mut nodes = Vec::with_capacity(symbols);
    let mut source_map: Vec<SourceFile> = (0..files)
        .map(|f| SourceFile {
            bytes: 20 * 600,
            chunks: Vec::new(),
            language: Some(Language::Rust),
            path: format!("src/module_{f}/file_{f}.rs"),
        })
        .collect();
    let mut graph = Graph::default();
    let mut embeddings = EmbeddingSet::new(384);
    let mut contexts = Vec::with_capacity(symbols);
    let symbol_id = |n: usize| {
        let bytes = id32(n as u64, 7);
        SymbolId::from_bytes(bytes[..16].try_into().unwrap())
    };
    for n in 0..symbols {
        let file = n % files;
        let start = (n / files) * 600;
        let id = symbol_id(n);
        let chunk = ChunkId::from_bytes(id32(n as u64, 3));
        let name = format!("handle_request_{n}");
        let signature =
            format!("pub fn {name}(request: &Request, config: &Config) -> Result<Response, Error>");
        nodes.push(Node {
            byte_range: ByteRange::new(start, start + 580).unwrap(),
            centrality: (n % 1000) as f64 / 1000.0,
            cluster_id: Some((n % (symbols / 200).max(1)) as u32),
            doc: Some(format!("Handles request number {n}: validates it, routes it and answers.")),
            id,
            kind: SymbolKind::Function,
            language: Language::Rust,
            line_range: LineRange::new(start / 30 + 1, start / 30 + 20).unwrap(),
            name: name.clone(),
            parent: None,
            path: source_map[file].path.clone(),
            qualified_name: format!("module_{file}::{name}"),
            signature: signature.clone(),
            summary: Some(format!("Validates request {n} against the configuration and returns the routed response, or the first error.")),
            visibility: Visibility::Public,
        });
        source_map[file].chunks.push(SourceChunk {
            byte_range: ByteRange::new(start, start + 580).unwrap(),
            chunk_id: chunk,
            line_range: LineRange::new(start / 30 + 1, start / 30 + 20).unwrap(),
            symbol_ids: vec![id],
        });
        graph.nodes.push(GraphNode {
            centrality: (n % 1000) as f64 / 1000.0,
            id: id.to_string(),
            in_degree: 2,
            kind: GraphNodeKind::Symbol,
            label: format!("module_{file}::{name}"),
            out_degree: 2,
        });
        graph.edges.push(Edge {
            kind: EdgeKind::Contains,
            score: None,
            source: format!("file:{}", source_map[file].path),
            target: id.to_string(),
        });
        for (offset, kind, score) in [
            (1, EdgeKind::Calls, None),
            (7, EdgeKind::Related, Some(0.83)),
        ] {
            graph.edges.push(Edge {
                kind,
                score,
                source: id.to_string(),
                target: symbol_id((n + offset) % symbols).to_string(),
            });
        }
        let vector = (0..384)
            .map(|d| ((n * 31 + d) % 997) as f32 / 997.0 - 0.5)
            .collect();
        embeddings.insert(chunk, vector).unwrap();
        contexts.push(SymbolContextEntry {
            context: SymbolContext {
                called_by: vec![format!("handle_request_{}", (n + symbols - 1) % symbols)],
                calls: vec![format!("handle_request_{}", (n + 1) % symbols)],
                centrality: (n % 1000) as f64 / 1000.0,
                cluster_label: Some("request handling".into()),
                doc: Some(format!("Handles request number {n}.")),
                file_path: source_map[file].path.clone(),
                imports: vec!["crate::config::Config".into()],
                kind: SymbolKind::Function,
                language: Language::Rust,
                name,
                members: Vec::new(),
                parameters: Vec::new(),
                returns: None,
                related: vec![format!("handle_request_{}", (n + 7) % symbols)],
                signature: signature.clone(),
            },
            prompt: Some(format!(
                "Summarise in one or two sentences what this Rust function does.\n\n{signature}"
            )),
            symbol_id: id,
        });
    }
    for file in &source_map {
        graph.nodes.push(GraphNode {
            centrality: 0.1,
            id: format!("file:{}", file.path),
            in_degree: 0,
            kind: GraphNodeKind::File,
            label: file.path.clone(),
            out_degree: 20,
        });
    }
    let count = graph.nodes.len() as f64;
    graph.density = graph.edges.len() as f64 / (count * (count - 1.0));
    let cluster_count = (symbols / 200).max(1);
    let clusters = (0..cluster_count)
        .map(|c| {
            let members: Vec<ChunkId> = (c..symbols)
                .step_by(cluster_count)
                .map(|n| ChunkId::from_bytes(id32(n as u64, 3)))
                .collect();
            Cluster {
                cluster_id: c as u32,
                label: format!("request handling {c}"),
                member_count: members.len() as u64,
                representative_ids: members.iter().take(3).copied().collect(),
                member_ids: members,
            }
        })
        .collect();
    DocpackContents {
        created_at: Utc.with_ymd_and_hms(2026, 11, 27, 0, 0, 0).unwrap(),
        generator: Generator {
            name: "doctown-bench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        source: SourceInfo {
            commit_hash: None,
            git_ref: None,
            repo_url: "synthetic".into(),
        },
        nodes,
        graph,
        clusters,
        source_map,
        embeddings: Some(embeddings),
        symbol_contexts: Some(contexts),
        pages: None,
    }
}
