//! Any bytes as a source file of any language (the first byte picks it): extraction and
//! chunking must finish (bounded by the parse timeout and depth limit), never panic, and give
//! ranges inside the file.

#![no_main]

use doctown_common::Language;
use doctown_intel::{ChunkOptions, chunk_file, extract};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, source)) = data.split_first() else {
        return;
    };
    let language = Language::ALL[usize::from(selector) % Language::ALL.len()];
    let path = format!("fuzz/sample.{}", language.id());
    let analysis = extract(&path, source, language);
    for symbol in &analysis.symbols {
        assert!(symbol.byte_range.end() <= source.len(), "{symbol:?}");
    }
    let chunks = chunk_file(
        &path,
        source,
        Some(language),
        Some(&analysis),
        &ChunkOptions::default(),
    );
    for chunk in &chunks {
        assert!(chunk.byte_range.end() <= source.len(), "{chunk:?}");
    }
});
