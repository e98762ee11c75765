//! `doctown-embedding`: the embedding worker. `POST /embed` with chunks answers with their
//! all-MiniLM-L6-v2 vectors; chunks from concurrent requests share model batches, and a chunk
//! seen before is answered from the cache.

mod batcher;
mod routes;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use doctown_embedding::{DIMENSIONS, EmbeddingCache, MODEL_ID, ModelSettings};
use doctown_worker::{Identity, Readiness, ServeSettings, background_runtime, init_logging, run};

use crate::batcher::{BatchPolicy, Batcher};

/// The embedding worker: POST /embed {"batch_id", "chunks": [{"chunk_id", "content"}]}.
///
/// Every setting can also be given by the environment variable named in brackets.
#[derive(Debug, Parser)]
#[command(name = "doctown-embedding", version, max_term_width = 100)]
struct Command {
    #[command(flatten)]
    serve: ServeSettings,

    #[command(flatten)]
    embedding: EmbeddingSettings,
}

/// The model, its batching and its limits.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Embedding settings")]
struct EmbeddingSettings {
    #[command(flatten)]
    model: ModelSettings,

    /// A batch runs as soon as this many chunks wait…
    #[arg(long, env = "DOCTOWN_EMBED_BATCH_MIN", default_value_t = 16)]
    batch_min: usize,

    /// …holds at most this many…
    #[arg(long, env = "DOCTOWN_EMBED_BATCH_MAX", default_value_t = 256)]
    batch_max: usize,

    /// …and runs this many milliseconds after its first chunk arrived in any case.
    #[arg(long, env = "DOCTOWN_EMBED_BATCH_WAIT_MS", default_value_t = 500)]
    batch_wait_ms: u64,

    /// The most chunks one request may hold.
    #[arg(long, env = "DOCTOWN_EMBED_MAX_CHUNKS", default_value_t = 1024)]
    max_chunks: usize,

    /// The largest chunk content, in bytes.
    #[arg(long, env = "DOCTOWN_EMBED_MAX_CHUNK_BYTES", default_value_t = 256 * 1024)]
    max_chunk_bytes: usize,

    /// Vectors kept in the cache.
    #[arg(long, env = "DOCTOWN_EMBED_CACHE_ENTRIES", default_value_t = 100_000)]
    cache_entries: usize,
}

const IDENTITY: Identity = Identity {
    name: "doctown-embedding",
    version: env!("CARGO_PKG_VERSION"),
    default_max_body_bytes: 32 * 1024 * 1024,
    default_bind: Identity::ALL_INTERFACES,
};

fn main() -> ExitCode {
    let command: Command = doctown_config::parse();
    init_logging();
    let settings = command.embedding;
    let runtime = match background_runtime("doctown-embedding-batcher") {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the batching runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let readiness = Readiness::default();
    readiness.set_detail("model", MODEL_ID.into());
    readiness.set_detail("dimensions", DIMENSIONS.into());
    let service = routes::EmbedService::new(
        readiness.clone(),
        Arc::new(EmbeddingCache::new(settings.cache_entries)),
        routes::Limits {
            max_chunks: settings.max_chunks,
            max_chunk_bytes: settings.max_chunk_bytes,
        },
    );
    // The model loads in the background; /ping answers 204 until it is loaded and warmed up.
    let loading = service.clone();
    let handle = runtime.handle().clone();
    std::thread::spawn(move || match settings.model.load() {
        Ok(embedder) => {
            let embedder = Arc::new(embedder);
            let policy = BatchPolicy {
                min: settings.batch_min,
                max: settings.batch_max,
                wait: Duration::from_millis(settings.batch_wait_ms),
            };
            let model = Arc::clone(&embedder);
            let batcher = {
                let _entered = handle.enter();
                Batcher::start(
                    policy,
                    Arc::new(move |texts: &[&str]| model.embed(texts).map_err(|e| e.to_string())),
                )
            };
            loading.set_batcher(batcher, embedder.options().device);
            tracing::info!("the model is loaded and warmed up");
        }
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    });
    let code = run(IDENTITY, &command.serve, readiness, move |config| {
        service.configure(config)
    });
    runtime.shutdown_background();
    code
}
