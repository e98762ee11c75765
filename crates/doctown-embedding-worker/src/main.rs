//! `doctown-embedding`: the embedding worker. `POST /embed` with chunks answers with their
//! all-MiniLM-L6-v2 vectors; chunks from concurrent requests share model batches, and a chunk
//! seen before is answered from the cache.

mod batcher;
mod routes;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use doctown_embedding::{
    DIMENSIONS, Device, Embedder, EmbedderOptions, EmbeddingCache, MODEL_ID, default_model_dir,
};
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
    /// The folder scripts/fetch-model filled (default: ~/.cache/doctown/models/all-MiniLM-L6-v2).
    #[arg(long, env = "DOCTOWN_MODEL_DIR", value_name = "DIR")]
    model_dir: Option<PathBuf>,

    /// ONNX Runtime's shared library (default: MODEL_DIR/lib/libonnxruntime.so).
    #[arg(long, env = "ORT_DYLIB_PATH", value_name = "FILE")]
    onnxruntime: Option<PathBuf>,

    /// Where the model runs.
    /// Where the model runs: `cpu`, or `cuda` (falls back to the CPU, with a warning, when the
    /// GPU cannot be used; /health reports the device in use).
    #[arg(long, env = "DOCTOWN_DEVICE", default_value = "cpu")]
    device: Device,

    /// Tokens kept per chunk.
    #[arg(long, env = "DOCTOWN_EMBED_MAX_TOKENS", default_value_t = 256)]
    max_tokens: usize,

    /// Chunks run through the model at once (within a batch).
    #[arg(long, env = "DOCTOWN_EMBED_MODEL_BATCH", default_value_t = 8)]
    model_batch: usize,

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
};

fn main() -> ExitCode {
    let command = Command::parse();
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
    std::thread::spawn(move || match load(&settings) {
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

/// Loads the model and runs it once, so the first request pays no warm-up.
fn load(settings: &EmbeddingSettings) -> Result<Embedder, doctown_embedding::EmbeddingError> {
    let options = EmbedderOptions {
        max_tokens: settings.max_tokens,
        batch_size: settings.model_batch,
        device: settings.device,
        ..EmbedderOptions::default()
    };
    let dir = settings.model_dir.clone().unwrap_or_else(default_model_dir);
    let library = settings.onnxruntime.as_deref();
    let embedder = match Embedder::load(&dir, library, options.clone()) {
        Err(err) if options.device == Device::Cuda => {
            tracing::warn!("{err}; running on the CPU instead");
            let cpu = EmbedderOptions {
                device: Device::Cpu,
                ..options
            };
            Embedder::load(&dir, library, cpu)?
        }
        loaded => loaded?,
    };
    embedder.embed(&["fn warm_up() {}"])?;
    Ok(embedder)
}
