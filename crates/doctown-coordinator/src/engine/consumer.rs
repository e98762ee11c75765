//! The queue's consumer: each stage's stream read, its messages handled a few at a time, kept
//! while their work goes on, and acknowledged once it is kept.

use std::sync::Arc;
use std::time::Duration;

use doctown_events::{ErrorInfo, JobStatus, Stage};
use doctown_worker::Readiness;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::queue::{Delivery, Queue};
use crate::store::{JobRecord, JobStore};

use super::{Engine, GROUP, Stop};

/// Messages of `stage` handled at once by one coordinator: downloads and model calls overlap;
/// the CPU-bound stages take turns.
fn concurrency(stage: Stage) -> usize {
    match stage {
        Stage::Ingest | Stage::Generate => 4,
        Stage::Embed | Stage::Assemble | Stage::Pack => 1,
    }
}

impl<Q: Queue + 'static, S: JobStore> Engine<Q, S> {
    /// Reads every step's stream until `shutdown`, handling messages as they come, and keeps
    /// the remote workers' health in `readiness`.
    pub async fn run(self: Arc<Self>, readiness: Readiness, shutdown: CancellationToken) {
        let mut consumers = JoinSet::new();
        let stages = Arc::clone(&self.stages);
        let watching = shutdown.clone();
        consumers.spawn(async move { stages.watch_workers(readiness, watching).await });
        for step in Stage::ALL {
            let engine = Arc::clone(&self);
            let shutdown = shutdown.clone();
            consumers.spawn(async move { engine.consume(step, shutdown).await });
        }
        while consumers.join_next().await.is_some() {}
    }

    pub(super) async fn consume(self: Arc<Self>, step: Stage, shutdown: CancellationToken) {
        let mut handlers = JoinSet::new();
        let stream = self.names.stream(step);
        while !shutdown.is_cancelled() {
            while handlers.try_join_next().is_some() {}
            let free = concurrency(step).saturating_sub(handlers.len());
            if free == 0 {
                tokio::select! {
                    _ = handlers.join_next() => {}
                    () = shutdown.cancelled() => break,
                }
                continue;
            }
            let received = tokio::select! {
                received = self.queue.receive(&stream, GROUP, &self.names.consumer, free, Duration::from_secs(1)) => received,
                () = shutdown.cancelled() => break,
            };
            let deliveries = match received {
                Ok(deliveries) => deliveries,
                Err(err) => {
                    tracing::warn!(stream, "cannot read the queue: {err}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            // At most `free`: the queue hands out no more than asked.
            for delivery in deliveries {
                let engine = Arc::clone(&self);
                let stream = stream.clone();
                handlers.spawn(async move { engine.deliver(step, &stream, delivery).await });
            }
        }
        handlers.shutdown().await;
    }

    /// Handles one message, keeping it while the work goes on, and acknowledges it once its
    /// work is kept.
    pub(super) async fn deliver(&self, step: Stage, stream: &str, delivery: Delivery) {
        let job_id = delivery.message.job_id;
        let handling = self.handle(step, &delivery);
        tokio::pin!(handling);
        let mut keep = tokio::time::interval(self.queue.options().visibility_timeout / 3);
        keep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        keep.tick().await;
        let handled = loop {
            tokio::select! {
                handled = &mut handling => break handled,
                _ = keep.tick() => {
                    let kept = self.queue.keep(stream, GROUP, &self.names.consumer, &delivery.id);
                    if let Err(err) = kept.await {
                        tracing::warn!(%job_id, "cannot keep a message; another consumer may take it: {err}");
                    }
                }
            }
        };
        let done = match handled {
            Ok(()) => true,
            Err(Stop::Failed(info)) => {
                tracing::warn!(%job_id, step = step.name(), code = %info.code, "job failed: {}", info.message);
                match self.store.job(job_id).await {
                    Ok(Some(job)) => self.end(&job, JobStatus::Failed, Some(info)).await.is_ok(),
                    Ok(None) => true,
                    Err(err) => {
                        tracing::warn!(%job_id, "cannot record the failure: {err}");
                        false
                    }
                }
            }
            Err(err) if delivery.deliveries >= self.queue.options().max_deliveries => {
                // Its last delivery: the message goes to the dead letters, the job fails.
                tracing::warn!(%job_id, step = step.name(), "giving up: {err}");
                let info = ErrorInfo::new(
                    "retries_exhausted",
                    format!(
                        "the {} step failed {} times, the last with: {err}; submit the job again once the service is healthy",
                        step.name(),
                        delivery.deliveries
                    ),
                );
                if let Ok(Some(job)) = self.store.job(job_id).await {
                    let _ = self.end(&job, JobStatus::Failed, Some(info)).await;
                }
                false
            }
            Err(err) => {
                tracing::warn!(%job_id, step = step.name(), deliveries = delivery.deliveries, "will retry: {err}");
                false
            }
        };
        if done && let Err(err) = self.queue.ack(stream, GROUP, &delivery.id).await {
            tracing::warn!(%job_id, "cannot acknowledge a message; it will come again: {err}");
        }
    }

    pub(super) async fn handle(&self, step: Stage, delivery: &Delivery) -> Result<(), Stop> {
        let Some(job) = self.store.job(delivery.message.job_id).await? else {
            tracing::warn!(job_id = %delivery.message.job_id, "a message for an unknown job, dropped");
            return Ok(());
        };
        if job.status.is_terminal() {
            return Ok(());
        }
        let redelivered = delivery.deliveries > 1;
        match step {
            Stage::Ingest => self.ingest(&job).await,
            Stage::Embed => self.embed(&job, &delivery.message, redelivered).await,
            Stage::Assemble | Stage::Generate => self.sequential(&job, step, redelivered).await,
            Stage::Pack => self.pack(&job, redelivered).await,
        }
    }

    /// Runs a step that follows another and precedes a third: does `work` when the job is in
    /// the step, then moves it on and queues the next step. A redelivered message whose job has
    /// moved on already queues the next step again, in case the first time died before.
    pub(super) async fn sequential(
        &self,
        job: &JobRecord,
        step: Stage,
        redelivered: bool,
    ) -> Result<(), Stop> {
        let Some(next) = step.next() else {
            return Ok(());
        };
        if job.status == step.status() {
            match step {
                Stage::Assemble => self.assemble(job).await?,
                _ => self.generate(job).await?,
            }
            if self.advance(job, step.status(), next.status()).await? {
                return Ok(self
                    .publish(next, job.job_id, next.name(), serde_json::Value::Null)
                    .await?);
            }
        }
        let now = self.store.job(job.job_id).await?.map(|j| j.status);
        if redelivered && now == Some(next.status()) {
            self.publish(next, job.job_id, next.name(), serde_json::Value::Null)
                .await?;
        }
        Ok(())
    }
}
