//! The embedding worker over HTTP, with the real model (`scripts/fetch-model`, which
//! `./scripts/test` runs): readiness, vectors in order, the cache, the event stream, and the
//! limits.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use doctown_events::{EventType, Payload, Status};
use doctown_testkit::process::{Worker, client, frames};
use serde_json::{Value, json};

fn start(env: &[(&str, &str)]) -> Worker {
    let dir = doctown_embedding::default_model_dir();
    let mut all = vec![("DOCTOWN_MODEL_DIR", dir.to_str().unwrap())];
    all.extend_from_slice(env);
    let worker = Worker::start(env!("CARGO_BIN_EXE_doctown-embedding"), &all);
    // Ready once the model is loaded and warmed up.
    worker.wait_until_ready(Duration::from_secs(120));
    worker
}

fn chunk(n: u8, content: &str) -> Value {
    json!({"chunk_id": format!("{n:02x}").repeat(32), "content": content})
}

fn embed(worker: &Worker, body: &Value) -> reqwest::blocking::Response {
    worker.post("/embed", body)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn vector(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn health_reports_the_model_and_embeddings_come_back_in_order() {
    let worker = start(&[]);
    let health: Value = worker.health();
    assert_eq!(health["model"], "sentence-transformers/all-MiniLM-L6-v2");
    assert_eq!(health["dimensions"], 384);
    assert_eq!(health["device"], "cpu");
    assert_eq!(health["ready"], true);

    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../doctown-embedding/tests/reference/minilm.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let texts = reference["texts"].as_array().unwrap();
    let body = json!({
        "batch_id": "b1",
        "chunks": [chunk(1, texts[0].as_str().unwrap()), chunk(2, "fn main() {}"), chunk(3, texts[3].as_str().unwrap())],
    });
    let response = embed(&worker, &body);
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().unwrap();
    assert_eq!(answer["batch_id"], "b1");
    let vectors = answer["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    assert_eq!(vectors[1]["chunk_id"], "02".repeat(32));
    let first = vector(&vectors[0]["vector"]);
    assert_eq!(first.len(), 384);
    assert!(cosine(&first, &vector(&reference["vectors"][0])) >= 0.999);
    assert!(
        cosine(
            &vector(&vectors[2]["vector"]),
            &vector(&reference["vectors"][3])
        ) >= 0.999
    );
}

#[test]
fn a_gpu_that_cannot_be_had_falls_back_to_the_cpu_and_says_why() {
    let worker = start(&[("DOCTOWN_DEVICE", "cuda")]);
    let health: Value = worker.health();
    // On a machine with a usable GPU (and a `--features cuda` build) the answer is "cuda".
    if health["device"] == "cpu" {
        let log = worker.log();
        assert!(log.contains("cannot use the GPU"), "{log}");
        assert!(log.contains("running on the CPU instead"), "{log}");
    } else {
        assert_eq!(health["device"], "cuda");
    }
    let response = embed(
        &worker,
        &json!({"batch_id": "b", "chunks": [chunk(1, "fn main() {}")]}),
    );
    assert_eq!(response.status(), 200);
}

#[test]
fn the_event_stream_reports_cached_chunks_and_ends_with_a_completion() {
    let worker = start(&[]);
    let body =
        json!({"batch_id": "b2", "chunks": [chunk(1, "def f(): pass"), chunk(2, "def g(): pass")]});
    let first: Value = embed(&worker, &body).json().unwrap();
    let response = client()
        .post(format!("{}/embed", worker.base))
        .header("accept", "text/event-stream")
        .json(
            &json!({"batch_id": "b3", "job_id": "67e55044-10b1-426f-9247-bb680e5fe0c8",
                      "chunks": [chunk(2, "def g(): pass"), chunk(3, "class C: pass")]}),
        )
        .send()
        .unwrap();
    let events: Vec<_> = frames(response).collect();
    let types: Vec<_> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        types,
        [
            EventType::EmbeddingBatchStarted,
            EventType::EmbeddingBatchCompleted,
            EventType::EmbeddingCompleted
        ]
    );
    let Payload::EmbeddingBatchCompleted(batch) = &events[1].payload else {
        panic!()
    };
    assert_eq!((batch.chunk_count, batch.cached_count), (2, 1));
    assert_eq!(
        batch.vectors[0].vector,
        vector(&first["vectors"][1]["vector"]),
        "the cached vector"
    );
    assert_eq!(events[2].status, Some(Status::Success));
}

#[test]
fn empty_oversized_and_malformed_requests_are_refused() {
    let worker = start(&[
        ("DOCTOWN_EMBED_MAX_CHUNKS", "2"),
        ("DOCTOWN_EMBED_MAX_CHUNK_BYTES", "100"),
    ]);
    let cases = [
        (
            json!({"batch_id": "x", "chunks": []}),
            422,
            "chunks",
            "is empty",
        ),
        (
            json!({"batch_id": "x", "chunks": [chunk(1, "a"), chunk(2, "b"), chunk(3, "c")]}),
            413,
            "chunks",
            "over the limit of 2 per request (DOCTOWN_EMBED_MAX_CHUNKS)",
        ),
        (
            json!({"batch_id": "x", "chunks": [chunk(1, &"y".repeat(101))]}),
            413,
            "chunks[0].content",
            "over the limit of 100",
        ),
        (
            json!({"batch_id": "x", "chunks": [{"chunk_id": "nope", "content": "a"}]}),
            400,
            "chunks[0].chunk_id",
            "chunk id",
        ),
        (
            json!({"chunks": [chunk(1, "a")]}),
            400,
            "batch_id",
            "no `batch_id`",
        ),
    ];
    for (body, status, field, message) in cases {
        let response = embed(&worker, &body);
        assert_eq!(response.status(), status, "{body}");
        let error: Value = response.json().unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{error}"
        );
    }
}
