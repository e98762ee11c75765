//! The bodies that cross between the coordinator and the workers, held to golden snapshots:
//! a change to one is a change to the workers' API, made on purpose (`INSTA_UPDATE=always`)
//! and deployed to both sides together.

use std::collections::HashSet;

use doctown_common::{Artifact, ChunkId, JobId, Language, SymbolId, SymbolKind};
use doctown_contracts::assemble::{AssembleRequest, AssemblyInput, EmbeddedChunk};
use doctown_contracts::embed::{ChunkText, EmbedAnswer, EmbedRequest};
use doctown_contracts::generate::{GenerateRequest, GenerationInput, SymbolInput};
use doctown_contracts::ingest::IngestRequest;
use doctown_contracts::pack::{PackParts, PackRequest, Packed};
use doctown_contracts::{Assemble, BadField, Contract, Embed, Generate, Ingest, Pack, Sent};
use doctown_docpack::SymbolContext;
use doctown_events::{ChunkVector, PackCompleted, Stage};
use serde_json::json;

fn job() -> JobId {
    "0b7f7a52-6f1c-4b8e-9a53-2d8f6f3c1a10"
        .parse()
        .expect("a valid id")
}

fn chunk() -> ChunkId {
    "a3f1c2d4e5b6a7980123456789abcdefa3f1c2d4e5b6a7980123456789abcdef"
        .parse()
        .expect("a valid id")
}

fn symbol() -> SymbolId {
    "5d41402abc4b2a76b9719d911017c592"
        .parse()
        .expect("a valid id")
}

fn artifact() -> Artifact {
    Artifact {
        key: format!("artifacts/{}/{}.json", job(), "0".repeat(64)),
        sha256: "0".repeat(64),
        size: 1024,
    }
}

#[test]
fn an_input_is_sent_once_inline_or_by_reference() {
    let doubled = json!({"input": artifact(), "symbols": []});
    let request: GenerateRequest = serde_json::from_value(doubled).unwrap();
    assert_eq!(
        request.received().unwrap_err(),
        BadField::Doubled("symbols")
    );
    let missing = json!({"files": []});
    let request: AssembleRequest = serde_json::from_value(missing).unwrap();
    assert_eq!(request.received().unwrap_err(), BadField::Missing("chunks"));
    let stored = AssembleRequest::new(job(), Sent::Stored(artifact()));
    assert_eq!(
        stored.received().unwrap(),
        (Some(job()), Sent::Stored(artifact()))
    );
}

#[test]
fn every_stage_has_one_contract_and_route() {
    let contracts = [
        (Ingest::STAGE, Ingest::PATH),
        (Embed::STAGE, Embed::PATH),
        (Assemble::STAGE, Assemble::PATH),
        (Generate::STAGE, Generate::PATH),
        (Pack::STAGE, Pack::PATH),
    ];
    let stages: Vec<Stage> = contracts.iter().map(|(stage, _)| *stage).collect();
    assert_eq!(stages, Stage::ALL);
    let paths: HashSet<&str> = contracts.iter().map(|(_, path)| *path).collect();
    assert_eq!(paths.len(), contracts.len());
    for (stage, path) in contracts {
        assert_eq!(path, format!("/{}", stage.name()), "{stage:?}");
    }
}

#[test]
fn requests_keep_their_shape() {
    insta::assert_json_snapshot!(
        "ingest_request",
        IngestRequest {
            repo_url: "https://github.com/owner/repo".into(),
            git_ref: Some("v1.2.0".into()),
            job_id: Some(job()),
        }
    );
    insta::assert_json_snapshot!(
        "embed_request",
        EmbedRequest {
            batch_id: "b0".into(),
            job_id: Some(job()),
            chunks: vec![ChunkText {
                chunk_id: chunk(),
                content: "fn main() {}".into(),
            }],
        }
    );
    insta::assert_json_snapshot!(
        "assemble_request",
        AssembleRequest::new(
            job(),
            Sent::Inline(AssemblyInput {
                files: Vec::new(),
                chunks: vec![EmbeddedChunk {
                    chunk_id: chunk(),
                    path: "src/main.rs".into(),
                    symbol_ids: vec![symbol()],
                    vector: vec![0.5, -0.25],
                }],
            })
        )
    );
    insta::assert_json_snapshot!(
        "assemble_request_stored",
        AssembleRequest::new(job(), Sent::Stored(artifact()))
    );
    insta::assert_json_snapshot!(
        "generate_request",
        GenerateRequest::new(
            job(),
            Sent::Inline(GenerationInput {
                symbols: vec![SymbolInput {
                    symbol_id: symbol(),
                    context: SymbolContext {
                        called_by: vec!["run".into()],
                        calls: Vec::new(),
                        centrality: 0.5,
                        cluster_label: Some("entry points".into()),
                        doc: None,
                        file_path: "src/main.rs".into(),
                        imports: Vec::new(),
                        kind: SymbolKind::Function,
                        language: Language::Rust,
                        name: "main".into(),
                        members: Vec::new(),
                        parameters: Vec::new(),
                        returns: None,
                        related: Vec::new(),
                        signature: "fn main()".into(),
                    },
                    code: Some("fn main() {}".into()),
                }],
                pages: Vec::new(),
            })
        )
    );
    insta::assert_json_snapshot!(
        "generate_request_stored",
        GenerateRequest::new(job(), Sent::Stored(artifact()))
    );
    insta::assert_json_snapshot!("pack_request", PackRequest::by_reference(job(), artifact()));
}

#[test]
fn answers_keep_their_shape() {
    let answer = EmbedAnswer {
        batch_id: "b0".into(),
        vectors: vec![ChunkVector {
            chunk_id: chunk(),
            vector: vec![0.5, -0.25],
        }],
    };
    insta::assert_json_snapshot!("embed_answer", answer);
}

#[test]
fn a_worker_refuses_a_field_it_does_not_know() {
    let misspelt = json!({"repo_url": "https://github.com/o/r", "gitref": "main"});
    let err = serde_json::from_value::<IngestRequest>(misspelt).unwrap_err();
    assert!(err.to_string().contains("unknown field `gitref`"), "{err}");
    let misspelt = json!({"source_maps": []});
    let err = serde_json::from_value::<PackRequest>(misspelt).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `source_maps`"),
        "{err}"
    );
}

#[test]
fn docpack_contents_read_as_the_parts_a_packer_takes() {
    // What the coordinator keeps as an artifact is what a packer reads back.
    let contents = doctown_testkit::docpack::sample_contents(true, true);
    let parts: PackParts =
        serde_json::from_value(serde_json::to_value(&contents).unwrap()).unwrap();
    assert_eq!(parts.source.as_ref(), Some(&contents.source));
    assert_eq!(parts.nodes.as_ref(), Some(&contents.nodes));
    assert_eq!(parts.source_map.as_ref(), Some(&contents.source_map));
    assert_eq!(parts.symbol_contexts, contents.symbol_contexts);
    let embeddings = parts.embeddings.unwrap();
    assert_eq!(embeddings.vectors.len(), contents.embeddings.unwrap().len());
}

#[test]
fn an_answer_without_a_required_part_is_refused() {
    let complete = PackCompleted {
        docpack_id: Some("dp_1".into()),
        checksum: Some("a".repeat(64)),
        size_bytes: 10,
        url: None,
        duration_ms: 1,
    };
    let packed = Packed::try_from(complete.clone()).unwrap();
    assert_eq!(packed.size_bytes, 10);
    let no_id = PackCompleted {
        docpack_id: Some(String::new()),
        ..complete.clone()
    };
    assert_eq!(Packed::try_from(no_id), Err("docpack_id"));
    let bad_checksum = PackCompleted {
        checksum: Some("XYZ".into()),
        ..complete
    };
    assert_eq!(Packed::try_from(bad_checksum), Err("checksum"));
}
