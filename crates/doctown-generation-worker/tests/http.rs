//! The generation worker as the coordinator meets it: the real binary over HTTP, writing offline
//! summaries, and refusing a job whose estimate is over the budget. (The model path is tested
//! in doctown-generation against llama.cpp's server and loopback stubs.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use doctown_events::{EventType, GenerationMode, Payload, Status, SummarySource};
use doctown_testkit::process::{Worker, client, frames};
use doctown_testkit::{LoopbackServer, Response};
use serde_json::{Value, json};

fn symbols(n: usize) -> Value {
    let symbols: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "symbol_id": format!("{i:032x}"),
                "context": {
                    "called_by": ["main"],
                    "calls": ["read_file"],
                    "centrality": 0.5,
                    "cluster_label": "config",
                    "doc": if i == 0 { json!("Loads the settings. Fails on bad keys.") } else { json!(null) },
                    "file_path": "src/config.rs",
                    "imports": [],
                    "kind": "function",
                    "language": "rust",
                    "name": format!("load_{i}"),
                    "related": [],
                    "signature": format!("fn load_{i}() -> Settings"),
                },
                "code": format!("fn load_{i}() -> Settings {{ read_file() }}"),
            })
        })
        .collect();
    json!({"job_id": "67e55044-10b1-426f-9247-bb680e5fe0c8", "symbols": symbols})
}

fn post(worker: &Worker, body: &Value, accept: &str) -> reqwest::blocking::Response {
    client()
        .post(format!("{}/generate", worker.base))
        .header("accept", accept)
        .json(body)
        .send()
        .unwrap()
}

#[test]
fn offline_summaries_stream_then_total() {
    let cache = tempfile::tempdir().unwrap();
    let worker = Worker::start(
        env!("CARGO_BIN_EXE_doctown-generation"),
        &[("DOCTOWN_SUMMARY_CACHE_DIR", cache.path().to_str().unwrap())],
    );
    let health: Value = worker.health();
    assert_eq!(health["mode"], "offline");

    let response = post(&worker, &symbols(4), "text/event-stream");
    assert_eq!(response.status(), 200);
    let events: Vec<_> = frames(response).collect();
    let types: Vec<_> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(types[0], EventType::GenerationStarted);
    assert_eq!(types[1..5], [EventType::GenerationSymbolDocumented; 4]);
    assert_eq!(types[5], EventType::GenerationCompleted);
    let Payload::GenerationStarted(started) = &events[0].payload else {
        panic!()
    };
    assert_eq!(
        (started.mode, started.estimated_cost_usd),
        (GenerationMode::Offline, 0.0)
    );
    let mut first = None;
    for event in &events[1..5] {
        let Payload::GenerationSymbolDocumented(documented) = &event.payload else {
            panic!()
        };
        assert_eq!(documented.source, SummarySource::Offline);
        assert!(documented.summary.ends_with('.'));
        if documented.symbol_id.to_string() == format!("{:032x}", 0) {
            first = Some(documented.summary.clone());
        }
    }
    assert_eq!(first.unwrap(), "Loads the settings; called by `main`.");
    let last = &events[5];
    assert_eq!(last.status, Some(Status::Success));
    let Payload::GenerationCompleted(completed) = &last.payload else {
        panic!()
    };
    assert_eq!(
        (
            completed.totals.documented,
            completed.totals.offline,
            completed.totals.failed
        ),
        (4, 4, 0)
    );

    // As one JSON answer, in request order.
    let answer: Value = post(&worker, &symbols(3), "application/json")
        .json()
        .unwrap();
    let ids: Vec<&str> = answer["summaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["symbol_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            format!("{:032x}", 0),
            format!("{:032x}", 1),
            format!("{:032x}", 2)
        ]
    );
    assert_eq!(answer["completed"]["documented"], 3);
}

#[test]
fn a_job_over_the_budget_is_refused_with_its_estimate() {
    let server = LoopbackServer::start(|_| Response::new(500, "never asked"));
    let cache = tempfile::tempdir().unwrap();
    let base = format!("{}/v1", server.base);
    let worker = Worker::start(
        env!("CARGO_BIN_EXE_doctown-generation"),
        &[
            ("DOCTOWN_LLM_BASE_URL", base.as_str()),
            ("DOCTOWN_LLM_MODEL", "gpt-4o-mini"),
            ("DOCTOWN_MAX_COST_USD", "0.00001"),
            ("DOCTOWN_SUMMARY_CACHE_DIR", cache.path().to_str().unwrap()),
        ],
    );
    let response = post(&worker, &symbols(50), "text/event-stream");
    assert_eq!(response.status(), 422);
    let error: Value = response.json().unwrap();
    assert_eq!(error["error"]["code"], "over_budget");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("DOCTOWN_MAX_COST_USD") && message.contains("50 symbols"),
        "{message}"
    );
    assert!(server.requests().is_empty());
}
