//! The event envelope every Doctown worker and the coordinator emit, the typed payload of every
//! event, and their Server-Sent Events encoding.
//!
//! Every event in Doctown goes through this crate: workers make envelopes with an
//! [`EventEmitter`], stream them with [`sse::encode`], and readers get them back, validated, with
//! [`Envelope::from_json`]. `docs/events.md` documents the envelope and each event type.

mod envelope;
mod payload;
mod public;
pub mod sse;
mod status;

pub use envelope::{
    Envelope, EnvelopeError, ErrorInfo, EventContext, EventEmitter, EventMeta, SequenceCheck,
    Status,
};
pub use payload::*;
pub use public::{PROGRESS_EVERY, PublicLog};
pub use status::{JobStatus, Stage, TransitionError, UnknownStatus};
