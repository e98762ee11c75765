//! The model: loading, tokenization, batching, pooling.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

/// The model every vector comes from.
pub const MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// The dimensions of every vector.
pub const DIMENSIONS: usize = 384;

/// Where `scripts/fetch-model` puts the model unless told otherwise:
/// `$DOCTOWN_MODEL_DIR`, else `models/all-MiniLM-L6-v2` in [`doctown_common::cache_dir`].
pub fn default_model_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCTOWN_MODEL_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    doctown_common::cache_dir().join("models/all-MiniLM-L6-v2")
}

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// The CPU (the default, and the fallback).
    Cpu,
    /// An NVIDIA GPU through ONNX Runtime's CUDA execution provider (feature `cuda`).
    Cuda,
}

impl Device {
    /// `cpu` or `cuda`.
    pub fn id(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        }
    }
}

impl std::str::FromStr for Device {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda),
            other => Err(format!("unknown device `{other}`: use `cpu` or `cuda`")),
        }
    }
}

/// How the model is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderOptions {
    /// Tokens kept per text, special tokens included (sentence-transformers uses 256).
    pub max_tokens: usize,
    /// Threads ONNX Runtime uses within an operator (default: the available cores).
    pub threads: usize,
    /// Texts run through the model at once.
    pub batch_size: usize,
    /// Where to run.
    pub device: Device,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            batch_size: 8,
            device: Device::Cpu,
        }
    }
}

/// Why the model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddingError {
    /// The model folder lacks a file.
    #[error(
        "the embedding model is not in {}: {} is missing; run scripts/fetch-model, or set \
         DOCTOWN_MODEL_DIR to the folder it filled", dir.display(), missing
    )]
    MissingModel {
        /// The folder looked in.
        dir: PathBuf,
        /// The file that is missing.
        missing: String,
    },
    /// ONNX Runtime's library could not be loaded.
    #[error(
        "cannot load ONNX Runtime from {}: {message}; run scripts/fetch-model, or set \
         ORT_DYLIB_PATH to libonnxruntime.so (1.31 or later)", path.display()
    )]
    Runtime {
        /// The library path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The tokenizer failed.
    #[error("the tokenizer failed: {0}")]
    Tokenizer(String),
    /// The model failed to load or run.
    #[error("the embedding model failed: {0}")]
    Model(String),
}

/// ONNX Runtime's environment: one per process, made on first use.
static ENVIRONMENT: OnceLock<Result<Environment, String>> = OnceLock::new();

fn environment(library: &Path) -> Result<&'static Environment, EmbeddingError> {
    ENVIRONMENT
        .get_or_init(|| {
            ort::init_from(library)
                .map_err(|err| err.to_string())?
                .with_name("doctown")
                .build()
                .map_err(|err| err.to_string())
        })
        .as_ref()
        .map_err(|message| EmbeddingError::Runtime {
            path: library.to_path_buf(),
            message: message.clone(),
        })
}

/// all-MiniLM-L6-v2, loaded once and shared; `embed` may be called from any thread.
pub struct Embedder {
    session: Mutex<Session>,
    tokenizer: Tokenizer,
    options: EmbedderOptions,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads the model from `model_dir` (`model.onnx`, `tokenizer.json`) with ONNX Runtime's
    /// library at `library` (`$ORT_DYLIB_PATH`, else `model_dir/lib/libonnxruntime.so`).
    pub fn load(
        model_dir: &Path,
        library: Option<&Path>,
        options: EmbedderOptions,
    ) -> Result<Self, EmbeddingError> {
        for file in ["model.onnx", "tokenizer.json"] {
            if !model_dir.join(file).is_file() {
                return Err(EmbeddingError::MissingModel {
                    dir: model_dir.to_path_buf(),
                    missing: file.to_owned(),
                });
            }
        }
        let library = library.map_or_else(
            || model_dir.join("lib/libonnxruntime.so"),
            Path::to_path_buf,
        );
        if !library.is_file() {
            return Err(EmbeddingError::Runtime {
                path: library,
                message: "no such file".into(),
            });
        }
        let environment = environment(&library)?;

        let mut tokenizer = Tokenizer::from_file(model_dir.join("tokenizer.json"))
            .map_err(|err| EmbeddingError::Tokenizer(err.to_string()))?;
        // The packaged tokenizer pads every text to 128 and truncates there; batches are padded
        // here, each to its own longest text, and texts truncated to `max_tokens`.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: options.max_tokens,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|err| EmbeddingError::Tokenizer(err.to_string()))?;

        let model = |err: ort::Error| EmbeddingError::Model(err.to_string());
        let mut builder = Session::builder(environment)
            .map_err(model)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|err| model(err.into()))?
            .with_intra_threads(options.threads.max(1))
            .map_err(|err| model(err.into()))?;
        builder = match options.device {
            Device::Cpu => builder,
            Device::Cuda => with_cuda(builder)?,
        };
        let session = builder
            .commit_from_file(model_dir.join("model.onnx"))
            .map_err(model)?;
        Ok(Self {
            session: Mutex::new(session),
            tokenizer,
            options,
        })
    }

    /// The options the model runs with.
    pub fn options(&self) -> &EmbedderOptions {
        &self.options
    }

    /// The embedding of each text, in order: 384 floats, L2-normalised.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbeddingError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|err| EmbeddingError::Tokenizer(err.to_string()))?;
        // Longest first, so each batch pads to lengths close to its own.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].get_ids().len()));
        let mut vectors = vec![Vec::new(); texts.len()];
        for batch in order.chunks(self.options.batch_size.max(1)) {
            let width = batch
                .iter()
                .map(|&i| encodings[i].get_ids().len())
                .max()
                .unwrap_or(0)
                .max(1);
            let mut ids = vec![0i64; batch.len() * width];
            let mut mask = vec![0i64; batch.len() * width];
            for (row, &i) in batch.iter().enumerate() {
                for (column, &id) in encodings[i].get_ids().iter().enumerate() {
                    ids[row * width + column] = i64::from(id);
                    mask[row * width + column] = 1;
                }
            }
            let pooled = self.run(&ids, &mask, batch.len(), width)?;
            for (row, &i) in batch.iter().enumerate() {
                vectors[i] = pooled[row * DIMENSIONS..(row + 1) * DIMENSIONS].to_vec();
            }
        }
        Ok(vectors)
    }

    /// Runs one padded batch; gives `rows` pooled, normalised vectors, concatenated.
    fn run(
        &self,
        ids: &[i64],
        mask: &[i64],
        rows: usize,
        width: usize,
    ) -> Result<Vec<f32>, EmbeddingError> {
        let model = |err: ort::Error| EmbeddingError::Model(err.to_string());
        let shape = [rows as i64, width as i64];
        let ids_tensor = Tensor::from_array((shape, ids.to_vec())).map_err(model)?;
        let mask_tensor = Tensor::from_array((shape, mask.to_vec())).map_err(model)?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| EmbeddingError::Model("a previous run panicked".into()))?;
        let outputs = session
            .run(ort::inputs!["input_ids" => ids_tensor, "attention_mask" => mask_tensor])
            .map_err(model)?;
        let (out_shape, hidden) = outputs["last_hidden_state"]
            .try_extract_tensor::<f32>()
            .map_err(model)?;
        if out_shape.len() != 3 || out_shape[2] as usize != DIMENSIONS {
            return Err(EmbeddingError::Model(format!(
                "the model answered with shape {out_shape:?}, not [batch, sequence, {DIMENSIONS}]"
            )));
        }
        Ok(mean_pool(hidden, mask, rows, width))
    }
}

/// Mean over the tokens the mask keeps, then L2 normalisation, per row.
fn mean_pool(hidden: &[f32], mask: &[i64], rows: usize, width: usize) -> Vec<f32> {
    let mut pooled = vec![0f32; rows * DIMENSIONS];
    for row in 0..rows {
        let out = &mut pooled[row * DIMENSIONS..(row + 1) * DIMENSIONS];
        let mut count = 0f32;
        for token in 0..width {
            if mask[row * width + token] == 0 {
                continue;
            }
            count += 1.0;
            let at = (row * width + token) * DIMENSIONS;
            for (sum, value) in out.iter_mut().zip(&hidden[at..at + DIMENSIONS]) {
                *sum += value;
            }
        }
        let count = count.max(1e-9);
        out.iter_mut().for_each(|v| *v /= count);
        let norm = out.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
        out.iter_mut().for_each(|v| *v /= norm);
    }
    pooled
}

#[cfg(feature = "cuda")]
fn with_cuda(
    builder: ort::session::builder::SessionBuilder,
) -> Result<ort::session::builder::SessionBuilder, EmbeddingError> {
    // Asked for the GPU, the caller must learn when it cannot have it (missing CUDA or cuDNN
    // libraries, no device) instead of silently running many times slower on the CPU.
    builder
        .with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()])
        .map_err(|err| {
            EmbeddingError::Model(format!(
                "cannot use the GPU: {err}; ONNX Runtime's CUDA provider needs \
                 libonnxruntime_providers_cuda.so beside ORT_DYLIB_PATH and CUDA 13 with cuDNN 9 \
                 on the library path (or run on the CPU)"
            ))
        })
}

#[cfg(not(feature = "cuda"))]
fn with_cuda(
    _: ort::session::builder::SessionBuilder,
) -> Result<ort::session::builder::SessionBuilder, EmbeddingError> {
    Err(EmbeddingError::Model(
        "cannot use the GPU: this build has no CUDA support; build with `--features cuda`, or use the CPU".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_cpu_and_cuda() {
        assert_eq!("cpu".parse::<Device>(), Ok(Device::Cpu));
        assert_eq!("cuda".parse::<Device>().map(Device::id), Ok("cuda"));
        assert!(
            "gpu"
                .parse::<Device>()
                .unwrap_err()
                .contains("use `cpu` or `cuda`")
        );
    }

    #[test]
    fn pooling_averages_kept_tokens_and_normalises() {
        // Two rows of width 2; the second row's second token is padding.
        let mut hidden = vec![0f32; 2 * 2 * DIMENSIONS];
        hidden[0] = 1.0; // row 0, token 0
        hidden[DIMENSIONS] = 3.0; // row 0, token 1
        hidden[2 * DIMENSIONS + 1] = 2.0; // row 1, token 0
        hidden[3 * DIMENSIONS + 1] = 100.0; // row 1, token 1 (masked)
        let pooled = mean_pool(&hidden, &[1, 1, 1, 0], 2, 2);
        assert_eq!(pooled[0], 1.0);
        assert_eq!(pooled[DIMENSIONS + 1], 1.0);
        assert_eq!(pooled[DIMENSIONS], 0.0);
    }
}
