//! Server-Sent Events encoding, the one every worker and the coordinator stream with.
//!
//! Each envelope is one SSE event: `id:` is the job's sequence number (so a client reconnecting
//! with `Last-Event-ID` resumes where it stopped), `event:` the event type, and `data:` the
//! envelope as one line of JSON. A comment line keeps idle connections open.

use std::time::Duration;

use crate::{Envelope, EnvelopeError};

/// How often a stream with nothing to say sends [`KEEP_ALIVE`].
pub const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);

/// An SSE comment, ignored by clients, that keeps proxies from closing an idle stream.
pub const KEEP_ALIVE: &str = ": keep-alive\n\n";

/// The `Content-Type` of an event stream.
pub const CONTENT_TYPE: &str = "text/event-stream";

/// The envelope as one SSE event: `id`, `event` and `data` lines and the blank line that ends it.
pub fn encode(envelope: &Envelope) -> Result<String, serde_json::Error> {
    // Compact JSON has no raw newline (those in strings are escaped), so one `data:` line holds it.
    let data = envelope.to_json()?;
    Ok(format!(
        "id: {}\nevent: {}\ndata: {data}\n\n",
        envelope.sequence,
        envelope.event_type()
    ))
}

/// Reads envelopes back from an event stream's bytes, as they arrive in pieces of any size.
/// Comments (keep-alives) are skipped; `id:` and `event:` lines are not needed, the envelope
/// carries both.
#[derive(Debug, Default)]
pub struct Decoder {
    pending: Vec<u8>,
    data: Option<String>,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next `bytes` of the stream; gives the envelopes whose events they complete, in
    /// order (an event whose data is not a valid envelope gives its error).
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<Envelope, EnvelopeError>> {
        self.pending.extend_from_slice(bytes);
        let mut decoded = Vec::new();
        let mut start = 0;
        while let Some(end) = self.pending[start..].iter().position(|&b| b == b'\n') {
            let line = &self.pending[start..start + end];
            let line = String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line));
            if line.is_empty() {
                if let Some(data) = self.data.take() {
                    decoded.push(Envelope::from_json(&data));
                }
            } else if let Some(value) = line.strip_prefix("data:") {
                let value = value.strip_prefix(' ').unwrap_or(value);
                match &mut self.data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => self.data = Some(value.to_owned()),
                }
            }
            start += end + 1;
        }
        self.pending.drain(..start);
        decoded
    }
}

#[cfg(test)]
mod tests {
    use doctown_common::JobId;

    use super::*;
    use crate::{EventContext, EventEmitter, FileSkipped, SkipReason};

    #[test]
    fn an_envelope_is_one_sse_event() {
        let emitter =
            EventEmitter::new(JobId::generate(), EventContext::default(), "doctown-test/0");
        let envelope = emitter.emit(FileSkipped {
            path: "weird\nname.bin".into(),
            reason: SkipReason::Binary,
            detail: Some("line one\r\nline two".into()),
        });
        let text = encode(&envelope).unwrap();
        let lines: Vec<_> = text.split('\n').collect();
        assert_eq!(lines.len(), 5, "{text:?}");
        assert_eq!(lines[0], "id: 1");
        assert_eq!(lines[1], "event: ingest.file_skipped.v1");
        let data = lines[2].strip_prefix("data: ").unwrap();
        assert!(!data.contains('\r'));
        assert_eq!(Envelope::from_json(data).unwrap(), envelope);
        assert_eq!(&lines[3..], ["", ""]);
    }

    #[test]
    fn events_split_anywhere_decode_whole_and_keep_alives_are_skipped() {
        let emitter =
            EventEmitter::new(JobId::generate(), EventContext::default(), "doctown-test/0");
        let envelopes: Vec<Envelope> = (0..3)
            .map(|i| {
                emitter.emit(FileSkipped {
                    path: format!("{i}.bin"),
                    reason: SkipReason::Binary,
                    detail: None,
                })
            })
            .collect();
        let mut stream = String::new();
        for envelope in &envelopes {
            stream.push_str(&encode(envelope).unwrap());
            stream.push_str(KEEP_ALIVE);
        }
        for piece in [1, 7, 64, stream.len()] {
            let mut decoder = Decoder::new();
            let decoded: Vec<Envelope> = stream
                .as_bytes()
                .chunks(piece)
                .flat_map(|bytes| decoder.push(bytes))
                .map(Result::unwrap)
                .collect();
            assert_eq!(decoded, envelopes, "pieces of {piece} bytes");
        }
        assert!(Decoder::new().push(b"data: {not json}\n\n")[0].is_err());
    }

    #[test]
    fn keep_alive_is_a_comment() {
        assert!(KEEP_ALIVE.starts_with(':'));
        assert!(KEEP_ALIVE.ends_with("\n\n"));
    }
}
