//! The coordinator's engine: jobs moved through the stages over the queue.
//!
//! Each stage reads a stream of its own (`doctown:ingest`, `doctown:embed`, …). Ingest publishes
//! the chunks to the embedding stream in batches as it makes them; the last batch embedded
//! starts assembly, which starts generation, which starts packing. Every handler is idempotent:
//! what a stage made is kept under the job, the stage and the message's key before the job
//! moves on, so a redelivered message (its consumer died) finds the work done, and a job moves
//! only by a compare-and-set of its status ([`JobStore::transition`]). A message is acknowledged
//! only once its work is kept; a failure of the store or the queue leaves it pending, to be
//! delivered again.

mod consumer;
mod handlers;
mod lifecycle;
mod results;
mod running;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use doctown_common::JobId;
use doctown_events::{ErrorInfo, EventContext, EventEmitter, JobCreated, JobStatus, Stage};
use doctown_ingest::InvalidRequest;
use doctown_storage::Store;
use tokio_util::sync::CancellationToken;

use crate::events::EventLog;
use crate::queue::{DeadLetter, Queue, QueueError};
use crate::stages::Stages;
use crate::store::{JobRecord, JobStore, StoreError};

/// The `producer_version` of the coordinator's events.
const PRODUCER: &str = concat!("doctown-coordinator/", env!("CARGO_PKG_VERSION"));

/// The consumer group every coordinator reads the stage streams in.
pub const GROUP: &str = "doctown-coordinator";

/// Why a handler stopped.
#[derive(Debug, thiserror::Error)]
enum Stop {
    /// The stage failed: the job fails with this error.
    #[error("{}", .0.message)]
    Failed(ErrorInfo),
    /// The store or the queue failed: the message stays pending and comes again.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// No worker of a stage answered: the message stays pending and comes again.
    #[error("{0}")]
    Unavailable(String),
}

impl From<ErrorInfo> for Stop {
    fn from(info: ErrorInfo) -> Self {
        Stop::Failed(info)
    }
}

/// Why a job could not be submitted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The request is not a job this coordinator can run.
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Why a job could not be cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// No such job.
    #[error("there is no job {0}")]
    NotFound(JobId),
    /// It had ended already.
    #[error("job {0} has already {1}; only a running job can be cancelled")]
    Ended(JobId, JobStatus),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What replaying a dead letter did.
#[derive(Debug)]
pub enum Replayed {
    /// Its job had not ended: the message went back to its stream, to be handled again.
    Requeued,
    /// Its job had ended (failed, once its retries were spent): the same repository was
    /// submitted again as the job with this id.
    Resubmitted(JobId),
    /// Its job is not known here any more: the letter was dropped.
    Dropped,
}

/// Where an engine reads and who it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueNames {
    /// The streams' prefix (`doctown` reads `doctown:ingest`, `doctown:embed`, …): coordinators
    /// sharing one Redis for different fleets use different ones.
    pub namespace: String,
    /// This coordinator among the consumers of the group [`GROUP`].
    pub consumer: String,
}

impl QueueNames {
    /// The stream of `step`.
    pub fn stream(&self, step: Stage) -> String {
        format!("{}:{}", self.namespace, step.name())
    }
}

/// The coordinator's engine.
pub struct Engine<Q, S> {
    queue: Q,
    names: QueueNames,
    store: S,
    events: EventLog<S>,
    storage: Arc<dyn Store>,
    stages: Arc<Stages>,
    /// Each job with a stage running here: its token and how many handlers share it.
    running: Mutex<HashMap<JobId, (CancellationToken, usize)>>,
}

impl<Q, S> std::fmt::Debug for Engine<Q, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl<Q: Queue + 'static, S: JobStore> Engine<Q, S> {
    /// An engine over `queue` (its streams and consumer named by `names`), `store` and
    /// `storage`, running `stages` here.
    pub fn new(
        queue: Q,
        names: QueueNames,
        store: S,
        storage: Arc<dyn Store>,
        stages: Stages,
    ) -> Self {
        Self {
            queue,
            names,
            events: EventLog::new(store.clone()),
            store,
            storage,
            stages: Arc::new(stages),
            running: Mutex::new(HashMap::new()),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The event log.
    pub fn events(&self) -> &EventLog<S> {
        &self.events
    }

    /// Where docpacks are kept.
    pub fn storage(&self) -> &Arc<dyn Store> {
        &self.storage
    }

    fn emitter(job: &JobRecord) -> EventEmitter {
        let context = EventContext {
            repo_url: Some(job.repo_url.clone()),
            git_ref: job.git_ref.clone(),
            user_id: None,
        };
        EventEmitter::new(job.job_id, context, PRODUCER)
    }

    /// Records a job for `repo_url` at `git_ref` and queues its ingest.
    pub async fn submit(
        &self,
        repo_url: &str,
        git_ref: Option<&str>,
    ) -> Result<JobRecord, SubmitError> {
        self.stages.job(repo_url, git_ref)?;
        let job_id = JobId::generate();
        let job = self.store.create_job(job_id, repo_url, git_ref).await?;
        let created = Self::emitter(&job).emit(JobCreated {
            repo_url: repo_url.to_owned(),
            git_ref: git_ref.map(str::to_owned),
        });
        self.events.append(job_id, vec![created]).await?;
        self.publish(Stage::Ingest, job_id, "ingest", serde_json::Value::Null)
            .await?;
        tracing::info!(%job_id, repo_url, "job queued");
        Ok(job)
    }

    /// Every stage's dead letters (messages delivered too often without being acknowledged),
    /// oldest first within a stage.
    pub async fn dead_letters(&self) -> Result<Vec<(Stage, DeadLetter)>, QueueError> {
        let mut all = Vec::new();
        for stage in Stage::ALL {
            for letter in self.queue.dead_letters(&self.names.stream(stage)).await? {
                all.push((stage, letter));
            }
        }
        Ok(all)
    }

    /// Replays `letter`, a dead letter of `stage`, once the cause is fixed: a job still running
    /// gets the message back in its stream; an ended job's repository is submitted again as a
    /// new job. The letter is removed either way.
    pub async fn replay(&self, stage: Stage, letter: &DeadLetter) -> Result<Replayed, SubmitError> {
        let message = &letter.message;
        let replayed = match self.store.job(message.job_id).await? {
            None => Replayed::Dropped,
            Some(job) if !job.status.is_terminal() => {
                self.publish(stage, job.job_id, &message.key, message.body.clone())
                    .await?;
                Replayed::Requeued
            }
            Some(job) => {
                let again = self.submit(&job.repo_url, job.git_ref.as_deref()).await?;
                Replayed::Resubmitted(again.job_id)
            }
        };
        self.queue
            .remove_dead_letter(&self.names.stream(stage), &letter.id)
            .await?;
        tracing::info!(job_id = %message.job_id, stage = stage.name(), ?replayed, "dead letter replayed");
        Ok(replayed)
    }

    /// Cancels the job: it ends `cancelled`, and a stage running it here is stopped.
    pub async fn cancel(&self, job_id: JobId) -> Result<JobRecord, CancelError> {
        loop {
            let job = self
                .store
                .job(job_id)
                .await?
                .ok_or(CancelError::NotFound(job_id))?;
            if job.status.is_terminal() {
                return Err(CancelError::Ended(job_id, job.status));
            }
            let info = ErrorInfo::new("cancelled", "the job was cancelled");
            if self.end(&job, JobStatus::Cancelled, Some(info)).await? {
                if let Some(token) = self.token(job_id) {
                    token.cancel();
                }
                tracing::info!(%job_id, "job cancelled");
                return Ok(self.store.job(job_id).await?.unwrap_or(job));
            }
            // It moved meanwhile: look again.
        }
    }

    /// Ends the jobs this process can no longer finish because it is stopping: with a queue in
    /// memory (`doctown serve`), every unfinished job fails as `interrupted`, its stream ending
    /// with `job.failed` and `job.completed` as any failure's does, and its running stage is
    /// stopped. A durable queue keeps their messages for the next coordinator: nothing is done.
    /// Gives how many jobs were ended.
    pub async fn interrupt_unfinished(&self) -> Result<usize, StoreError> {
        if self.queue.durable() {
            return Ok(0);
        }
        let mut ended = 0;
        for job in self.store.unfinished_jobs().await? {
            let info = ErrorInfo::new(
                "interrupted",
                "the server stopped while the job ran, and its work was kept in memory; submit \
                 the job again",
            );
            if self.end(&job, JobStatus::Failed, Some(info)).await? {
                ended += 1;
            }
            if let Some(token) = self.token(job.job_id) {
                token.cancel();
            }
        }
        Ok(ended)
    }

    /// Picks up the jobs a stopped coordinator left unfinished. A durable queue (Redis) still
    /// holds their pending messages, which are delivered again; nothing is done here. A queue
    /// in memory lost them: jobs past embedding are queued again from what the store kept, and
    /// jobs that were being ingested (whose chunks were in flight) fail, saying to submit them
    /// again. Gives how many jobs were picked up.
    pub async fn resume(&self) -> Result<usize, SubmitError> {
        if self.queue.durable() {
            return Ok(0);
        }
        let jobs = self.store.unfinished_jobs().await?;
        for job in &jobs {
            let step = match job.status {
                JobStatus::Queued => Stage::Ingest,
                JobStatus::Ingesting | JobStatus::Embedding => {
                    let info = ErrorInfo::new(
                        "interrupted",
                        "the coordinator stopped while the job was being ingested, and its \
                         queue was in memory; submit the job again (with DOCTOWN_REDIS_URL set, \
                         jobs survive restarts)",
                    );
                    self.end(job, JobStatus::Failed, Some(info)).await?;
                    continue;
                }
                JobStatus::Assembling | JobStatus::Generating | JobStatus::Packing => {
                    match job.status.stage() {
                        Some(stage) => stage,
                        None => continue,
                    }
                }
                JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled => continue,
            };
            self.publish(step, job.job_id, step.name(), serde_json::Value::Null)
                .await?;
        }
        Ok(jobs.len())
    }
}
