//! The model's settings as command-line flags and `DOCTOWN_*` variables, shared by the
//! embedding worker and the one-process pipeline.

use std::path::PathBuf;

use crate::{Device, Embedder, EmbedderOptions, EmbeddingError, default_model_dir};

/// Where the model is and how it runs.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Model settings")]
pub struct ModelSettings {
    /// The folder scripts/fetch-model filled (default: ~/.cache/doctown/models/all-MiniLM-L6-v2).
    #[arg(long, env = "DOCTOWN_MODEL_DIR", value_name = "DIR")]
    pub model_dir: Option<PathBuf>,

    /// ONNX Runtime's shared library (default: MODEL_DIR/lib/libonnxruntime.so).
    #[arg(long, env = "ORT_DYLIB_PATH", value_name = "FILE")]
    pub onnxruntime: Option<PathBuf>,

    /// Where the model runs: `cpu`, or `cuda` (falls back to the CPU, with a warning, when the
    /// GPU cannot be used).
    #[arg(long, env = "DOCTOWN_DEVICE", default_value = "cpu")]
    pub device: Device,

    /// Tokens kept per chunk.
    #[arg(long, env = "DOCTOWN_EMBED_MAX_TOKENS", default_value_t = 256)]
    pub max_tokens: usize,

    /// Chunks run through the model at once.
    #[arg(long, env = "DOCTOWN_EMBED_MODEL_BATCH", default_value_t = 8)]
    pub model_batch: usize,
}

impl ModelSettings {
    /// Loads the model (on the CPU when the GPU asked for cannot be used) and runs it once, so
    /// the first real batch pays no warm-up.
    pub fn load(&self) -> Result<Embedder, EmbeddingError> {
        let options = EmbedderOptions {
            max_tokens: self.max_tokens,
            batch_size: self.model_batch,
            device: self.device,
            ..EmbedderOptions::default()
        };
        let dir = self.model_dir.clone().unwrap_or_else(default_model_dir);
        let library = self.onnxruntime.as_deref();
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
}
