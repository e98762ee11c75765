//! Server-Sent Events encoding, the one every worker and the coordinator stream with.
//!
//! Each envelope is one SSE event: `id:` is the job's sequence number (so a client reconnecting
//! with `Last-Event-ID` resumes where it stopped), `event:` the event type, and `data:` the
//! envelope as one line of JSON. A comment line keeps idle connections open.

use std::time::Duration;

use crate::Envelope;

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
    fn keep_alive_is_a_comment() {
        assert!(KEEP_ALIVE.starts_with(':'));
        assert!(KEEP_ALIVE.ends_with("\n\n"));
    }
}
