//! The event envelope: the one shape in which every worker and the coordinator report progress.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, SubsecRound, Utc};
use doctown_common::{EventId, JobId, TraceId};
use serde::{Deserialize, Serialize, Serializer};

use crate::payload::{Completion, EventType, Payload, Progress};

/// An envelope broke one of the rules, or could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The event type is not of the form `<stage>.<name>.v<version>`.
    #[error(
        "event type '{value}' is malformed: expected '<stage>.<name>.v<version>' in lowercase, \
         such as 'ingest.started.v1'"
    )]
    MalformedEventType {
        /// The type as found.
        value: String,
    },

    /// The event type is well-formed but not one this build knows.
    #[error("unknown event type '{value}': see docs/events.md for the event types")]
    UnknownEventType {
        /// The type as found.
        value: String,
    },

    /// The event type is known, but in another version.
    #[error(
        "event type '{value}' has a version this build cannot read: it reads {supported}; \
         upgrade Doctown"
    )]
    UnsupportedVersion {
        /// The type as found.
        value: String,
        /// The version this build reads.
        supported: EventType,
    },

    /// The payload does not match its event type.
    #[error("the payload of {event_type} is invalid: {source}")]
    Payload {
        /// The envelope's event type.
        event_type: EventType,
        /// What serde found wrong.
        #[source]
        source: serde_json::Error,
    },

    /// A status on an event that does not end a stage.
    #[error(
        "{event_type} carries a status, but only '<stage>.completed' events may; remove the status"
    )]
    StatusOnProgressEvent {
        /// The envelope's event type.
        event_type: EventType,
    },

    /// A `*.completed` event without a status.
    #[error("{event_type} has no status: completed events must say 'success' or 'failed'")]
    MissingStatus {
        /// The envelope's event type.
        event_type: EventType,
    },

    /// A failed status without an error, or an error without a failed status.
    #[error(
        "{event_type} has status '{status}' {problem}: an error goes with, and only with, status \
         'failed'"
    )]
    ErrorMismatch {
        /// The envelope's event type.
        event_type: EventType,
        /// The status found.
        status: &'static str,
        /// "but no error" or "and an error".
        problem: &'static str,
    },

    /// The sequence number is 0; sequences start at 1.
    #[error("sequence 0 is not allowed: sequences start at 1")]
    ZeroSequence,

    /// The event names itself as its parent.
    #[error("event {event_id} names itself as its parent")]
    SelfParent {
        /// The event's id.
        event_id: EventId,
    },

    /// A field that must not be empty is.
    #[error("the envelope's {field} is empty")]
    EmptyField {
        /// The field's path in the envelope, such as `meta.producer_version`.
        field: &'static str,
    },

    /// A job's sequence numbers did not increase.
    #[error(
        "sequence for job {job_id} went from {previous} to {found}: sequences must increase; \
         the stream is out of order or replayed"
    )]
    SequenceNotIncreasing {
        /// The job.
        job_id: JobId,
        /// The last sequence seen for the job.
        previous: u64,
        /// The sequence that followed it.
        found: u64,
    },

    /// The JSON is not an envelope at all.
    #[error("not a valid event envelope: {0}")]
    Json(#[from] serde_json::Error),
}

/// How a stage ended; only on `*.completed` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The stage did all it had to.
    Success,
    /// The stage stopped on an error; the envelope's `error` says which.
    Failed,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Failed => "failed",
        }
    }
}

/// Why a stage failed, for programs (`code`) and for people (`message`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// A stable snake_case code, such as `size_limit_exceeded` or `http`.
    pub code: String,
    /// What happened and what to do, in a sentence.
    pub message: String,
}

impl ErrorInfo {
    /// An error with this code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

impl From<&doctown_common::Error> for ErrorInfo {
    fn from(err: &doctown_common::Error) -> Self {
        ErrorInfo::new(err.code(), err.to_string())
    }
}

/// What the job is about: the same on every event of a job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventContext {
    /// The repository being documented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
    /// The git reference asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Who asked for the job, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// Who produced the event, for tracing and deduplication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMeta {
    /// The producer and its version, such as `doctown-ingest/0.1.0`.
    pub producer_version: String,
    /// The trace the event belongs to.
    pub trace_id: TraceId,
    /// A key that is the same for a redelivered event, so handlers can drop repeats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Free-form labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// One event: the payload with everything needed to order, trace and replay it.
///
/// Envelopes are made by an [`EventEmitter`] and read with `serde_json`; reading validates, so an
/// `Envelope` read from JSON always follows the rules of [`Envelope::validate`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "WireEnvelope")]
pub struct Envelope {
    /// This event's id.
    pub event_id: EventId,
    /// The job it belongs to.
    pub job_id: JobId,
    /// Its position in the job's stream: 1, 2, 3, … with no going back.
    pub sequence: u64,
    /// When it happened (UTC, microsecond precision).
    pub timestamp: DateTime<Utc>,
    /// The event that caused it, if any.
    pub parent_event_id: Option<EventId>,
    /// What the job is about.
    pub context: EventContext,
    /// Who produced it.
    pub meta: EventMeta,
    /// How the stage ended; present on `*.completed` events only.
    pub status: Option<Status>,
    /// Why the stage failed; present with status `failed` only.
    pub error: Option<ErrorInfo>,
    /// What happened.
    pub payload: Payload,
}

impl Envelope {
    /// The event's type, which its payload determines.
    pub fn event_type(&self) -> EventType {
        self.payload.event_type()
    }

    /// Checks the rules every envelope follows:
    /// a status on `*.completed` events and only there; an error with status `failed` and only
    /// there; a sequence from 1; no event its own parent; a named producer.
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        let event_type = self.event_type();
        if self.sequence == 0 {
            return Err(EnvelopeError::ZeroSequence);
        }
        if self.parent_event_id == Some(self.event_id) {
            return Err(EnvelopeError::SelfParent {
                event_id: self.event_id,
            });
        }
        if self.meta.producer_version.trim().is_empty() {
            return Err(EnvelopeError::EmptyField {
                field: "meta.producer_version",
            });
        }
        if self
            .meta
            .idempotency_key
            .as_deref()
            .is_some_and(|key| key.trim().is_empty())
        {
            return Err(EnvelopeError::EmptyField {
                field: "meta.idempotency_key",
            });
        }
        match (event_type.is_completion(), self.status, &self.error) {
            (false, Some(_), _) => Err(EnvelopeError::StatusOnProgressEvent { event_type }),
            (false, None, Some(_)) => Err(EnvelopeError::ErrorMismatch {
                event_type,
                status: "none",
                problem: "and an error",
            }),
            (true, None, _) => Err(EnvelopeError::MissingStatus { event_type }),
            (true, Some(Status::Failed), None) => Err(EnvelopeError::ErrorMismatch {
                event_type,
                status: Status::Failed.as_str(),
                problem: "but no error",
            }),
            (true, Some(Status::Success), Some(_)) => Err(EnvelopeError::ErrorMismatch {
                event_type,
                status: Status::Success.as_str(),
                problem: "and an error",
            }),
            _ => Ok(()),
        }
    }

    /// The envelope as one line of JSON.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    /// Reads and validates an envelope from JSON.
    pub fn from_json(json: &str) -> Result<Envelope, EnvelopeError> {
        Ok(serde_json::from_str(json)?)
    }
}

/// The field order and names on the wire, borrowed for writing.
#[derive(Serialize)]
struct WireEnvelopeRef<'a> {
    event_id: EventId,
    event_type: &'static str,
    job_id: JobId,
    sequence: u64,
    timestamp: &'a DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_event_id: Option<EventId>,
    context: &'a EventContext,
    meta: &'a EventMeta,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ErrorInfo>,
    payload: &'a Payload,
}

/// The wire form as read, before the payload is typed and the rules are checked.
#[derive(Deserialize)]
struct WireEnvelope {
    event_id: EventId,
    event_type: String,
    job_id: JobId,
    sequence: u64,
    timestamp: DateTime<Utc>,
    #[serde(default)]
    parent_event_id: Option<EventId>,
    #[serde(default)]
    context: EventContext,
    meta: EventMeta,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    error: Option<ErrorInfo>,
    payload: serde_json::Value,
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireEnvelopeRef {
            event_id: self.event_id,
            event_type: self.event_type().as_str(),
            job_id: self.job_id,
            sequence: self.sequence,
            timestamp: &self.timestamp,
            parent_event_id: self.parent_event_id,
            context: &self.context,
            meta: &self.meta,
            status: self.status,
            error: self.error.as_ref(),
            payload: &self.payload,
        }
        .serialize(serializer)
    }
}

impl TryFrom<WireEnvelope> for Envelope {
    type Error = EnvelopeError;

    fn try_from(wire: WireEnvelope) -> Result<Self, EnvelopeError> {
        let event_type: EventType = wire.event_type.parse()?;
        let payload = Payload::from_json(event_type, wire.payload)
            .map_err(|source| EnvelopeError::Payload { event_type, source })?;
        let envelope = Envelope {
            event_id: wire.event_id,
            job_id: wire.job_id,
            sequence: wire.sequence,
            timestamp: wire.timestamp,
            parent_event_id: wire.parent_event_id,
            context: wire.context,
            meta: wire.meta,
            status: wire.status,
            error: wire.error,
            payload,
        };
        envelope.validate()?;
        Ok(envelope)
    }
}

/// Checks that each job's sequence numbers only go up, for a reader of one or more streams.
#[derive(Debug, Default)]
pub struct SequenceCheck {
    last: BTreeMap<JobId, u64>,
}

impl SequenceCheck {
    /// A check that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts `envelope` if its sequence is above every earlier one of its job.
    pub fn observe(&mut self, envelope: &Envelope) -> Result<(), EnvelopeError> {
        let last = self.last.entry(envelope.job_id).or_insert(0);
        if envelope.sequence <= *last {
            return Err(EnvelopeError::SequenceNotIncreasing {
                job_id: envelope.job_id,
                previous: *last,
                found: envelope.sequence,
            });
        }
        *last = envelope.sequence;
        Ok(())
    }
}

/// Makes the envelopes of one job's stream: ids, sequence, timestamps and meta filled in, and
/// statuses set only where the rules allow.
///
/// Emitting takes `&self`, so stages that run at once share one emitter; each envelope takes the
/// next number when it is made, so whoever sends them keeps the order by sending each as soon as
/// it is made, from one thread.
#[derive(Debug)]
pub struct EventEmitter {
    job_id: JobId,
    context: EventContext,
    meta: EventMeta,
    next_sequence: AtomicU64,
}

impl EventEmitter {
    /// An emitter for `job_id`, whose events say they come from `producer_version`
    /// (such as `doctown-ingest/0.1.0`), in a new trace.
    pub fn new(job_id: JobId, context: EventContext, producer_version: impl Into<String>) -> Self {
        Self {
            job_id,
            context,
            meta: EventMeta {
                producer_version: producer_version.into(),
                trace_id: TraceId::generate(),
                idempotency_key: None,
                tags: BTreeMap::new(),
            },
            next_sequence: AtomicU64::new(1),
        }
    }

    /// Puts the events in an existing trace instead of a new one.
    pub fn with_trace_id(mut self, trace_id: TraceId) -> Self {
        self.meta.trace_id = trace_id;
        self
    }

    /// The job this emitter speaks for.
    pub fn job_id(&self) -> JobId {
        self.job_id
    }

    /// The next progress event.
    pub fn emit(&self, payload: impl Progress) -> Envelope {
        self.envelope(payload.into(), None, None, None)
    }

    /// The next progress event, caused by the event `parent`.
    pub fn emit_after(&self, parent: EventId, payload: impl Progress) -> Envelope {
        self.envelope(payload.into(), Some(parent), None, None)
    }

    /// The event that ends the stage: status `success` for `Ok`, `failed` with the error for
    /// `Err`.
    pub fn finish(&self, payload: impl Completion, outcome: Result<(), ErrorInfo>) -> Envelope {
        match outcome {
            Ok(()) => self.envelope(payload.into(), None, Some(Status::Success), None),
            Err(error) => self.envelope(payload.into(), None, Some(Status::Failed), Some(error)),
        }
    }

    fn envelope(
        &self,
        payload: Payload,
        parent_event_id: Option<EventId>,
        status: Option<Status>,
        error: Option<ErrorInfo>,
    ) -> Envelope {
        let sequence = self.next_sequence.fetch_add(1, Ordering::Relaxed);
        Envelope {
            event_id: EventId::generate(),
            job_id: self.job_id,
            sequence,
            // Microseconds: what PostgreSQL keeps, so a stored event reads back identical.
            timestamp: Utc::now().trunc_subsecs(6),
            parent_event_id,
            context: self.context.clone(),
            meta: self.meta.clone(),
            status,
            error,
            payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{FileDetected, IngestCompleted, IngestStarted, SourceKind};

    fn emitter() -> EventEmitter {
        let context = EventContext {
            repo_url: Some("https://github.com/rust-lang/log".into()),
            ..EventContext::default()
        };
        EventEmitter::new(JobId::generate(), context, "doctown-ingest/0.1.0")
    }

    fn started() -> IngestStarted {
        IngestStarted {
            source: "https://github.com/rust-lang/log".into(),
            source_kind: SourceKind::Github,
            git_ref: None,
        }
    }

    #[test]
    fn emitted_envelopes_are_valid_numbered_and_round_trip() {
        let emitter = emitter();
        let first = emitter.emit(started());
        let second = emitter.emit_after(
            first.event_id,
            FileDetected {
                path: "src/lib.rs".into(),
                language: None,
                size_bytes: 10,
            },
        );
        let last = emitter.finish(IngestCompleted::default(), Ok(()));
        let mut check = SequenceCheck::new();
        for (envelope, expected_sequence) in [&first, &second, &last].into_iter().zip(1..) {
            envelope.validate().unwrap();
            check.observe(envelope).unwrap();
            assert_eq!(envelope.sequence, expected_sequence);
            let json = envelope.to_json().unwrap();
            assert!(!json.contains('\n'));
            assert_eq!(&Envelope::from_json(&json).unwrap(), envelope);
        }
        assert_eq!(second.parent_event_id, Some(first.event_id));
        assert_eq!(last.status, Some(Status::Success));
        assert_eq!(first.status, None);
    }

    #[test]
    fn a_failed_finish_carries_the_error() {
        let emitter = emitter();
        let envelope = emitter.finish(
            IngestCompleted::default(),
            Err(ErrorInfo::new(
                "size_limit_exceeded",
                "the repository is over 100 MB",
            )),
        );
        envelope.validate().unwrap();
        assert_eq!(envelope.status, Some(Status::Failed));
        let json: serde_json::Value = serde_json::from_str(&envelope.to_json().unwrap()).unwrap();
        assert_eq!(json["status"], "failed");
        assert_eq!(json["error"]["code"], "size_limit_exceeded");
    }

    #[test]
    fn status_rules_are_enforced() {
        let emitter = emitter();
        let mut progress = emitter.emit(started());
        progress.status = Some(Status::Success);
        assert!(matches!(
            progress.validate(),
            Err(EnvelopeError::StatusOnProgressEvent { .. })
        ));
        progress.status = None;
        progress.error = Some(ErrorInfo::new("x", "y"));
        assert!(matches!(
            progress.validate(),
            Err(EnvelopeError::ErrorMismatch { .. })
        ));

        let mut completed = emitter.finish(IngestCompleted::default(), Ok(()));
        completed.status = None;
        let err = completed.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "ingest.completed.v1 has no status: completed events must say 'success' or 'failed'"
        );
        completed.status = Some(Status::Failed);
        assert!(err_text(&completed).contains("status 'failed' but no error"));
        completed.status = Some(Status::Success);
        completed.error = Some(ErrorInfo::new("x", "y"));
        assert!(err_text(&completed).contains("status 'success' and an error"));
    }

    fn err_text(envelope: &Envelope) -> String {
        envelope.validate().unwrap_err().to_string()
    }

    #[test]
    fn structural_rules_are_enforced() {
        let emitter = emitter();
        let mut envelope = emitter.emit(started());
        envelope.sequence = 0;
        assert!(matches!(
            envelope.validate(),
            Err(EnvelopeError::ZeroSequence)
        ));
        envelope.sequence = 1;
        envelope.parent_event_id = Some(envelope.event_id);
        assert!(matches!(
            envelope.validate(),
            Err(EnvelopeError::SelfParent { .. })
        ));
        envelope.parent_event_id = None;
        envelope.meta.producer_version = " ".into();
        assert!(err_text(&envelope).contains("meta.producer_version is empty"));
    }

    #[test]
    fn sequences_must_increase_per_job() {
        let one = emitter();
        let other = emitter();
        let a1 = one.emit(started());
        let a2 = one.emit(started());
        let b1 = other.emit(started());
        let mut check = SequenceCheck::new();
        check.observe(&a1).unwrap();
        check.observe(&b1).unwrap();
        check.observe(&a2).unwrap();
        let err = check.observe(&a1).unwrap_err();
        assert!(err.to_string().contains("went from 2 to 1"), "{err}");
        assert!(check.observe(&a2).is_err(), "a repeat is not an increase");
    }

    #[test]
    fn reading_rejects_invalid_json_envelopes() {
        let emitter = emitter();
        let valid: serde_json::Value = serde_json::to_value(emitter.emit(started())).unwrap();

        let mut missing_id = valid.clone();
        missing_id.as_object_mut().unwrap().remove("job_id");
        let err = Envelope::from_json(&missing_id.to_string()).unwrap_err();
        assert!(err.to_string().contains("missing field `job_id`"), "{err}");

        let mut nil_id = valid.clone();
        nil_id["event_id"] = "00000000-0000-0000-0000-000000000000".into();
        let err = Envelope::from_json(&nil_id.to_string()).unwrap_err();
        assert!(err.to_string().contains("invalid event id"), "{err}");

        let mut status_on_progress = valid.clone();
        status_on_progress["status"] = "success".into();
        let err = Envelope::from_json(&status_on_progress.to_string()).unwrap_err();
        assert!(
            err.to_string()
                .contains("only '<stage>.completed' events may"),
            "{err}"
        );

        let mut wrong_payload = valid.clone();
        wrong_payload["payload"] = serde_json::json!({"path": "a.rs"});
        let err = Envelope::from_json(&wrong_payload.to_string()).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "not a valid event envelope: the payload of ingest.started.v1 is invalid"
            ),
            "{err}"
        );

        let mut unknown_type = valid;
        unknown_type["event_type"] = "ingest.teleported.v1".into();
        let err = Envelope::from_json(&unknown_type.to_string()).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown event type 'ingest.teleported.v1'"),
            "{err}"
        );
    }
}
