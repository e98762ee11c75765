//! The coordinator: what the website and API users talk to. It moves each job through the
//! stages, keeps its state and events, and stores its docpack.
//!
//! This crate's pure core is the job state machine ([`JobStatus`]): every change of a job's
//! status goes through [`JobStatus::transition`], so a job never moves backwards, never leaves a
//! terminal status, and never skips a stage.

mod state;

pub use state::{JobStatus, TransitionError, UnknownStatus};
