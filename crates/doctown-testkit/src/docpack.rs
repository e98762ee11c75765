//! Docpack contents made from real code: the extraction core's sample files, parsed, chunked and
//! linked as the pipeline would, with small deterministic embeddings.

use std::path::Path;

use chrono::{TimeZone, Utc};
use doctown_common::{Language, SymbolId};
use doctown_docpack::*;
use doctown_intel::{ChunkOptions, chunk_file, extract, resolve_calls};

/// The sample files of doctown-intel's tests.
const SAMPLES: [(&str, Language); 3] = [
    ("sample.py", Language::Python),
    ("sample.rs", Language::Rust),
    ("sample.go", Language::Go),
];

/// Contents built from the sample files; `embeddings` adds their embeddings, `contexts` the
/// other optional members (the summaries' contexts and the pages).
pub fn sample_contents(embeddings: bool, contexts: bool) -> DocpackContents {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../doctown-intel/tests/fixtures");
    let mut analyses = Vec::new();
    let mut source_map = Vec::new();
    for (name, language) in SAMPLES {
        let bytes = std::fs::read(fixtures.join(name)).unwrap();
        let path = format!("src/{name}");
        let analysis = extract(&path, &bytes, language);
        let chunks = chunk_file(
            &path,
            &bytes,
            Some(language),
            Some(&analysis),
            &ChunkOptions::default(),
        );
        source_map.push(SourceFile {
            bytes: bytes.len() as u64,
            chunks: chunks
                .iter()
                .map(|c| SourceChunk {
                    byte_range: c.byte_range,
                    chunk_id: c.chunk_id,
                    line_range: c.line_range,
                    symbol_ids: c.symbol_ids.clone(),
                })
                .collect(),
            language: Some(language),
            path,
        });
        analyses.push(analysis);
    }
    resolve_calls(&mut analyses);

    let chunk_ids: Vec<_> = source_map
        .iter()
        .flat_map(|f| f.chunks.iter().map(|c| c.chunk_id))
        .collect();
    let clusters: Vec<Cluster> = chunk_ids
        .chunks(chunk_ids.len().div_ceil(2))
        .enumerate()
        .map(|(i, members)| Cluster {
            cluster_id: i as u32,
            label: ["parsing config", "http handlers"][i].to_owned(),
            member_count: members.len() as u64,
            member_ids: members.to_vec(),
            representative_ids: members.iter().take(2).copied().collect(),
        })
        .collect();

    let mut nodes = Vec::new();
    let mut graph = Graph::default();
    for file in &analyses {
        let file_id = format!("file:{}", file.path);
        graph.nodes.push(GraphNode {
            centrality: 0.5,
            id: file_id.clone(),
            in_degree: 0,
            kind: GraphNodeKind::File,
            label: file.path.clone(),
            out_degree: 0,
        });
        for (i, symbol) in file.symbols.iter().enumerate() {
            let centrality = 1.0 / (i as f64 + 1.0);
            nodes.push(Node::of(
                file,
                symbol,
                centrality,
                Some((i % 2) as u32),
                Some(format!("Summarises {}.", symbol.qualified_name)),
            ));
            graph.nodes.push(GraphNode {
                centrality,
                id: symbol.id.to_string(),
                in_degree: 1,
                kind: GraphNodeKind::Symbol,
                label: symbol.qualified_name.clone(),
                out_degree: symbol.calls.len() as u32,
            });
            let container = symbol
                .parent
                .map_or(file_id.clone(), |p: SymbolId| p.to_string());
            graph.edges.push(Edge {
                kind: EdgeKind::Contains,
                score: None,
                source: container,
                target: symbol.id.to_string(),
            });
            for target in symbol.calls.iter().filter_map(|c| c.target) {
                graph.edges.push(Edge {
                    kind: EdgeKind::Calls,
                    score: None,
                    source: symbol.id.to_string(),
                    target: target.to_string(),
                });
            }
        }
    }
    if let [a, b, ..] = nodes.as_slice() {
        graph.edges.push(Edge {
            kind: EdgeKind::Related,
            score: Some(0.8125),
            source: a.id.to_string(),
            target: b.id.to_string(),
        });
    }
    graph.edges.dedup();
    let count = graph.nodes.len() as f64;
    graph.density = graph.edges.len() as f64 / (count * (count - 1.0));

    let embeddings = embeddings.then(|| {
        let mut set = EmbeddingSet::new(8);
        for id in &chunk_ids {
            let vector = id.as_bytes()[..8]
                .iter()
                .map(|b| f32::from(*b) / 255.0)
                .collect();
            set.insert(*id, vector).unwrap();
        }
        set
    });
    let symbol_contexts = contexts.then(|| {
        nodes
            .iter()
            .map(|node| SymbolContextEntry {
                context: SymbolContext {
                    called_by: Vec::new(),
                    calls: Vec::new(),
                    centrality: node.centrality,
                    cluster_label: Some("parsing config".into()),
                    doc: node.doc.clone(),
                    file_path: node.path.clone(),
                    imports: Vec::new(),
                    kind: node.kind,
                    language: node.language,
                    name: node.name.clone(),
                    members: Vec::new(),
                    parameters: vec![doctown_common::Parameter {
                        name: Some("request".into()),
                        type_name: Some("&Request".into()),
                    }],
                    returns: Some("Response".into()),
                    related: Vec::new(),
                    signature: node.signature.clone(),
                },
                prompt: Some(format!("Summarise `{}` in one sentence.", node.signature)),
                symbol_id: node.id,
            })
            .collect()
    });
    let pages = contexts.then(|| {
        doctown_pages::pages(&doctown_pages::Repository {
            name: "doctown/samples",
            analyses: &analyses,
            nodes: &nodes,
            graph: &graph,
            clusters: &clusters,
            source_map: &source_map,
            readmes: &Default::default(),
            prose: &Default::default(),
        })
    });
    DocpackContents {
        created_at: Utc.with_ymd_and_hms(2026, 11, 27, 9, 30, 0).unwrap(),
        generator: Generator {
            name: "doctown".into(),
            version: "0.1.0".into(),
        },
        source: SourceInfo {
            commit_hash: Some("6e1735597bb21c5d979a077395df85e1d633e077".into()),
            git_ref: Some("main".into()),
            repo_url: "https://github.com/doctown/samples".into(),
        },
        nodes,
        graph,
        clusters,
        source_map,
        embeddings,
        symbol_contexts,
        pages,
    }
}

/// `contents` written as a docpack.
pub fn written(contents: DocpackContents) -> Vec<u8> {
    let mut bytes = Vec::new();
    write_docpack(contents, &mut bytes).unwrap();
    bytes
}
