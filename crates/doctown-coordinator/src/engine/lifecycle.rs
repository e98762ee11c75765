//! A job's life: its cancellation token, its moves from stage to stage (each a compare-and-set
//! said in its stream), its end, and the messages that start its next stage.

use doctown_common::JobId;
use doctown_events::{
    Completion, ErrorInfo, JobCompleted, JobFailed, JobStatus, Stage, StageChanged,
};
use tokio_util::sync::CancellationToken;

use crate::queue::{Message, Queue, QueueError};
use crate::store::{JobRecord, JobStore, StoreError};

use super::results::remove_artifacts;
use super::{Engine, Stop};

impl<Q: Queue + 'static, S: JobStore> Engine<Q, S> {
    /// The token of a job with a stage running here, if it has one.
    pub(super) fn token(&self, job_id: JobId) -> Option<CancellationToken> {
        self.running
            .lock()
            .ok()
            .and_then(|running| running.get(&job_id).map(|(token, _)| token.clone()))
    }

    /// The job's token, cancelled when the job is; every handler running the job here shares
    /// it (ingest and embedding overlap), and it is forgotten when the last guard is dropped.
    pub(super) fn track(&self, job_id: JobId) -> (CancellationToken, Untrack<'_, Q, S>) {
        let token = match self.running.lock() {
            Ok(mut running) => {
                let (token, handlers) = running.entry(job_id).or_default();
                *handlers += 1;
                token.clone()
            }
            Err(_) => CancellationToken::new(),
        };
        (
            token,
            Untrack {
                engine: self,
                job_id,
            },
        )
    }

    pub(super) async fn publish(
        &self,
        step: Stage,
        job_id: JobId,
        key: &str,
        body: serde_json::Value,
    ) -> Result<(), QueueError> {
        let message = Message {
            job_id,
            key: key.to_owned(),
            body,
        };
        self.queue
            .publish(&self.names.stream(step), &message)
            .await
            .map(drop)
    }

    /// Moves the job from `from` to `to` and says so in its stream; gives whether it moved.
    pub(super) async fn advance(
        &self,
        job: &JobRecord,
        from: JobStatus,
        to: JobStatus,
    ) -> Result<bool, StoreError> {
        let moved = self.store.transition(job.job_id, from, to, None).await?;
        if moved {
            let changed = Self::emitter(job).emit(StageChanged { from, to });
            self.events.append(job.job_id, vec![changed]).await?;
        }
        Ok(moved)
    }

    /// Ends the job in `to` (failed or cancelled, with `error`; or completed) from wherever it
    /// is, and ends its stream; gives whether this call ended it.
    pub(super) async fn end(
        &self,
        job: &JobRecord,
        to: JobStatus,
        error: Option<ErrorInfo>,
    ) -> Result<bool, StoreError> {
        let Some(current) = self.store.job(job.job_id).await? else {
            return Ok(false);
        };
        if !self
            .store
            .transition(job.job_id, current.status, to, error.as_ref())
            .await?
        {
            return Ok(false);
        }
        let emitter = Self::emitter(job);
        let mut events = vec![emitter.emit(StageChanged {
            from: current.status,
            to,
        })];
        if to == JobStatus::Failed {
            events.push(emitter.emit(JobFailed {
                stage: current.status,
                retryable: false,
            }));
        }
        let ended = self.store.job(job.job_id).await?;
        let docpack = self.store.docpack(job.job_id).await?;
        let completed = JobCompleted {
            docpack_id: docpack.map(|d| d.docpack_id),
            duration_ms: ended.and_then(|j| j.duration_ms).unwrap_or(0),
        };
        events.push(emitter.finish(completed, error.map_or(Ok(()), Err)));
        self.events.append(job.job_id, events).await?;
        self.store.clear_results(job.job_id).await?;
        remove_artifacts(self.storage.as_ref(), job.job_id).await;
        Ok(true)
    }

    /// Ends the stage's stream with a failed completion, and gives the failure.
    pub(super) async fn stage_failed<C: Completion + Default>(
        &self,
        job: &JobRecord,
        info: ErrorInfo,
    ) -> Stop {
        let failed = Self::emitter(job).finish(C::default(), Err(info.clone()));
        match self.events.append(job.job_id, vec![failed]).await {
            Ok(()) => Stop::Failed(info),
            Err(err) => Stop::Store(err),
        }
    }
}

/// Forgets a job's cancellation token when the last of its handlers here drops its guard.
pub(super) struct Untrack<'a, Q, S> {
    engine: &'a Engine<Q, S>,
    job_id: JobId,
}

impl<Q, S> Drop for Untrack<'_, Q, S> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.engine.running.lock()
            && let Some((_, handlers)) = running.get_mut(&self.job_id)
        {
            *handlers -= 1;
            if *handlers == 0 {
                running.remove(&self.job_id);
            }
        }
    }
}
