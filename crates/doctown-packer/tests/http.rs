//! The packer worker as the coordinator meets it: the real binary over HTTP, storing into a
//! local folder and into the S3-compatible server on loopback (`scripts/services start`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;

use doctown_docpack::{DocpackContents, ReadLimits, read_docpack};
use doctown_events::{EventType, Payload, Status};
use doctown_testkit::docpack::sample_contents;
use doctown_testkit::process::{Worker, client, frames, s3_settings};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The artifacts of `contents` as a `POST /pack` body, serialized as the coordinator sends it.
fn request(contents: &DocpackContents) -> Value {
    let mut body = serde_json::to_value(contents).unwrap();
    body["job_id"] = json!("67e55044-10b1-426f-9247-bb680e5fe0c8");
    body
}

fn packer(env: &[(&str, &str)]) -> Worker {
    Worker::start(env!("CARGO_BIN_EXE_doctown-packer"), env)
}

fn pack_json(worker: &Worker, body: &Value) -> reqwest::blocking::Response {
    client()
        .post(format!("{}/pack", worker.base))
        .header("accept", "application/json")
        .json(body)
        .send()
        .unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Downloads `url` and checks that it is the docpack the packer described.
fn check_download(url: &str, answer: &Value) -> Vec<u8> {
    let response = client().get(url).send().unwrap();
    assert_eq!(response.status(), 200, "{url}");
    let bytes = response.bytes().unwrap().to_vec();
    assert_eq!(bytes.len() as u64, answer["size_bytes"].as_u64().unwrap());
    assert_eq!(sha256(&bytes), answer["checksum"].as_str().unwrap());
    let docpack =
        read_docpack(&bytes[..], Cursor::new(Vec::new()), &ReadLimits::default()).unwrap();
    assert_eq!(
        docpack.manifest.docpack_id,
        answer["docpack_id"].as_str().unwrap()
    );
    assert!(docpack.embeddings.is_some() && docpack.symbol_contexts.is_some());
    bytes
}

#[test]
fn a_pack_is_stored_locally_and_downloaded() {
    let store = tempfile::tempdir().unwrap();
    let worker = packer(&[("DOCTOWN_STORAGE_DIR", store.path().to_str().unwrap())]);
    let contents = sample_contents(true, true);
    let response = pack_json(&worker, &request(&contents));
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().unwrap();
    let checksum = answer["checksum"].as_str().unwrap().to_owned();
    assert_eq!(answer["url"], format!("/docpacks/{checksum}"));
    let bytes = check_download(&format!("{}/docpacks/{checksum}", worker.base), &answer);
    // The same artifacts give the same docpack (only the time taken differs).
    let mut again: Value = pack_json(&worker, &request(&contents)).json().unwrap();
    again["duration_ms"] = answer["duration_ms"].clone();
    assert_eq!(again, answer);
    let stored_path = store.path().join(format!("docpacks/{checksum}.docpack"));
    assert_eq!(std::fs::read(&stored_path).unwrap(), bytes);

    // The same members with another manifest (here a long repository URL) make another
    // file, kept beside the first: neither replaces the other.
    let mut other = contents.clone();
    other.source.repo_url = format!("https://github.com/octo/{}", "x".repeat(5_000));
    let other_answer: Value = pack_json(&worker, &request(&other)).json().unwrap();
    assert_eq!(other_answer["docpack_id"], answer["docpack_id"]);
    assert_ne!(other_answer["checksum"], answer["checksum"]);
    check_download(&format!("{}/docpacks/{checksum}", worker.base), &answer);
    let other_checksum = other_answer["checksum"].as_str().unwrap();
    check_download(
        &format!("{}/docpacks/{other_checksum}", worker.base),
        &other_answer,
    );

    // Bytes changed in storage are not served as the docpack: the download breaks off
    // before its end.
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    std::fs::write(&stored_path, &damaged).unwrap();
    // The connection is cut: before the headers when the body is one piece, after them
    // otherwise.
    let download = client()
        .get(format!("{}/docpacks/{checksum}", worker.base))
        .send()
        .and_then(|response| response.bytes());
    assert!(
        download.is_err() || download.unwrap().len() < bytes.len(),
        "a damaged docpack was served whole"
    );
    worker.wait_until_clean(std::time::Duration::from_secs(5));
}

#[test]
fn a_pack_streams_started_and_completed() {
    let store = tempfile::tempdir().unwrap();
    let worker = packer(&[
        ("DOCTOWN_STORAGE_DIR", store.path().to_str().unwrap()),
        ("DOCTOWN_PUBLIC_URL", "https://packer.example/"),
    ]);
    let response = worker.post("/pack", &request(&sample_contents(true, true)));
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events: Vec<_> = frames(response).collect();
    let types: Vec<_> = events.iter().map(|e| e.event_type()).collect();
    assert_eq!(types, [EventType::PackStarted, EventType::PackCompleted]);
    let last = &events[1];
    assert_eq!(last.status, Some(Status::Success));
    assert_eq!(
        last.job_id.to_string(),
        "67e55044-10b1-426f-9247-bb680e5fe0c8"
    );
    let Payload::PackCompleted(completed) = &last.payload else {
        panic!()
    };
    let checksum = completed.checksum.as_deref().unwrap();
    assert_eq!(
        completed.url.as_deref(),
        Some(format!("https://packer.example/docpacks/{checksum}").as_str())
    );
}

#[test]
fn missing_or_inconsistent_artifacts_are_named_in_a_422() {
    let store = tempfile::tempdir().unwrap();
    let worker = packer(&[("DOCTOWN_STORAGE_DIR", store.path().to_str().unwrap())]);
    let contents = sample_contents(true, true);
    let full = request(&contents);

    let mut partial = full.clone();
    for piece in ["graph", "clusters"] {
        partial.as_object_mut().unwrap().remove(piece);
    }
    let response = pack_json(&worker, &partial);
    assert_eq!(response.status(), 422);
    let error: Value = response.json().unwrap();
    assert_eq!(error["error"]["field"], "graph");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("lacks `graph`, `clusters`")
    );

    let mut wrong = full.clone();
    wrong["embeddings"]["vectors"][2]["vector"] = json!([1.0, 2.0]);
    let error: Value = pack_json(&worker, &wrong).json().unwrap();
    assert_eq!(error["error"]["field"], "embeddings.vectors[2]");
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has 2 dimensions, not 8")
    );

    let mut stranger = full.clone();
    stranger["clusters"][0]["member_ids"][0] = json!("ab".repeat(32));
    let error: Value = pack_json(&worker, &stranger).json().unwrap();
    assert_eq!(error["error"]["field"], "clusters[0].member_ids");

    let mut twice = full;
    let first = twice["nodes"][0].clone();
    twice["nodes"].as_array_mut().unwrap().push(first);
    let response = pack_json(&worker, &twice);
    assert_eq!(response.status(), 422);
    let error: Value = response.json().unwrap();
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("appears twice"),
        "{error}"
    );
    assert!(
        std::fs::read_dir(store.path()).unwrap().next().is_none(),
        "nothing was stored"
    );

    let response = client()
        .get(format!("{}/docpacks/{}", worker.base, "0".repeat(64)))
        .send()
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = client()
        .get(format!("{}/docpacks/../etc", worker.base))
        .send()
        .unwrap();
    assert!(response.status().is_client_error());
}

#[test]
fn a_pack_is_stored_in_s3_with_a_presigned_url() {
    let s3 = s3_settings();
    let endpoint = s3[1].1.clone();
    let env: Vec<(&str, &str)> = s3.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let worker = packer(&env);
    let response = pack_json(&worker, &request(&sample_contents(true, true)));
    assert_eq!(response.status(), 200, "{}", worker.log());
    let answer: Value = response.json().unwrap();
    let url = answer["url"].as_str().unwrap();
    assert!(
        url.starts_with(&endpoint) && url.contains("X-Amz-Signature="),
        "{url}"
    );
    let presigned = check_download(url, &answer);
    let checksum = answer["checksum"].as_str().unwrap();
    let through_worker = check_download(&format!("{}/docpacks/{checksum}", worker.base), &answer);
    assert_eq!(presigned, through_worker);
}

#[test]
fn a_body_over_the_default_limit_is_refused_before_it_is_read() {
    use std::io::{Read, Write};
    let store = tempfile::tempdir().unwrap();
    let worker = packer(&[("DOCTOWN_STORAGE_DIR", store.path().to_str().unwrap())]);
    // Announced, not sent: the answer comes from the length alone.
    let address = worker.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "POST /pack HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         accept: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        129 * 1024 * 1024
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("over the 134217728-byte limit")
            && answer.contains("DOCTOWN_MAX_BODY_BYTES"),
        "{answer}"
    );
}

#[test]
fn s3_without_a_bucket_is_refused_at_start() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_doctown-packer"))
        .env_clear()
        .env("DOCTOWN_STORAGE", "s3")
        .env("DOCTOWN_S3_ENDPOINT", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("DOCTOWN_S3_BUCKET is not set"), "{stderr}");
}
