//! A job's events as the coordinator keeps them: stored in order (numbered by the store), then
//! handed to everyone watching live.

use std::sync::Arc;

use doctown_common::JobId;
use doctown_events::{Envelope, Payload};
use tokio::sync::{broadcast, mpsc};

use crate::store::{JobStore, StoreError};

/// Events stored together at most, when a stage makes them faster than they are stored.
const APPEND_BATCH: usize = 256;

/// Live events kept for watchers that fall behind; one further behind reads the store instead.
const LIVE_BUFFER: usize = 4096;

/// Where events go: the store first, then the live watchers.
#[derive(Debug, Clone)]
pub struct EventLog<S> {
    store: S,
    live: broadcast::Sender<Arc<Envelope>>,
}

impl<S: JobStore> EventLog<S> {
    /// The log keeping events in `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            live: broadcast::channel(LIVE_BUFFER).0,
        }
    }

    /// Stores `events` as the next of the job's stream and sends them to the watchers.
    pub async fn append(&self, job_id: JobId, mut events: Vec<Envelope>) -> Result<(), StoreError> {
        self.store.append_events(job_id, &mut events).await?;
        for envelope in events {
            // No watcher is not an error.
            let _ = self.live.send(Arc::new(envelope));
        }
        Ok(())
    }

    /// Every event stored from now on, of every job.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Envelope>> {
        self.live.subscribe()
    }

    /// A sender for a stage's events, usable from blocking threads and async code alike, and
    /// the task storing what it sends (in batches when they come faster than they are stored);
    /// the task ends when every sender is dropped, with the first failure.
    pub fn writer(
        &self,
        job_id: JobId,
    ) -> (
        mpsc::UnboundedSender<Envelope>,
        tokio::task::JoinHandle<Result<(), StoreError>>,
    ) {
        let (sender, mut receiver) = mpsc::unbounded_channel::<Envelope>();
        let log = self.clone();
        let task = tokio::spawn(async move {
            let mut failure = None;
            let mut batch = Vec::new();
            while receiver.recv_many(&mut batch, APPEND_BATCH).await > 0 {
                if failure.is_none()
                    && let Err(err) = log.append(job_id, std::mem::take(&mut batch)).await
                {
                    failure = Some(err);
                }
                batch.clear();
            }
            failure.map_or(Ok(()), Err)
        });
        (sender, task)
    }
}

/// Whether `envelope` is the last of its job's stream: `job.completed`, whether the job
/// succeeded, failed or was cancelled.
pub fn ends_job(envelope: &Envelope) -> bool {
    matches!(envelope.payload, Payload::JobCompleted(_))
}
