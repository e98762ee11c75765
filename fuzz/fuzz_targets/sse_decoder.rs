//! Any bytes as a Server-Sent Events stream, as a worker's answer would arrive: the decoder
//! must never panic, and must decode the same events however the bytes are split into reads
//! (the first byte says where this run splits them).

#![no_main]

use doctown_events::sse::Decoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let whole: Vec<String> = Decoder::new()
        .push(stream)
        .into_iter()
        .map(|decoded| format!("{decoded:?}"))
        .collect();
    let at = usize::from(split).min(stream.len());
    let mut decoder = Decoder::new();
    let mut pieces = decoder.push(&stream[..at]);
    pieces.extend(decoder.push(&stream[at..]));
    let pieces: Vec<String> = pieces.into_iter().map(|d| format!("{d:?}")).collect();
    assert_eq!(whole, pieces);
});
