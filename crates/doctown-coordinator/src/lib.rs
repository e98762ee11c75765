//! The coordinator: what the website and API users talk to. It moves each job through the
//! stages, keeps its state and events, and stores its docpack.
//!
//! Stages are reached through a [`Queue`]: one stream per stage, read by consumer groups with
//! explicit acknowledgement, redelivery after a visibility timeout and dead letters.
//!
//! Every change of a job's status goes through the state machine of the job's status type,
//! `doctown_events::JobStatus::transition` (it lives with the events that carry statuses).

pub mod api;
mod engine;
mod events;
mod memory_store;
mod postgres;
mod queue;
mod redis_queue;
mod serve;
mod site;
mod stages;
mod store;
mod workers;

pub use engine::{CancelError, Engine, GROUP, QueueNames, Replayed, SubmitError};
pub use events::{EventLog, ends_job};
pub use memory_store::FULL_STREAMS_KEPT;
pub use stages::{Run, Runner, StageError, Stages, WorkerPools, WorkerSettings};
pub use store::{DocpackRecord, JobRecord, JobStore, Kept, MemoryStore, PgStore, StoreError};
pub use workers::{CallError, WorkerPool};

pub use queue::{
    DeadLetter, Delivery, MemoryQueue, Message, Queue, QueueError, QueueOptions, dead_letter_stream,
};
pub use redis_queue::RedisQueue;
pub use serve::{Parts, STOP_GRACE, engine_runtime, serve};
pub use site::SiteSettings;
