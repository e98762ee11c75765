//! Any bytes through the docpack reader: it must answer with a docpack or an error, never panic,
//! hang or allocate without bound. Seeds: `seeds/read_docpack/`, real docpacks from the writer.

#![no_main]

use std::io::Cursor;

use doctown_docpack::{ReadLimits, read_docpack, read_manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ReadLimits {
        max_manifest_bytes: 1 << 16,
        max_json_bytes: 1 << 22,
        max_embeddings_bytes: 1 << 22,
        ..ReadLimits::default()
    };
    if let Ok(mut docpack) = read_docpack(data, Cursor::new(Vec::new()), &limits) {
        if let (Some(embeddings), Some(file)) = (docpack.embeddings.as_mut(), docpack.source_map.files.first()) {
            if let Some(chunk) = file.chunks.first() {
                let _ = embeddings.get(&chunk.chunk_id);
            }
        }
    }
    let _ = read_manifest(data, &limits);
});
