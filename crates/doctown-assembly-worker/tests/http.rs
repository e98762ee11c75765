//! The assembly worker as the coordinator meets it: the real binary over HTTP, fed the chunks of
//! real source files (doctown-intel's samples) with small deterministic vectors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use doctown_common::Language;
use doctown_events::{EventType, Payload, Status};
use doctown_intel::{ChunkOptions, chunk_file, extract};
use doctown_testkit::process::{Worker, client, frames};
use serde_json::{Value, json};

/// A `POST /assemble` body: the sample files' analyses and chunks, each chunk's vector made of
/// its id's first bytes (so chunks sharing a file are not alike, and the input is fixed).
fn request() -> Value {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../doctown-intel/tests/fixtures");
    let mut files = Vec::new();
    let mut chunks = Vec::new();
    for (name, language) in [
        ("sample.py", Language::Python),
        ("sample.rs", Language::Rust),
        ("sample.go", Language::Go),
    ] {
        let bytes = std::fs::read(fixtures.join(name)).unwrap();
        let path = format!("src/{name}");
        let analysis = extract(&path, &bytes, language);
        for chunk in chunk_file(
            &path,
            &bytes,
            Some(language),
            Some(&analysis),
            &ChunkOptions::default(),
        ) {
            let vector: Vec<f32> = chunk.chunk_id.as_bytes()[..8]
                .iter()
                .map(|b| f32::from(*b) / 255.0 - 0.5)
                .collect();
            chunks.push(json!({
                "chunk_id": chunk.chunk_id,
                "path": chunk.path,
                "symbol_ids": chunk.symbol_ids,
                "vector": vector,
            }));
        }
        files.push(serde_json::to_value(&analysis).unwrap());
    }
    json!({"job_id": "67e55044-10b1-426f-9247-bb680e5fe0c8", "files": files, "chunks": chunks})
}

fn worker() -> Worker {
    Worker::start(env!("CARGO_BIN_EXE_doctown-assembly"), &[])
}

fn post(worker: &Worker, body: &Value, accept: &str) -> reqwest::blocking::Response {
    client()
        .post(format!("{}/assemble", worker.base))
        .header("accept", accept)
        .json(body)
        .send()
        .unwrap()
}

#[test]
fn the_stream_reports_clusters_then_the_graph_then_the_result() {
    let worker = worker();
    let body = request();
    let response = post(&worker, &body, "text/event-stream");
    assert_eq!(response.status(), 200);
    let events: Vec<_> = frames(response).collect();
    let types: Vec<_> = events.iter().map(|e| e.event_type()).collect();
    let clusters = types
        .iter()
        .filter(|t| **t == EventType::AssemblyClusterCreated)
        .count();
    assert!(clusters >= 1, "{types:?}");
    let mut expected = vec![EventType::AssemblyStarted];
    expected.extend(std::iter::repeat_n(
        EventType::AssemblyClusterCreated,
        clusters,
    ));
    expected.extend([
        EventType::AssemblyGraphCompleted,
        EventType::AssemblyCompleted,
    ]);
    assert_eq!(types, expected);

    let Payload::AssemblyStarted(started) = &events[0].payload else {
        panic!()
    };
    let chunk_count = body["chunks"].as_array().unwrap().len() as u64;
    assert_eq!(started.chunk_count, chunk_count);
    let last = events.last().unwrap();
    assert_eq!(last.status, Some(Status::Success));
    let Payload::AssemblyCompleted(completed) = &last.payload else {
        panic!()
    };
    assert_eq!(completed.cluster_count as usize, clusters);
    assert_eq!(
        completed
            .clusters
            .iter()
            .map(|c| c.member_count)
            .sum::<u64>(),
        chunk_count
    );
    let graph = completed.graph.as_ref().unwrap();
    assert_eq!(completed.edge_count as usize, graph.edges.len());
    assert_eq!(completed.symbol_contexts.len() as u64, started.symbol_count);
    assert!(!completed.symbol_clusters.is_empty());
    let Payload::AssemblyGraphCompleted(graph_event) = &events[events.len() - 2].payload else {
        panic!()
    };
    assert_eq!(graph_event.edges_by_kind, graph.edges_by_kind());
}

#[test]
fn a_json_answer_holds_the_same_result() {
    let worker = worker();
    let body = request();
    let stream = post(&worker, &body, "text/event-stream");
    let last = frames(stream).last().unwrap();
    let Payload::AssemblyCompleted(streamed) = last.payload else {
        panic!()
    };
    let response = post(&worker, &body, "application/json");
    assert_eq!(response.status(), 200);
    let answer: doctown_events::AssemblyCompleted = response.json().unwrap();
    assert_eq!(answer.clusters, streamed.clusters);
    assert_eq!(answer.graph, streamed.graph);
    assert_eq!(answer.symbol_contexts, streamed.symbol_contexts);
}

/// A change to a good request body.
type Change = Box<dyn Fn(&mut Value)>;

/// A body of the wrong shape gets a 400, one whose parts do not agree a 422; both name the field.
#[test]
fn bad_input_gets_a_4xx_naming_the_field() {
    let worker = worker();
    let cases: Vec<(Change, u16, &str, &str)> = vec![
        (
            Box::new(|b| {
                b["chunks"][3]["vector"].as_array_mut().unwrap().pop();
            }),
            422,
            "chunks[3].vector",
            "all vectors must come from one model",
        ),
        (
            Box::new(|b| b["chunks"][2]["vector"][0] = json!(null)),
            400,
            "chunks[2].vector[0]",
            "",
        ),
        (
            Box::new(|b| {
                let first = b["chunks"][0].clone();
                b["chunks"].as_array_mut().unwrap().push(first);
            }),
            422,
            "chunks[",
            "send each chunk once",
        ),
        (
            Box::new(|b| {
                b["files"].as_array_mut().unwrap().remove(0);
            }),
            422,
            "chunks[",
            "send the analyses of every file",
        ),
        (
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("files");
            }),
            400,
            "files",
            "",
        ),
        (
            Box::new(|b| b["job_id"] = json!("not-a-uuid")),
            400,
            "job_id",
            "",
        ),
    ];
    for (change, status, field, message) in cases {
        let mut body = request();
        change(&mut body);
        let response = post(&worker, &body, "text/event-stream");
        assert_eq!(response.status(), status, "{field}");
        let error: Value = response.json().unwrap();
        let named = error["error"]["field"].as_str().unwrap_or_default();
        assert!(named.starts_with(field), "{field}: {error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{error}"
        );
    }
}

#[test]
fn health_answers_and_nothing_in_gives_an_empty_result() {
    let worker = worker();
    let health: Value = worker.health();
    assert_eq!(health["worker"], "doctown-assembly");
    assert_eq!(health["ready"], true);
    let response = post(
        &worker,
        &json!({"files": [], "chunks": []}),
        "application/json",
    );
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().unwrap();
    assert_eq!(answer["cluster_count"], 0);
    assert_eq!(answer["node_count"], 0);
}
