//! Doctown's embedding stage: text in, all-MiniLM-L6-v2 sentence embeddings out (384 dimensions,
//! L2-normalised), computed by ONNX Runtime through `ort`.
//!
//! [`Embedder::load`] reads the model folder that `scripts/fetch-model` fills (the ONNX graph,
//! the tokenizer, and ONNX Runtime's shared library, loaded at run time). [`Embedder::embed`]
//! tokenizes, truncates to the model's sequence length, sorts the texts by length and pads each
//! batch only to its own longest text, runs the model, and mean-pools over the attention mask.
//! [`EmbeddingCache`] remembers vectors by content, so an unchanged chunk is embedded once.

mod cache;
mod embedder;
mod settings;

pub use cache::EmbeddingCache;
pub use embedder::{
    DIMENSIONS, Device, Embedder, EmbedderOptions, EmbeddingError, MODEL_ID, default_model_dir,
};
pub use settings::ModelSettings;
