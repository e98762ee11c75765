//! Embeds the texts of a JSON-lines file (`{"content": …}` per line, as `doctown symbols
//! --chunks` prints) and reports chunks per second; writes the vectors as JSON lines for
//! comparison. `scripts/bench-embedding` runs it beside sentence-transformers.
//!
//! ```text
//! cargo bench -p doctown-embedding --bench embed -- CHUNKS.jsonl VECTORS.jsonl [MAX_TOKENS] [BATCH]
//! ```
//!
//! `DOCTOWN_DEVICE=cuda` runs it on the GPU (built with `--features cuda`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufWriter, Write};
use std::time::Instant;

use doctown_embedding::{Device, Embedder, EmbedderOptions, default_model_dir};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [input, output, rest @ ..] = args.as_slice() else {
        eprintln!("usage: embed CHUNKS.jsonl VECTORS.jsonl [MAX_TOKENS] [BATCH]");
        std::process::exit(2);
    };
    let options = EmbedderOptions {
        max_tokens: rest.first().map_or(256, |n| n.parse().unwrap()),
        batch_size: rest.get(1).map_or(8, |n| n.parse().unwrap()),
        device: std::env::var("DOCTOWN_DEVICE").map_or(Device::Cpu, |d| d.parse().unwrap()),
        ..EmbedderOptions::default()
    };
    let texts: Vec<String> = std::io::BufReader::new(std::fs::File::open(input).unwrap())
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            value["content"].as_str().unwrap().to_owned()
        })
        .collect();
    let library = std::env::var_os("ORT_DYLIB_PATH").map(std::path::PathBuf::from);
    let loading = Instant::now();
    let embedder =
        Embedder::load(&default_model_dir(), library.as_deref(), options.clone()).unwrap();
    let loaded = loading.elapsed();
    // Warm up: the first run plans the graph.
    embedder.embed(&["fn warm_up() {}"]).unwrap();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let started = Instant::now();
    let vectors = embedder.embed(&refs).unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "doctown-embedding: {} chunks in {elapsed:.2} s = {:.1} chunks/s (max {} tokens, batch {}, {} threads, {}; model loaded in {:.2} s)",
        texts.len(),
        texts.len() as f64 / elapsed,
        options.max_tokens,
        options.batch_size,
        options.threads,
        options.device.id(),
        loaded.as_secs_f64()
    );
    let mut out = BufWriter::new(std::fs::File::create(output).unwrap());
    for vector in vectors {
        serde_json::to_writer(&mut out, &vector).unwrap();
        out.write_all(b"\n").unwrap();
    }
}
