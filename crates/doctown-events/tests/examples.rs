//! One example envelope per event type: golden snapshots of the wire format, and the check that
//! `docs/events.md` shows exactly what the serializer writes.
//!
//! After a deliberate change to the wire format, review the new snapshots with `cargo insta review`
//! and rewrite the examples in the documentation with
//! `DOCTOWN_BLESS_DOCS=1 cargo test -p doctown-events --test examples`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use doctown_common::{
    ByteRange, Call, CallKind, ChunkId, EventId, Import, ImportKind, JobId, Language, LineRange,
    Symbol, SymbolId, SymbolKind, Visibility,
};
use doctown_docpack::{
    Cluster, Edge, EdgeKind, Graph, GraphNode, GraphNodeKind, SymbolContext, SymbolContextEntry,
};
use doctown_events::*;

fn uuid(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// A complete, realistic envelope for `event_type`, with fixed ids and time.
fn example(event_type: EventType) -> Envelope {
    let chunk_id: ChunkId = "3f2a9c1d4e5b6a7980c1d2e3f4a5b6c7d8e9f00112233445566778899aabbccd"
        .parse()
        .unwrap();
    let symbol_id: SymbolId = "9b1de3a5c7f90214365870a9cbedf102".parse().unwrap();
    let payload: Payload = match event_type {
        EventType::IngestStarted => IngestStarted {
            source: "https://github.com/rust-lang/log".into(),
            source_kind: SourceKind::Github,
            git_ref: Some("0.4.22".into()),
        }
        .into(),
        EventType::IngestFileDetected => FileDetected {
            path: "src/lib.rs".into(),
            language: Some(Language::Rust),
            size_bytes: 57_392,
        }
        .into(),
        EventType::IngestFileParsed => FileParsed {
            path: "src/macros.rs".into(),
            language: Language::Rust,
            symbols: vec![Symbol {
                id: symbol_id,
                name: "max_level".into(),
                qualified_name: "max_level".into(),
                kind: SymbolKind::Function,
                visibility: Visibility::Public,
                tags: Vec::new(),
                signature: "pub fn max_level() -> LevelFilter".into(),
                doc: Some("Returns the current maximum log level.".into()),
                decorators: vec!["#[inline(always)]".into()],
                byte_range: ByteRange::new(1024, 1187).unwrap(),
                line_range: LineRange::new(41, 47).unwrap(),
                outer_byte_range: ByteRange::new(960, 1187).unwrap(),
                parent: None,
                calls: vec![Call {
                    callee: "mem::transmute".into(),
                    name: "transmute".into(),
                    receiver: Some("mem".into()),
                    kind: CallKind::Path,
                    line: 46,
                    byte_range: ByteRange::new(1075, 1135).unwrap(),
                    target: None,
                }],
                parameters: Vec::new(),
                returns: Some("LevelFilter".into()),
            }],
            imports: vec![Import {
                path: "src/macros.rs".into(),
                module: "std::mem".into(),
                name: None,
                alias: None,
                level: 0,
                kind: ImportKind::Import,
                line: 3,
            }],
            parse_errors: 0,
            skipped: None,
            doc: Some("Macros for logging.".into()),
            entry_points: Vec::new(),
        }
        .into(),
        EventType::IngestFileSkipped => FileSkipped {
            path: "Cargo.lock".into(),
            reason: SkipReason::LockFile,
            detail: Some("lock files hold no code".into()),
        }
        .into(),
        EventType::IngestChunkCreated => ChunkCreated {
            chunk_id,
            path: "src/macros.rs".into(),
            language: Some(Language::Rust),
            symbol_ids: vec![symbol_id],
            byte_range: ByteRange::new(1024, 1187).unwrap(),
            line_range: LineRange::new(41, 47).unwrap(),
            content: "pub fn max_level() -> LevelFilter {\n    \
                      unsafe { mem::transmute(MAX_LOG_LEVEL_FILTER.load(Ordering::Relaxed)) }\n}"
                .into(),
        }
        .into(),
        EventType::IngestProgress => IngestProgress {
            files_detected: 31,
            files_parsed: 24,
            files_skipped: 3,
            chunks: 96,
            languages: [("rust".to_owned(), 24), ("text".to_owned(), 7)].into(),
            current_file: Some("src/macros.rs".into()),
        }
        .into(),
        EventType::IngestCompleted => IngestCompleted {
            commit_sha: Some("6e1735597bb21c5d979a077395df85e1d633e077".into()),
            files: 14,
            files_by_language: BTreeMap::from([(Language::Rust, 12)]),
            symbols_by_kind: BTreeMap::from([
                (SymbolKind::Function, 31),
                (SymbolKind::Method, 58),
                (SymbolKind::Struct, 9),
                (SymbolKind::Enum, 3),
                (SymbolKind::Macro, 7),
            ]),
            chunks: 121,
            skipped_by_reason: BTreeMap::from([
                (SkipReason::LockFile, 1),
                (SkipReason::Ignored, 4),
            ]),
            bytes: 253_118,
            duration_ms: 412,
        }
        .into(),
        EventType::EmbeddingBatchStarted => BatchStarted {
            batch_id: "batch-0003".into(),
            chunk_count: 32,
        }
        .into(),
        EventType::EmbeddingBatchCompleted => BatchCompleted {
            batch_id: "batch-0003".into(),
            chunk_count: 32,
            cached_count: 5,
            model: "sentence-transformers/all-MiniLM-L6-v2".into(),
            duration_ms: 1184,
            vectors: Vec::new(),
        }
        .into(),
        EventType::EmbeddingCompleted => EmbeddingCompleted {
            batch_count: 1,
            chunk_count: 32,
            cached_count: 5,
            duration_ms: 1190,
        }
        .into(),
        EventType::AssemblyStarted => AssemblyStarted {
            chunk_count: 121,
            symbol_count: 108,
        }
        .into(),
        EventType::AssemblyClusterCreated => ClusterCreated {
            cluster_id: 2,
            label: "log level filter".into(),
            member_count: 17,
        }
        .into(),
        EventType::AssemblyGraphCompleted => GraphCompleted {
            node_count: 122,
            edge_count: 436,
            edges_by_kind: BTreeMap::from([
                (EdgeKind::Contains, 108),
                (EdgeKind::Calls, 141),
                (EdgeKind::Imports, 42),
                (EdgeKind::Related, 145),
            ]),
            density: 0.0295,
        }
        .into(),
        // The smallest whole result: one file, one symbol, one chunk.
        EventType::AssemblyCompleted => AssemblyCompleted {
            cluster_count: 1,
            node_count: 2,
            edge_count: 1,
            duration_ms: 3,
            clusters: vec![Cluster {
                cluster_id: 0,
                label: "max level".into(),
                member_count: 1,
                member_ids: vec![chunk_id],
                representative_ids: vec![chunk_id],
            }],
            symbol_clusters: BTreeMap::from([(symbol_id, 0)]),
            graph: Some(Graph {
                density: 0.5,
                edges: vec![Edge {
                    kind: EdgeKind::Contains,
                    score: None,
                    source: "file:src/macros.rs".into(),
                    target: symbol_id.to_string(),
                }],
                nodes: vec![
                    GraphNode {
                        centrality: 1.0,
                        id: symbol_id.to_string(),
                        in_degree: 1,
                        kind: GraphNodeKind::Symbol,
                        label: "max_level".into(),
                        out_degree: 0,
                    },
                    GraphNode {
                        centrality: 0.0,
                        id: "file:src/macros.rs".into(),
                        in_degree: 0,
                        kind: GraphNodeKind::File,
                        label: "src/macros.rs".into(),
                        out_degree: 1,
                    },
                ],
            }),
            symbol_contexts: vec![SymbolContextEntry {
                context: SymbolContext {
                    called_by: Vec::new(),
                    calls: vec!["MAX_LOG_LEVEL_FILTER.load".into()],
                    centrality: 1.0,
                    cluster_label: Some("max level".into()),
                    doc: Some("Returns the current maximum log level.".into()),
                    file_path: "src/macros.rs".into(),
                    imports: Vec::new(),
                    kind: SymbolKind::Function,
                    language: Language::Rust,
                    name: "max_level".into(),
                    members: Vec::new(),
                    parameters: Vec::new(),
                    returns: None,
                    related: Vec::new(),
                    signature: "pub fn max_level() -> LevelFilter".into(),
                },
                prompt: None,
                symbol_id,
            }],
        }
        .into(),
        EventType::GenerationStarted => GenerationStarted {
            symbol_count: 108,
            mode: GenerationMode::Llm,
            model: "gpt-4o-mini".into(),
            estimated_input_tokens: 41_250,
            estimated_cost_usd: 0.01268,
        }
        .into(),
        EventType::GenerationSymbolDocumented => SymbolDocumented {
            symbol_id,
            summary: "Returns the current maximum log level, which logging macros check before \
                      building a record."
                .into(),
            source: SummarySource::Llm,
            input_tokens: 402,
            output_tokens: 24,
            cost_usd: 0.0000747,
            error: None,
        }
        .into(),
        EventType::GenerationProgress => GenerationProgress {
            totals: SummaryTotals {
                documented: 40,
                failed: 0,
                cached: 12,
                offline: 0,
                input_tokens: 11_256,
                output_tokens: 672,
                cost_usd: 0.0020916,
            },
            latest: Some(LatestSummary {
                symbol_id,
                summary: "Returns the current maximum log level, which logging macros check \
                          before building a record."
                    .into(),
                source: SummarySource::Llm,
            }),
        }
        .into(),
        EventType::GenerationCompleted => GenerationCompleted {
            totals: SummaryTotals {
                documented: 107,
                failed: 1,
                cached: 12,
                offline: 0,
                input_tokens: 38_911,
                output_tokens: 2_380,
                cost_usd: 0.00726465,
            },
            duration_ms: 18_530,
        }
        .into(),
        EventType::PackStarted => PackStarted {
            symbol_count: 108,
            chunk_count: 121,
        }
        .into(),
        EventType::PackCompleted => PackCompleted {
            docpack_id: Some(
                "sha256:5d41402abc4b2a76b9719d911017c592ae7d1f3e8b2c4d6e8f0a1b2c3d4e5f60".into(),
            ),
            checksum: Some(
                "sha256:0c9b2a5f1e4d3c2b1a0f9e8d7c6b5a49382716f5e4d3c2b1a0f9e8d7c6b5a493".into(),
            ),
            size_bytes: 184_233,
            url: Some("https://docpacks.example.com/5d41402a.docpack".into()),
            duration_ms: 221,
        }
        .into(),
        EventType::JobCreated => JobCreated {
            repo_url: "https://github.com/rust-lang/log".into(),
            git_ref: Some("0.4.22".into()),
        }
        .into(),
        EventType::JobStageChanged => StageChanged {
            from: JobStatus::Ingesting,
            to: JobStatus::Embedding,
        }
        .into(),
        EventType::JobFailed => JobFailed {
            stage: JobStatus::Ingesting,
            retryable: false,
        }
        .into(),
        EventType::JobCompleted => JobCompleted {
            docpack_id: Some(
                "sha256:5d41402abc4b2a76b9719d911017c592ae7d1f3e8b2c4d6e8f0a1b2c3d4e5f60".into(),
            ),
            duration_ms: 20_117,
        }
        .into(),
    };
    let position = EventType::ALL
        .iter()
        .position(|t| *t == event_type)
        .unwrap() as u32;
    Envelope {
        event_id: uuid(100 + position).parse::<EventId>().unwrap(),
        job_id: uuid(1).parse::<JobId>().unwrap(),
        sequence: u64::from(position) + 1,
        timestamp: Utc.with_ymd_and_hms(2026, 11, 27, 9, 30, 0).unwrap()
            + chrono::Duration::milliseconds(i64::from(position) * 137),
        parent_event_id: (position > 0).then(|| uuid(100).parse().unwrap()),
        context: EventContext {
            repo_url: Some("https://github.com/rust-lang/log".into()),
            git_ref: Some("0.4.22".into()),
            user_id: None,
        },
        meta: EventMeta {
            producer_version: format!("doctown-{}/0.1.0", producer(event_type)),
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".parse().unwrap(),
            idempotency_key: Some(format!("{}:{}", uuid(1), event_type.as_str())),
            tags: BTreeMap::new(),
        },
        status: event_type.is_completion().then_some(Status::Success),
        error: None,
        payload,
    }
}

fn producer(event_type: EventType) -> &'static str {
    match event_type.stage() {
        "job" => "coordinator",
        "pack" => "packer",
        stage => stage,
    }
}

fn pretty(envelope: &Envelope) -> String {
    serde_json::to_string_pretty(envelope).unwrap()
}

#[test]
fn examples_are_valid_and_round_trip() {
    for &event_type in EventType::ALL {
        let envelope = example(event_type);
        envelope.validate().unwrap();
        let json = pretty(&envelope);
        assert_eq!(
            Envelope::from_json(&json).unwrap(),
            envelope,
            "{event_type}"
        );
    }
}

#[test]
fn wire_format_snapshots() {
    for &event_type in EventType::ALL {
        insta::assert_snapshot!(event_type.as_str(), pretty(&example(event_type)));
    }
}

fn docs_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/events.md")
}

/// The ```json block under each "### `<event type>`" heading, in document order.
fn documented_examples(markdown: &str) -> Vec<(String, String)> {
    let mut examples = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line
            .strip_prefix("### `")
            .and_then(|rest| rest.strip_suffix('`'))
        else {
            continue;
        };
        let block: Vec<_> = lines
            .by_ref()
            .skip_while(|line| *line != "```json")
            .skip(1)
            .take_while(|line| *line != "```")
            .collect();
        examples.push((name.to_owned(), block.join("\n")));
    }
    examples
}

#[test]
fn docs_show_every_event_exactly_as_serialized() {
    let path = docs_path();
    let markdown = std::fs::read_to_string(&path).unwrap();
    let documented = documented_examples(&markdown);

    if std::env::var_os("DOCTOWN_BLESS_DOCS").is_some() {
        let mut blessed = markdown.clone();
        for (name, block) in &documented {
            let event_type: EventType = name.parse().unwrap();
            // The block under this heading, not an equal text elsewhere.
            let heading = blessed.find(&format!("### `{name}`")).unwrap();
            let start = heading + blessed[heading..].find("```json\n").unwrap() + "```json\n".len();
            blessed.replace_range(start..start + block.len(), &pretty(&example(event_type)));
        }
        std::fs::write(&path, blessed).unwrap();
        return;
    }

    let names: Vec<_> = documented.iter().map(|(name, _)| name.as_str()).collect();
    let expected: Vec<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(
        names, expected,
        "docs/events.md must document every event type once, in order"
    );
    for (name, block) in &documented {
        let envelope = Envelope::from_json(block)
            .unwrap_or_else(|err| panic!("the example of {name} does not read: {err}"));
        assert_eq!(
            envelope.event_type().as_str(),
            name,
            "the example under {name}"
        );
        assert_eq!(
            *block,
            pretty(&example(envelope.event_type())),
            "the example of {name} differs from the serializer's output; rerun with \
             DOCTOWN_BLESS_DOCS=1 after a deliberate change"
        );
    }
}

#[test]
fn docs_show_a_failed_completion() {
    // The failure shape (status `failed` with an `error`) is documented once, under the envelope.
    let markdown = std::fs::read_to_string(docs_path()).unwrap();
    let block: String = markdown
        .split("<!-- failed-example -->")
        .nth(1)
        .and_then(|rest| rest.split("```json\n").nth(1))
        .and_then(|rest| rest.split("\n```").next())
        .unwrap()
        .to_owned();
    let envelope = Envelope::from_json(&block).unwrap();
    assert_eq!(envelope.status, Some(Status::Failed));
    assert!(envelope.error.is_some());
    assert_eq!(pretty(&envelope), block);
}
