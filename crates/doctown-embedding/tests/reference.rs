//! The model against sentence-transformers: real code chunks embedded by both agree at cosine
//! ≥ 0.999 (reference vectors made by scripts/make-embedding-reference.py). Needs the model that
//! `scripts/fetch-model` installs (`./scripts/test` runs it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::OnceLock;

use doctown_embedding::{DIMENSIONS, Embedder, EmbedderOptions, EmbeddingError, default_model_dir};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    max_seq_length: usize,
    texts: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

fn reference() -> Reference {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/minilm.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One model for every test of this file (ONNX Runtime allows one environment per process).
fn embedder() -> &'static Embedder {
    static EMBEDDER: OnceLock<Embedder> = OnceLock::new();
    EMBEDDER.get_or_init(|| {
        let library = std::env::var_os("ORT_DYLIB_PATH").map(std::path::PathBuf::from);
        Embedder::load(
            &default_model_dir(),
            library.as_deref(),
            EmbedderOptions::default(),
        )
        .unwrap_or_else(|err| panic!("{err}"))
    })
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

#[test]
fn vectors_agree_with_sentence_transformers() {
    let reference = reference();
    assert_eq!(
        reference.max_seq_length,
        EmbedderOptions::default().max_tokens
    );
    let texts: Vec<&str> = reference.texts.iter().map(String::as_str).collect();
    let vectors = embedder().embed(&texts).unwrap();
    let mut worst = 1.0f32;
    for (i, (ours, theirs)) in vectors.iter().zip(&reference.vectors).enumerate() {
        assert_eq!(ours.len(), DIMENSIONS);
        let similarity = cosine(ours, theirs);
        assert!(similarity >= 0.999, "text {i}: cosine {similarity}");
        worst = worst.min(similarity);
    }
    eprintln!("{} texts, lowest cosine {worst}", texts.len());
}

#[test]
fn batching_and_order_do_not_change_vectors() {
    let reference = reference();
    let texts: Vec<&str> = reference.texts.iter().map(String::as_str).collect();
    let together = embedder().embed(&texts).unwrap();
    let reversed: Vec<&str> = texts.iter().rev().copied().collect();
    let apart = embedder().embed(&reversed).unwrap();
    for (i, vector) in together.iter().enumerate() {
        let other = &apart[texts.len() - 1 - i];
        assert!(cosine(vector, other) > 0.99999, "text {i}");
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
    assert!(embedder().embed(&[]).unwrap().is_empty());
    assert_eq!(embedder().embed(&[""]).unwrap()[0].len(), DIMENSIONS);
}

#[test]
fn a_missing_model_names_the_script_that_fetches_it() {
    let temp = std::env::temp_dir().join("doctown-no-model-here");
    let err = Embedder::load(&temp, None, EmbedderOptions::default()).unwrap_err();
    assert!(matches!(err, EmbeddingError::MissingModel { .. }));
    assert!(err.to_string().contains("run scripts/fetch-model"), "{err}");
}
