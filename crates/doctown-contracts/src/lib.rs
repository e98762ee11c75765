//! The contracts between Doctown's stages, defined once: per stage, what it takes and what it
//! gives, and the bodies its worker's route accepts and answers. A worker deserializes the
//! request type it serves; the coordinator's remote client serializes the same type, so the two
//! cannot drift apart, and `tests/wire.rs` holds every body to a golden snapshot.
//!
//! Pure data: no I/O and no stage logic (the stage libraries do the work; their workers and
//! the coordinator only move these values).

pub mod assemble;
pub mod embed;
pub mod generate;
pub mod ingest;
pub mod pack;

use doctown_common::{Artifact, JobId};
use doctown_events::Stage;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// One stage's contract: what it takes and gives wherever it runs (in a process or on a
/// worker), and the route its worker serves. Every route is `POST`ed a JSON
/// [`Request`](Contract::Request); with `Accept: text/event-stream` it streams the stage's
/// events (`docs/events.md`), and asked for `application/json` it gives one JSON
/// [`Answer`](Contract::Answer) instead (a route that only streams names the payload of the
/// event that ends its stream).
pub trait Contract {
    /// The stage.
    const STAGE: Stage;
    /// Its worker's route.
    const PATH: &'static str;
    /// The route's request body.
    type Request: Serialize + DeserializeOwned + Send + Sync;
    /// The route's JSON answer.
    type Answer: Serialize + DeserializeOwned + Send;
    /// What the stage takes, wherever it runs.
    type Input: Send;
    /// What it gives: every part it must give is there (no `Option` stands for a required
    /// value).
    type Output: Send;
    /// The payload of the event that ends its stream.
    type Completion: doctown_events::Completion + Default + Send;
}

/// How a large input reaches a worker: in the request, or kept as an artifact in a store the
/// worker shares with its caller (the request then carries only its reference, and a worker
/// that cannot read it refuses the request with `storage_failed`, so the caller can send it
/// inline instead).
#[derive(Debug, Clone, PartialEq)]
pub enum Sent<T> {
    /// In the request.
    Inline(T),
    /// Kept as this artifact (the input as JSON).
    Stored(Artifact),
}

/// What a request gave of its job and its input, or the field that is missing or doubled.
pub type Received<T> = Result<(Option<JobId>, Sent<T>), BadField>;

/// A request field that is missing, or given beside the artifact that replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadField {
    /// Required when the input is inline.
    Missing(&'static str),
    /// Given along with `input`, which replaces it.
    Doubled(&'static str),
}

impl std::fmt::Display for BadField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadField::Missing(field) => write!(
                f,
                "missing field `{field}`; send it, or `input` (the reference of the stored input)"
            ),
            BadField::Doubled(field) => write!(
                f,
                "the request has both `input` and `{field}`; send one or the other"
            ),
        }
    }
}

impl BadField {
    /// The field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            BadField::Missing(field) | BadField::Doubled(field) => field,
        }
    }
}

/// The stage of `ingest`: a repository in, its files' analyses and chunks streamed out.
#[derive(Debug, Clone, Copy)]
pub enum Ingest {}

impl Contract for Ingest {
    const STAGE: Stage = Stage::Ingest;
    const PATH: &'static str = "/ingest";
    type Request = ingest::IngestRequest;
    type Answer = doctown_events::IngestCompleted;
    type Input = ingest::IngestRequest;
    type Output = doctown_events::IngestCompleted;
    type Completion = doctown_events::IngestCompleted;
}

/// The stage of `embed`: chunks' text in, their vectors out.
#[derive(Debug, Clone, Copy)]
pub enum Embed {}

impl Contract for Embed {
    const STAGE: Stage = Stage::Embed;
    const PATH: &'static str = "/embed";
    type Request = embed::EmbedRequest;
    type Answer = embed::EmbedAnswer;
    type Input = embed::EmbedRequest;
    type Output = embed::Embedded;
    type Completion = doctown_events::EmbeddingCompleted;
}

/// The stage of `assemble`: the files and the embedded chunks in; clusters, graph and
/// contexts out.
#[derive(Debug, Clone, Copy)]
pub enum Assemble {}

impl Contract for Assemble {
    const STAGE: Stage = Stage::Assemble;
    const PATH: &'static str = "/assemble";
    type Request = assemble::AssembleRequest;
    type Answer = doctown_events::AssemblyCompleted;
    type Input = assemble::AssemblyInput;
    type Output = assemble::Assembled;
    type Completion = doctown_events::AssemblyCompleted;
}

/// The stage of `generate`: symbols with their contexts in, summaries out.
#[derive(Debug, Clone, Copy)]
pub enum Generate {}

impl Contract for Generate {
    const STAGE: Stage = Stage::Generate;
    const PATH: &'static str = "/generate";
    type Request = generate::GenerateRequest;
    type Answer = generate::GenerateAnswer;
    type Input = generate::GenerationInput;
    type Output = generate::Summaries;
    type Completion = doctown_events::GenerationCompleted;
}

/// The stage of `pack`: a docpack's contents in, the docpack stored and described.
#[derive(Debug, Clone, Copy)]
pub enum Pack {}

impl Contract for Pack {
    const STAGE: Stage = Stage::Pack;
    const PATH: &'static str = "/pack";
    type Request = pack::PackRequest;
    type Answer = doctown_events::PackCompleted;
    type Input = pack::Contents;
    type Output = pack::Packed;
    type Completion = doctown_events::PackCompleted;
}
