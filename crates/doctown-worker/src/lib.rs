//! The shape every Doctown worker shares, so that a worker is only its routes and its core.
//!
//! - [`ServeSettings`]: where to listen, CORS origins, body limit, shutdown grace; read from flags
//!   or the environment (`PORT`, `PORT_HEALTH`, `DOCTOWN_*`) by the worker's own clap command.
//! - [`run`]: runs the HTTP server with `GET /health`, `GET /ping`, the worker's routes, CORS,
//!   JSON errors for every failure, and a graceful shutdown on SIGTERM or Ctrl-C.
//! - [`ValidJson`] and [`ApiError`]: request bodies read with the path of a bad field, and errors
//!   as `{"error": {"code", "message", "field"}}`.
//! - [`stream_job`]: runs a blocking job on its own thread and streams its events as Server-Sent
//!   Events; a client that goes away cancels the job, and a shutdown ends it with a failed
//!   completion.

mod download;
mod error;
mod input;
mod server;
mod settings;
mod sse;

pub use download::attachment;
pub use error::{ApiError, ValidJson, accepts};
pub use input::{read_artifact, receive};
pub use server::{
    Identity, Jobs, Readiness, background_runtime, init_logging, not_found, run, run_with_stop,
};
pub use settings::ServeSettings;
pub use sse::{EventSink, event_stream, stream_job, stream_task};
