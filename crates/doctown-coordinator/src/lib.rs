//! The coordinator: what the website and API users talk to. It moves each job through the
//! stages, keeps its state and events, and stores its docpack.
//!
//! Stages are reached through a [`Queue`]: one stream per stage, read by consumer groups with
//! explicit acknowledgement, redelivery after a visibility timeout and dead letters.
//!
//! Its pure core is the job state machine ([`JobStatus`]): every change of a job's
//! status goes through [`JobStatus::transition`], so a job never moves backwards, never leaves a
//! terminal status, and never skips a stage.

mod queue;
mod redis_queue;
mod state;

pub use queue::{
    Delivery, MemoryQueue, Message, Queue, QueueError, QueueOptions, dead_letter_stream,
};
pub use redis_queue::RedisQueue;
pub use state::{JobStatus, TransitionError, UnknownStatus};
