//! The whole assembly stage on real source (extracted and chunked by doctown-intel) with
//! vectors built to group two families of functions: clusters, the graph, contexts, and the
//! input it refuses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use doctown_assembly::{AssemblyError, AssemblyOptions, assemble};
use doctown_common::{FileAnalysis, Language};
use doctown_contracts::assemble::EmbeddedChunk;
use doctown_docpack::EdgeKind;
use doctown_intel::{ChunkOptions, chunk_file, extract};

const CONFIG: &str = "\"\"\"Configuration files.\"\"\"\nimport json\n\n\ndef load_config(path):\n    \"\"\"Reads the config at `path`.\"\"\"\n    return parse_config(open(path).read())\n\n\ndef parse_config(text):\n    return json.loads(text)\n\n\ndef save_config(path, config):\n    open(path, 'w').write(json.dumps(config))\n";
const SERVER: &str = "from config import load_config\n\n\nclass Server:\n    def serve(self, request):\n        return self.route(request)\n\n    def route(self, request):\n        return request.path\n\n\ndef main():\n    Server().serve(load_config('app.json'))\n";

/// The files and their chunks, each chunk's vector pointing at one of two directions (config
/// code, server code) with a little noise of its own.
fn input() -> (Vec<FileAnalysis>, Vec<EmbeddedChunk>) {
    let mut files = Vec::new();
    let mut chunks = Vec::new();
    for (path, source, direction) in [("config.py", CONFIG, 0), ("server.py", SERVER, 1)] {
        let analysis = extract(path, source.as_bytes(), Language::Python);
        for (n, chunk) in chunk_file(
            path,
            source.as_bytes(),
            Some(Language::Python),
            Some(&analysis),
            &ChunkOptions::default(),
        )
        .into_iter()
        .enumerate()
        {
            let mut vector = vec![0.0f32; 8];
            vector[direction] = 1.0;
            vector[2 + n % 6] = 0.2;
            let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
            chunks.push(EmbeddedChunk {
                chunk_id: chunk.chunk_id,
                path: chunk.path,
                symbol_ids: chunk.symbol_ids,
                vector: vector.into_iter().map(|v| v / norm).collect(),
            });
        }
        files.push(analysis);
    }
    (files, chunks)
}

fn symbol(files: &[FileAnalysis], name: &str) -> doctown_common::SymbolId {
    files
        .iter()
        .flat_map(|f| &f.symbols)
        .find(|s| s.name == name)
        .unwrap()
        .id
}

#[test]
fn clusters_graph_and_contexts_of_two_families() {
    let (files, chunks) = input();
    let assembly = assemble(files.clone(), &chunks, &AssemblyOptions::default()).unwrap();

    // Every chunk is in exactly one cluster; config and server code are apart.
    let total: u64 = assembly.clusters.iter().map(|c| c.member_count).sum();
    assert_eq!(total, chunks.len() as u64);
    let cluster_of = |name: &str| assembly.symbol_clusters[&symbol(&files, name)];
    assert_eq!(cluster_of("load_config"), cluster_of("parse_config"));
    assert_eq!(cluster_of("serve"), cluster_of("route"));
    assert_ne!(cluster_of("load_config"), cluster_of("serve"));
    for cluster in &assembly.clusters {
        assert!(!cluster.representative_ids.is_empty());
        assert!(cluster.representative_ids.len() <= 3);
        assert!(
            cluster
                .representative_ids
                .iter()
                .all(|id| cluster.member_ids.binary_search(id).is_ok())
        );
    }
    let config_label = &assembly.clusters[cluster_of("load_config") as usize].label;
    assert!(config_label.contains("config"), "{config_label}");

    // Calls across files are resolved; related edges stay within a family.
    let edge = |kind: EdgeKind, a: &str, b: &str| {
        let (a, b) = (symbol(&files, a).to_string(), symbol(&files, b).to_string());
        assembly
            .graph
            .edges
            .iter()
            .any(|e| e.kind == kind && e.source == a && e.target == b)
    };
    assert!(edge(EdgeKind::Calls, "main", "load_config"));
    assert!(edge(EdgeKind::Calls, "load_config", "parse_config"));
    assert!(edge(EdgeKind::Contains, "Server", "serve"));
    let related: Vec<_> = assembly
        .graph
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Related)
        .collect();
    assert!(!related.is_empty());
    for edge in related {
        let family = |id: &str| {
            files
                .iter()
                .find(|f| f.symbols.iter().any(|s| s.id.to_string() == id))
                .unwrap()
                .path
                .clone()
        };
        assert_eq!(family(&edge.source), family(&edge.target), "{edge:?}");
        assert!(edge.score.unwrap() >= 0.7);
    }

    // A context for every symbol, in source order, with its cluster's label.
    let symbols: Vec<_> = files
        .iter()
        .flat_map(|f| &f.symbols)
        .map(|s| s.id)
        .collect();
    let contexts: Vec<_> = assembly
        .symbol_contexts
        .iter()
        .map(|c| c.symbol_id)
        .collect();
    assert_eq!(contexts, symbols);
    let load = &assembly
        .symbol_contexts
        .iter()
        .find(|c| c.symbol_id == symbol(&files, "load_config"))
        .unwrap()
        .context;
    assert_eq!(load.called_by, ["main"]);
    assert_eq!(load.cluster_label.as_ref(), Some(config_label));
    assert!(load.centrality > 0.0);

    // Deterministic, whatever order files and chunks arrive in.
    assert_eq!(
        assemble(files.clone(), &chunks, &AssemblyOptions::default()).unwrap(),
        assembly
    );
    let (mut files, mut chunks) = (files, chunks);
    files.reverse();
    chunks.reverse();
    assert_eq!(
        assemble(files, &chunks, &AssemblyOptions::default()).unwrap(),
        assembly
    );
}

#[test]
fn nothing_in_nothing_out() {
    let assembly = assemble(Vec::new(), &[], &AssemblyOptions::default()).unwrap();
    assert!(assembly.clusters.is_empty());
    assert!(assembly.graph.nodes.is_empty() && assembly.symbol_contexts.is_empty());
}

#[test]
fn bad_input_is_refused_with_what_is_wrong() {
    let (files, chunks) = input();
    let options = AssemblyOptions::default();

    let mut repeated = chunks.clone();
    repeated.push(chunks[0].clone());
    let err = assemble(files.clone(), &repeated, &options).unwrap_err();
    assert!(
        matches!(err, AssemblyError::DuplicateChunk { index, chunk } if index == chunks.len() && chunk == chunks[0].chunk_id)
    );
    assert!(err.to_string().contains("send each chunk once"));

    let mut short = chunks.clone();
    short[3].vector.pop();
    let err = assemble(files.clone(), &short, &options).unwrap_err();
    assert!(
        matches!(
            err,
            AssemblyError::Dimensions {
                index: 3,
                found: 7,
                expected: 8
            }
        ),
        "{err}"
    );

    let err = assemble(files[..1].to_vec(), &chunks, &options).unwrap_err();
    assert!(matches!(err, AssemblyError::UnknownSymbol { .. }), "{err}");
    assert!(err.to_string().contains("send the analyses of every file"));
}
