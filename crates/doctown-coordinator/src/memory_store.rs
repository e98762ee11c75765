//! The store in the process's memory, for `doctown serve`: the same contract as PostgreSQL's,
//! gone when the process stops.
//!
//! A process that runs job after job must not grow with them: a stage's results are forgotten
//! when its job ends, and only the [`FULL_STREAMS_KEPT`] most recently finished jobs keep their
//! whole event streams; older ones keep their `job.*` events (created, stage changes, failure,
//! completion), a few hundred bytes, so their streams still replay how they ended.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::Utc;
use doctown_common::JobId;
use doctown_events::{Envelope, ErrorInfo, JobStatus, Payload};

use crate::store::{DocpackRecord, JobRecord, JobStore, Kept, StoreError};

/// Jobs kept in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// Every job, in the order they were made.
    jobs: Vec<JobRecord>,
    index: HashMap<JobId, usize>,
    events: HashMap<JobId, Vec<Envelope>>,
    results: HashMap<(JobId, String, String), Vec<u8>>,
    docpacks: HashMap<JobId, DocpackRecord>,
    /// Finished jobs whose streams are still whole, the longest finished first.
    whole: VecDeque<JobId>,
}

/// How many finished jobs keep their whole event streams in memory; older ones keep their
/// `job.*` events only.
pub const FULL_STREAMS_KEPT: usize = 8;

/// Whether `envelope` stays when a finished job's stream is cut down.
fn kept_when_compacted(envelope: &Envelope) -> bool {
    matches!(
        envelope.payload,
        Payload::JobCreated(_)
            | Payload::JobStageChanged(_)
            | Payload::JobFailed(_)
            | Payload::JobCompleted(_)
    )
}

impl State {
    fn job_mut(&mut self, job_id: JobId) -> Option<&mut JobRecord> {
        let index = *self.index.get(&job_id)?;
        self.jobs.get_mut(index)
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change is made whole under the lock; a panic elsewhere leaves it consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn unknown(job_id: JobId) -> StoreError {
    StoreError::Malformed {
        what: "job",
        reason: format!("there is no job {job_id}"),
    }
}

impl JobStore for MemoryStore {
    async fn create_job(
        &self,
        job_id: JobId,
        repo_url: &str,
        git_ref: Option<&str>,
    ) -> Result<JobRecord, StoreError> {
        let now = Utc::now();
        let job = JobRecord {
            job_id,
            repo_url: repo_url.to_owned(),
            git_ref: git_ref.map(str::to_owned),
            commit_sha: None,
            status: JobStatus::Queued,
            stage: Some(JobStatus::Queued),
            error: None,
            cost_usd: 0.0,
            input_tokens: 0,
            output_tokens: 0,
            duration_ms: None,
            created_at: now,
            updated_at: now,
            completed_at: None,
        };
        let mut state = self.lock();
        let index = state.jobs.len();
        state.jobs.push(job.clone());
        state.index.insert(job_id, index);
        Ok(job)
    }

    async fn job(&self, job_id: JobId) -> Result<Option<JobRecord>, StoreError> {
        let state = self.lock();
        Ok(state.index.get(&job_id).map(|&i| state.jobs[i].clone()))
    }

    async fn jobs(&self, limit: u32, after: Option<JobId>) -> Result<Vec<JobRecord>, StoreError> {
        let state = self.lock();
        let end = match after {
            Some(after) => state.index.get(&after).copied().unwrap_or(0),
            None => state.jobs.len(),
        };
        Ok(state.jobs[..end]
            .iter()
            .rev()
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn unfinished_jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        Ok(self
            .lock()
            .jobs
            .iter()
            .filter(|job| !job.status.is_terminal())
            .cloned()
            .collect())
    }

    async fn transition(
        &self,
        job_id: JobId,
        from: JobStatus,
        to: JobStatus,
        error: Option<&ErrorInfo>,
    ) -> Result<bool, StoreError> {
        if from.transition(to).is_err() {
            return Ok(false);
        }
        let mut state = self.lock();
        let Some(job) = state.job_mut(job_id).filter(|job| job.status == from) else {
            return Ok(false);
        };
        let now = Utc::now();
        job.status = to;
        job.updated_at = now;
        if let Some(error) = error {
            job.error = Some(error.clone());
        }
        if to.is_terminal() {
            job.completed_at = Some(now);
            let took = (now - job.created_at).num_milliseconds();
            job.duration_ms = Some(u64::try_from(took).unwrap_or(0));
        } else {
            job.stage = Some(to);
        }
        Ok(true)
    }

    async fn set_commit(&self, job_id: JobId, commit_sha: &str) -> Result<(), StoreError> {
        let mut state = self.lock();
        let job = state.job_mut(job_id).ok_or_else(|| unknown(job_id))?;
        job.commit_sha = Some(commit_sha.to_owned());
        job.updated_at = Utc::now();
        Ok(())
    }

    async fn set_cost(
        &self,
        job_id: JobId,
        cost_usd: f64,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let job = state.job_mut(job_id).ok_or_else(|| unknown(job_id))?;
        job.cost_usd = cost_usd;
        job.input_tokens = input_tokens;
        job.output_tokens = output_tokens;
        job.updated_at = Utc::now();
        Ok(())
    }

    async fn append_events(
        &self,
        job_id: JobId,
        events: &mut [Envelope],
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        if !state.index.contains_key(&job_id) {
            return Err(unknown(job_id));
        }
        // A cut-down stream keeps its last event, so numbering goes on from it.
        let next = state
            .events
            .get(&job_id)
            .and_then(|stream| stream.last())
            .map_or(1, |last| last.sequence + 1);
        let stream = state.events.entry(job_id).or_default();
        for (envelope, sequence) in events.iter_mut().zip(next..) {
            envelope.sequence = sequence;
            stream.push(envelope.clone());
        }
        if events
            .iter()
            .any(|envelope| matches!(envelope.payload, Payload::JobCompleted(_)))
        {
            state.whole.push_back(job_id);
            while state.whole.len() > FULL_STREAMS_KEPT {
                let Some(oldest) = state.whole.pop_front() else {
                    break;
                };
                if let Some(stream) = state.events.get_mut(&oldest) {
                    stream.retain(kept_when_compacted);
                    stream.shrink_to_fit();
                }
            }
        }
        Ok(())
    }

    async fn events_after(
        &self,
        job_id: JobId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Envelope>, StoreError> {
        let state = self.lock();
        let stream = state.events.get(&job_id).map_or(&[][..], Vec::as_slice);
        // Sequences rise along the stream, with gaps where a finished stream was cut down.
        let start = stream.partition_point(|envelope| envelope.sequence <= after);
        Ok(stream[start..]
            .iter()
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn stream_end(&self, job_id: JobId) -> Result<Option<u64>, StoreError> {
        // `job.completed` is a job's last event, and a cut-down stream keeps it.
        Ok(self
            .lock()
            .events
            .get(&job_id)
            .and_then(|stream| stream.last())
            .filter(|last| matches!(last.payload, Payload::JobCompleted(_)))
            .map(|last| last.sequence))
    }

    async fn put_result(
        &self,
        job_id: JobId,
        stage: &str,
        key: &str,
        body: Vec<u8>,
    ) -> Result<Kept, StoreError> {
        let mut state = self.lock();
        let running = state
            .index
            .get(&job_id)
            .is_some_and(|&i| !state.jobs[i].status.is_terminal());
        if !running {
            return Ok(Kept::JobHadEnded);
        }
        state
            .results
            .entry((job_id, stage.to_owned(), key.to_owned()))
            .or_insert(body);
        Ok(Kept::Yes)
    }

    async fn results(
        &self,
        job_id: JobId,
        stage: &str,
        keys: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let state = self.lock();
        Ok(keys
            .iter()
            .map(|key| {
                state
                    .results
                    .get(&(job_id, stage.to_owned(), key.clone()))
                    .cloned()
            })
            .collect())
    }

    async fn count_results(
        &self,
        job_id: JobId,
        stage: &str,
        keys: &[String],
    ) -> Result<u64, StoreError> {
        let state = self.lock();
        Ok(keys
            .iter()
            .filter(|key| {
                state
                    .results
                    .contains_key(&(job_id, stage.to_owned(), (*key).clone()))
            })
            .count() as u64)
    }

    async fn clear_results(&self, job_id: JobId) -> Result<(), StoreError> {
        self.lock().results.retain(|(job, _, _), _| *job != job_id);
        Ok(())
    }

    async fn put_docpack(&self, job_id: JobId, docpack: &DocpackRecord) -> Result<(), StoreError> {
        self.lock()
            .docpacks
            .entry(job_id)
            .or_insert_with(|| docpack.clone());
        Ok(())
    }

    async fn docpack(&self, job_id: JobId) -> Result<Option<DocpackRecord>, StoreError> {
        Ok(self.lock().docpacks.get(&job_id).cloned())
    }
}
