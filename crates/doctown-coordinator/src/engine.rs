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

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use doctown_assembly::progress;
use doctown_common::{Artifact, Chunk, ChunkId, JobId};
use doctown_contracts::assemble::{Assembled, AssemblyInput, EmbeddedChunk};
use doctown_contracts::embed::{ChunkText, EmbedRequest};
use doctown_contracts::generate::{GenerationInput, Summaries};
use doctown_contracts::ingest::{FileSizes, IngestRequest, Ingested};
use doctown_contracts::pack::Contents;
use doctown_embedding::MODEL_ID;
use doctown_events::{
    AssemblyCompleted, AssemblyStarted, BatchCompleted, BatchStarted, Completion,
    EmbeddingCompleted, Envelope, ErrorInfo, EventContext, EventEmitter, GenerationCompleted,
    JobCompleted, JobCreated, JobFailed, JobStatus, PackCompleted, PackStarted, Payload, PublicLog,
    Stage, StageChanged,
};
use doctown_ingest::InvalidRequest;
use doctown_pipeline::{PackInput, docpack_contents, symbol_inputs};
use doctown_storage::{StorageError, Store, artifacts_prefix, docpack_key, get_json, put_json};
use doctown_worker::Readiness;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::events::EventLog;
use crate::queue::{DeadLetter, Delivery, Message, Queue, QueueError};
use crate::stages::{Run, StageError, Stages};
use crate::store::{DocpackRecord, JobRecord, JobStore, StoreError, malformed};

/// The `producer_version` of the coordinator's events.
const PRODUCER: &str = concat!("doctown-coordinator/", env!("CARGO_PKG_VERSION"));

/// The consumer group every coordinator reads the stage streams in.
pub const GROUP: &str = "doctown-coordinator";

/// Chunks per message from ingest to embedding.
const BATCH_CHUNKS: usize = 64;

/// Messages of `stage` handled at once by one coordinator: downloads and model calls overlap;
/// the CPU-bound stages take turns.
fn concurrency(stage: Stage) -> usize {
    match stage {
        Stage::Ingest | Stage::Generate => 4,
        Stage::Embed | Stage::Assemble | Stage::Pack => 1,
    }
}

/// The batches ingest sent to embedding, in order, and the chunks they hold: kept last, so
/// its presence says ingest is done.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Batches {
    keys: Vec<String>,
    chunks: u64,
}

/// One batch of chunks with their vectors, as embedding kept it.
#[derive(Debug, Serialize, Deserialize)]
struct EmbeddedBatch {
    chunks: Vec<Chunk>,
    vectors: Vec<Vec<f32>>,
    cached: u64,
}

/// The body of an embedding message: where its batch of chunks is kept (a message carries a
/// reference, not the text).
#[derive(Debug, Serialize, Deserialize)]
struct EmbedWork {
    chunks: Artifact,
}

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
    running: Mutex<HashMap<JobId, CancellationToken>>,
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

/// The key of a batch of chunks: the hash of their ids, so the same batch has the same key.
fn batch_key(chunks: &[Chunk]) -> String {
    let mut hash = Sha256::new();
    for chunk in chunks {
        hash.update(chunk.chunk_id.to_string().as_bytes());
    }
    hash.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs blocking `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ErrorInfo> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| ErrorInfo::new("internal", format!("a stage's thread failed: {err}")))
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

    /// Keeps `body` as what `stage` made for the job under `key`: the body as an artifact in
    /// the store, its reference in the job store.
    async fn put_result(
        &self,
        job_id: JobId,
        stage: &str,
        key: &str,
        body: &impl Serialize,
    ) -> Result<(), Stop> {
        let artifact = put_json(self.storage.as_ref(), &job_id.to_string(), body)
            .await
            .map_err(|err| Stop::Unavailable(err.to_string()))?;
        let reference =
            serde_json::to_vec(&artifact).map_err(|err| malformed("stage result", err))?;
        Ok(self.store.put_result(job_id, stage, key, reference).await?)
    }

    /// What `stage` made for the job under `key`, if it has.
    async fn result<T: DeserializeOwned>(
        &self,
        job_id: JobId,
        stage: &str,
        key: &str,
    ) -> Result<Option<T>, Stop> {
        let Some(artifact) = self
            .artifacts(job_id, stage, &[key.to_owned()])
            .await?
            .pop()
        else {
            return Ok(None);
        };
        match artifact {
            Some(artifact) => Ok(Some(self.load(&artifact).await?)),
            None => Ok(None),
        }
    }

    /// Whether `stage` made something for the job under `key`.
    async fn has_result(&self, job_id: JobId, stage: &str, key: &str) -> Result<bool, Stop> {
        let found = self.artifacts(job_id, stage, &[key.to_owned()]).await?;
        Ok(matches!(found.as_slice(), [Some(_)]))
    }

    /// The references of what `stage` made for the job under each of `keys`, in their order.
    async fn artifacts(
        &self,
        job_id: JobId,
        stage: &str,
        keys: &[String],
    ) -> Result<Vec<Option<Artifact>>, Stop> {
        let mut found = Vec::with_capacity(keys.len());
        for reference in self.store.results(job_id, stage, keys).await? {
            found.push(
                reference
                    .map(|body| {
                        serde_json::from_slice(&body).map_err(|err| malformed("stage result", err))
                    })
                    .transpose()?,
            );
        }
        Ok(found)
    }

    /// The value of `artifact`; a failure of the store leaves the message pending, to come
    /// again.
    async fn load<T: DeserializeOwned>(&self, artifact: &Artifact) -> Result<T, Stop> {
        get_json(self.storage.as_ref(), artifact)
            .await
            .map_err(|err| match err {
                StorageError::Missing { .. }
                | StorageError::Malformed { .. }
                | StorageError::Mismatch { .. } => {
                    Stop::Failed(ErrorInfo::new("internal", err.to_string()))
                }
                other => Stop::Unavailable(other.to_string()),
            })
    }

    /// What `stage` made for the job under each of `keys`, in their order; `None` when one is
    /// missing.
    async fn all_results<T: DeserializeOwned>(
        &self,
        job_id: JobId,
        stage: &str,
        keys: &[String],
    ) -> Result<Option<Vec<T>>, Stop> {
        let mut all = Vec::with_capacity(keys.len());
        for artifact in self.artifacts(job_id, stage, keys).await? {
            let Some(artifact) = artifact else {
                return Ok(None);
            };
            all.push(self.load(&artifact).await?);
        }
        Ok(Some(all))
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

    fn token(&self, job_id: JobId) -> Option<CancellationToken> {
        self.running
            .lock()
            .ok()
            .and_then(|running| running.get(&job_id).cloned())
    }

    /// A token cancelled when the job is; forgotten when the guard is dropped.
    fn track(&self, job_id: JobId) -> (CancellationToken, Untrack<'_, Q, S>) {
        let token = CancellationToken::new();
        if let Ok(mut running) = self.running.lock() {
            running.insert(job_id, token.clone());
        }
        (
            token,
            Untrack {
                engine: self,
                job_id,
            },
        )
    }

    async fn publish(
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
    async fn advance(
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
    async fn end(
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
        // The job's artifacts go with it (the docpack holds what was made); a failure here
        // leaves them for the store's own expiry rules, and ends nothing.
        let prefix = artifacts_prefix(&job.job_id.to_string());
        if let Err(err) = self.storage.remove_all(&prefix).await {
            tracing::warn!(job_id = %job.job_id, "cannot remove the job's artifacts: {err}");
        }
        Ok(true)
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

    async fn consume(self: Arc<Self>, step: Stage, shutdown: CancellationToken) {
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
    async fn deliver(&self, step: Stage, stream: &str, delivery: Delivery) {
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

    async fn handle(&self, step: Stage, delivery: &Delivery) -> Result<(), Stop> {
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
    async fn sequential(
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

    async fn ingest(&self, job: &JobRecord) -> Result<(), Stop> {
        match job.status {
            JobStatus::Queued => {
                self.advance(job, JobStatus::Queued, JobStatus::Ingesting)
                    .await?;
            }
            JobStatus::Ingesting => {}
            // Done before: the embedding that followed is under way.
            _ => return Ok(()),
        }
        if self.batches(job.job_id).await?.is_none() {
            self.run_ingest(job).await?;
        }
        if self
            .advance(job, JobStatus::Ingesting, JobStatus::Embedding)
            .await?
        {
            self.finish_embedding(job, false).await?;
        }
        Ok(())
    }

    async fn run_ingest(&self, job: &JobRecord) -> Result<(), Stop> {
        let (cancel, _untrack) = self.track(job.job_id);
        let (run, mut received) = Run::new(Self::emitter(job), cancel);
        let request = IngestRequest {
            repo_url: job.repo_url.clone(),
            git_ref: job.git_ref.clone(),
            job_id: Some(job.job_id),
        };
        let ingesting = self.stages.ingest.run(request, run);
        let progress = Self::emitter(job);
        let (events, writer) = self.events.writer(job.job_id);
        let mut batches = Batches::default();
        let mut files = Vec::new();
        let mut sizes = FileSizes::new();
        // What ingest reports is gathered here, wherever it ran: the files, and the chunks, on
        // to embedding a batch at a time.
        let forwarding = async {
            let mut batch = Vec::with_capacity(BATCH_CHUNKS);
            let mut publish = async |chunks: Vec<Chunk>| -> Result<(), Stop> {
                let key = batch_key(&chunks);
                let count = chunks.len() as u64;
                let chunks = put_json(self.storage.as_ref(), &job.job_id.to_string(), &chunks)
                    .await
                    .map_err(|err| Stop::Unavailable(err.to_string()))?;
                let body = serde_json::to_value(EmbedWork { chunks })
                    .map_err(|err| ErrorInfo::new("internal", err.to_string()))?;
                self.publish(Stage::Embed, job.job_id, &key, body).await?;
                batches.keys.push(key);
                batches.chunks += count;
                Ok(())
            };
            // The job's log gets progress; the files and chunks stay here.
            let mut public = PublicLog::default();
            while let Some(envelope) = received.recv().await {
                match &envelope.payload {
                    Payload::IngestFileDetected(file) => {
                        sizes.insert(file.path.clone(), (file.size_bytes, file.language));
                    }
                    Payload::IngestFileParsed(file) => files.push(file.clone()),
                    Payload::IngestChunkCreated(chunk) => batch.push(chunk.clone()),
                    _ => {}
                }
                for event in public.admit(envelope, &progress, Instant::now()) {
                    let _ = events.send(event);
                }
                if batch.len() == BATCH_CHUNKS {
                    publish(std::mem::take(&mut batch)).await?;
                }
            }
            if !batch.is_empty() {
                publish(batch).await?;
            }
            Ok::<(), Stop>(())
        };
        let (completed, forwarded) = tokio::join!(ingesting, forwarding);
        drop(events);
        writer
            .await
            .map_err(|err| ErrorInfo::new("internal", err.to_string()))??;
        forwarded?;
        let completed = match completed {
            Ok(completed) => completed,
            Err(StageError::Unavailable(reason)) => return Err(Stop::Unavailable(reason)),
            // Ingest's own stream ended with its failed completion.
            Err(StageError::Failed(info)) => return Err(Stop::Failed(info)),
        };
        if let Some(commit) = &completed.commit_sha {
            self.store.set_commit(job.job_id, commit).await?;
        }
        let ingested = Ingested {
            files,
            sizes,
            completed,
        };
        self.put_result(job.job_id, "ingest", "result", &ingested)
            .await?;
        // Written last: its presence says ingest is done.
        self.put_result(job.job_id, "ingest", "batches", &batches)
            .await?;
        Ok(())
    }

    async fn embed(
        &self,
        job: &JobRecord,
        message: &Message,
        redelivered: bool,
    ) -> Result<(), Stop> {
        if !self.has_result(job.job_id, "embed", &message.key).await? {
            let work: EmbedWork = serde_json::from_value(message.body.clone())
                .map_err(|err| ErrorInfo::new("internal", format!("a malformed batch: {err}")))?;
            let emitter = Self::emitter(job);
            let started = Instant::now();
            let chunks: Vec<Chunk> = self.load(&work.chunks).await?;
            let chunk_count = chunks.len() as u64;
            self.events
                .append(
                    job.job_id,
                    vec![emitter.emit(BatchStarted {
                        batch_id: message.key.clone(),
                        chunk_count,
                    })],
                )
                .await?;
            let request = EmbedRequest {
                batch_id: message.key.clone(),
                job_id: Some(job.job_id),
                chunks: chunks.iter().map(ChunkText::from).collect(),
            };
            // Embedding streams nothing: its events are made here, around the call.
            let (run, _events) = Run::new(Self::emitter(job), CancellationToken::new());
            let batch = match self.stages.embed.run(request, run).await {
                Ok(embedded) => EmbeddedBatch {
                    chunks,
                    vectors: embedded.vectors,
                    cached: embedded.cached,
                },
                Err(StageError::Unavailable(reason)) => return Err(Stop::Unavailable(reason)),
                Err(StageError::Failed(info)) => {
                    return Err(self.stage_failed::<EmbeddingCompleted>(job, info).await);
                }
            };
            self.put_result(job.job_id, "embed", &message.key, &batch)
                .await?;
            let completed = emitter.emit(BatchCompleted {
                batch_id: message.key.clone(),
                chunk_count,
                cached_count: batch.cached,
                model: MODEL_ID.into(),
                duration_ms: millis(started.elapsed()),
                vectors: Vec::new(),
            });
            self.events.append(job.job_id, vec![completed]).await?;
        }
        self.finish_embedding(job, redelivered).await
    }

    /// When ingest is done and every batch it sent is embedded, ends embedding and queues
    /// assembly (again, on a redelivery, in case the first time died before).
    async fn finish_embedding(&self, job: &JobRecord, redelivered: bool) -> Result<(), Stop> {
        let Some(batches) = self.batches(job.job_id).await? else {
            return Ok(());
        };
        let embedded = self
            .store
            .count_results(job.job_id, "embed", &batches.keys)
            .await?;
        if embedded < batches.keys.len() as u64 {
            return Ok(());
        }
        let moved = self
            .store
            .transition(
                job.job_id,
                JobStatus::Embedding,
                JobStatus::Assembling,
                None,
            )
            .await?;
        if moved {
            let emitter = Self::emitter(job);
            let completed = EmbeddingCompleted {
                batch_count: batches.keys.len() as u64,
                chunk_count: batches.chunks,
                ..EmbeddingCompleted::default()
            };
            let events = vec![
                emitter.finish(completed, Ok(())),
                emitter.emit(StageChanged {
                    from: JobStatus::Embedding,
                    to: JobStatus::Assembling,
                }),
            ];
            self.events.append(job.job_id, events).await?;
        } else if !redelivered
            || self.store.job(job.job_id).await?.map(|j| j.status) != Some(JobStatus::Assembling)
        {
            return Ok(());
        }
        self.publish(
            Stage::Assemble,
            job.job_id,
            "assemble",
            serde_json::Value::Null,
        )
        .await?;
        Ok(())
    }

    /// The batches ingest sent, once it is done.
    async fn batches(&self, job_id: JobId) -> Result<Option<Batches>, Stop> {
        self.result(job_id, "ingest", "batches").await
    }

    /// The job's chunks and their vectors, in ingest's order, each chunk once (a batch sent
    /// twice by an ingest that ran twice counts once).
    async fn gather(
        &self,
        job_id: JobId,
        keys: &[String],
    ) -> Result<(Vec<Chunk>, Vec<Vec<f32>>), Stop> {
        let batches: Vec<EmbeddedBatch> = self
            .all_results(job_id, "embed", keys)
            .await?
            .ok_or_else(|| ErrorInfo::new("internal", "an embedded batch is missing"))?;
        let mut seen: HashSet<ChunkId> = HashSet::new();
        let mut chunks = Vec::new();
        let mut vectors = Vec::new();
        for batch in batches {
            for (chunk, vector) in batch.chunks.into_iter().zip(batch.vectors) {
                if seen.insert(chunk.chunk_id) {
                    chunks.push(chunk);
                    vectors.push(vector);
                }
            }
        }
        Ok((chunks, vectors))
    }

    async fn inputs(&self, job_id: JobId) -> Result<(Ingested, Vec<Chunk>, Vec<Vec<f32>>), Stop> {
        let missing = || ErrorInfo::new("internal", "ingest's result is missing");
        let batches = self.batches(job_id).await?.ok_or_else(missing)?;
        let ingested: Ingested = self
            .result(job_id, "ingest", "result")
            .await?
            .ok_or_else(missing)?;
        let (chunks, vectors) = self.gather(job_id, &batches.keys).await?;
        Ok((ingested, chunks, vectors))
    }

    async fn assemble(&self, job: &JobRecord) -> Result<(), Stop> {
        if self.has_result(job.job_id, "assemble", "result").await? {
            return Ok(());
        }
        let (ingested, chunks, vectors) = self.inputs(job.job_id).await?;
        let emitter = Self::emitter(job);
        let started = Instant::now();
        self.events
            .append(
                job.job_id,
                vec![emitter.emit(AssemblyStarted {
                    chunk_count: chunks.len() as u64,
                    symbol_count: ingested.files.iter().map(|f| f.symbols.len() as u64).sum(),
                })],
            )
            .await?;
        let request = AssemblyInput {
            files: ingested.files,
            chunks: chunks
                .iter()
                .zip(vectors)
                .map(|(chunk, vector)| EmbeddedChunk::new(chunk, vector))
                .collect(),
        };
        drop(chunks);
        let (run, _events) = Run::new(Self::emitter(job), CancellationToken::new());
        let assembled = match self.stages.assemble.run(request, run).await {
            Ok(assembled) => assembled,
            Err(StageError::Unavailable(reason)) => return Err(Stop::Unavailable(reason)),
            Err(StageError::Failed(info)) => {
                return Err(self.stage_failed::<AssemblyCompleted>(job, info).await);
            }
        };
        let result = &assembled.completed;
        let graph = result.graph.clone().unwrap_or_default();
        let (clusters, graph_completed) = progress(&result.clusters, &graph);
        let mut events: Vec<Envelope> = clusters.into_iter().map(|c| emitter.emit(c)).collect();
        events.push(emitter.emit(graph_completed));
        // The stream carries the counts; the result itself is kept for the next stages.
        let summary = AssemblyCompleted {
            cluster_count: result.cluster_count,
            node_count: result.node_count,
            edge_count: result.edge_count,
            duration_ms: millis(started.elapsed()),
            ..AssemblyCompleted::default()
        };
        events.push(emitter.finish(summary, Ok(())));
        self.put_result(job.job_id, "assemble", "result", &assembled)
            .await?;
        self.events.append(job.job_id, events).await?;
        Ok(())
    }

    /// Ends the stage's stream with a failed completion, and gives the failure.
    async fn stage_failed<C: Completion + Default>(
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

    async fn generate(&self, job: &JobRecord) -> Result<(), Stop> {
        if self.has_result(job.job_id, "generate", "result").await? {
            return Ok(());
        }
        let batches = self
            .batches(job.job_id)
            .await?
            .ok_or_else(|| ErrorInfo::new("internal", "ingest's result is missing"))?;
        let (chunks, _) = self.gather(job.job_id, &batches.keys).await?;
        let assembled: Assembled = self
            .result(job.job_id, "assemble", "result")
            .await?
            .ok_or_else(|| ErrorInfo::new("internal", "assembly's result is missing"))?;
        let symbols = symbol_inputs(&chunks, &assembled.completed.symbol_contexts);
        drop(chunks);
        let emitter = Self::emitter(job);
        let (events, writer) = self.events.writer(job.job_id);
        let (cancel, _untrack) = self.track(job.job_id);
        let (run, mut received) = Run::new(Self::emitter(job), cancel);
        let request = GenerationInput { symbols };
        let documenting = self.stages.generate.run(request, run);
        // The job's log gets progress with the running cost; the summaries are kept below.
        let forwarding = async {
            let mut public = PublicLog::default();
            while let Some(envelope) = received.recv().await {
                for event in public.admit(envelope, &emitter, Instant::now()) {
                    let _ = events.send(event);
                }
            }
            for event in public.flush_generation(&emitter, Instant::now()) {
                let _ = events.send(event);
            }
        };
        let (summaries, ()) = tokio::join!(documenting, forwarding);
        drop(events);
        writer
            .await
            .map_err(|err| ErrorInfo::new("internal", err.to_string()))??;
        let summaries: Summaries = match summaries {
            Ok(summaries) => summaries,
            Err(StageError::Unavailable(reason)) => return Err(Stop::Unavailable(reason)),
            Err(StageError::Failed(info)) => {
                return Err(self.stage_failed::<GenerationCompleted>(job, info).await);
            }
        };
        let totals = &summaries.completed;
        self.store
            .set_cost(
                job.job_id,
                totals.cost_usd,
                totals.input_tokens,
                totals.output_tokens,
            )
            .await?;
        self.put_result(job.job_id, "generate", "result", &summaries)
            .await?;
        let completed = emitter.finish(summaries.completed.clone(), Ok(()));
        self.events.append(job.job_id, vec![completed]).await?;
        Ok(())
    }

    async fn pack(&self, job: &JobRecord, redelivered: bool) -> Result<(), Stop> {
        if job.status != JobStatus::Packing {
            return Ok(());
        }
        if self.store.docpack(job.job_id).await?.is_none() {
            self.write_pack(job).await?;
        } else if !redelivered {
            return Ok(());
        }
        self.end(job, JobStatus::Completed, None).await?;
        Ok(())
    }

    async fn write_pack(&self, job: &JobRecord) -> Result<(), Stop> {
        let (ingested, chunks, vectors) = self.inputs(job.job_id).await?;
        let missing =
            |what: &str| ErrorInfo::new("internal", format!("{what}'s result is missing"));
        let assembled: Assembled = self
            .result(job.job_id, "assemble", "result")
            .await?
            .ok_or_else(|| missing("assembly"))?;
        let summaries: Summaries = self
            .result(job.job_id, "generate", "result")
            .await?
            .ok_or_else(|| missing("generation"))?;
        let ingest_job = self
            .stages
            .job(&job.repo_url, job.git_ref.as_deref())
            .map_err(|err| ErrorInfo::new("invalid_request", err.to_string()))?;
        let emitter = Self::emitter(job);
        let started = Instant::now();
        self.events
            .append(
                job.job_id,
                vec![emitter.emit(PackStarted {
                    symbol_count: assembled.files.iter().map(|f| f.symbols.len() as u64).sum(),
                    chunk_count: chunks.len() as u64,
                })],
            )
            .await?;
        let contents = blocking(move || {
            docpack_contents(PackInput {
                job: &ingest_job,
                ingest: &ingested.completed,
                sizes: &ingested.sizes,
                chunks: &chunks,
                vectors,
                files: &assembled.files,
                assembled: &assembled.completed,
                summaries: &summaries.summaries,
                prompts: summaries.prompts,
            })
        })
        .await?;
        let contents = Contents {
            job_id: job.job_id,
            contents,
        };
        let (run, _events) = Run::new(Self::emitter(job), CancellationToken::new());
        let pack = match self.stages.pack.run(contents, run).await {
            Ok(pack) => pack,
            Err(StageError::Unavailable(reason)) => return Err(Stop::Unavailable(reason)),
            Err(StageError::Failed(info)) => {
                return Err(self.stage_failed::<PackCompleted>(job, info).await);
            }
        };
        self.store
            .put_docpack(
                job.job_id,
                &DocpackRecord {
                    docpack_id: pack.docpack_id.clone(),
                    storage_key: docpack_key(&pack.checksum),
                    checksum: pack.checksum.clone(),
                    size_bytes: pack.size_bytes,
                },
            )
            .await?;
        let completed = PackCompleted {
            docpack_id: Some(pack.docpack_id),
            checksum: Some(pack.checksum),
            size_bytes: pack.size_bytes,
            url: Some(format!("/jobs/{}/docpack", job.job_id)),
            duration_ms: millis(started.elapsed()),
        };
        self.events
            .append(job.job_id, vec![emitter.finish(completed, Ok(()))])
            .await?;
        Ok(())
    }
}

/// Forgets a job's cancellation token when dropped.
struct Untrack<'a, Q, S> {
    engine: &'a Engine<Q, S>,
    job_id: JobId,
}

impl<Q, S> Drop for Untrack<'_, Q, S> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.engine.running.lock() {
            running.remove(&self.job_id);
        }
    }
}
