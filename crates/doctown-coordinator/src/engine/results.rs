//! What the stages made for a job: artifacts in the store, their references in the job store
//! under the stage and a key, read back only as recorded.

use std::collections::HashSet;

use doctown_common::{Artifact, Chunk, ChunkId, JobId};
use doctown_contracts::ingest::Ingested;
use doctown_events::{ErrorInfo, Stage};
use doctown_storage::{StorageError, Store, artifacts_prefix, get_json, put_json};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::queue::Queue;
use crate::store::{JobStore, Kept, malformed};

use super::{Engine, Stop};

/// The batches ingest sent to embedding, in order, and the chunks they hold: kept last, so
/// its presence says ingest is done.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Batches {
    pub(super) keys: Vec<String>,
    pub(super) chunks: u64,
}

/// One batch of chunks with their vectors, as embedding kept it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct EmbeddedBatch {
    pub(super) chunks: Vec<Chunk>,
    pub(super) vectors: Vec<Vec<f32>>,
    pub(super) cached: u64,
}

/// Keeps `body` as what `stage` made for job `job_id` under `key`: the body as an artifact in
/// `storage`, its reference in `store`. When the job ended meanwhile (cancelled while its stage
/// ran), the artifact is removed again, with any other the job's end did not see.
async fn keep_result<S: JobStore>(
    store: &S,
    storage: &dyn Store,
    job_id: JobId,
    stage: Stage,
    key: &str,
    body: &impl Serialize,
) -> Result<(), Stop> {
    let scope = job_id.to_string();
    let artifact = put_json(storage, &scope, body)
        .await
        .map_err(|err| Stop::Unavailable(err.to_string()))?;
    let reference = serde_json::to_vec(&artifact).map_err(|err| malformed("stage result", err))?;
    match store
        .put_result(job_id, stage.name(), key, reference)
        .await?
    {
        Kept::Yes => {}
        // The job's end removed its artifacts once its status was final; this one may have
        // been written after that, but before this status was read.
        Kept::JobHadEnded => remove_artifacts(storage, job_id).await,
    }
    Ok(())
}

/// Removes every artifact of job `job_id` from `storage`, once the job has ended (the docpack
/// holds what was made); a failure leaves them to the store's own expiry rules, and ends
/// nothing.
pub(super) async fn remove_artifacts(storage: &dyn Store, job_id: JobId) {
    if let Err(err) = storage
        .remove_all(&artifacts_prefix(&job_id.to_string()))
        .await
    {
        tracing::warn!(%job_id, "cannot remove the job's artifacts: {err}");
    }
}

impl<Q: Queue + 'static, S: JobStore> Engine<Q, S> {
    /// Keeps `body` as what `stage` made for the job under `key` ([`keep_result`]).
    pub(super) async fn put_result(
        &self,
        job_id: JobId,
        stage: Stage,
        key: &str,
        body: &impl Serialize,
    ) -> Result<(), Stop> {
        keep_result(&self.store, self.storage.as_ref(), job_id, stage, key, body).await
    }

    /// What `stage` made for the job under `key`, if it has.
    pub(super) async fn result<T: DeserializeOwned>(
        &self,
        job_id: JobId,
        stage: Stage,
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
    pub(super) async fn has_result(
        &self,
        job_id: JobId,
        stage: Stage,
        key: &str,
    ) -> Result<bool, Stop> {
        let found = self.artifacts(job_id, stage, &[key.to_owned()]).await?;
        Ok(matches!(found.as_slice(), [Some(_)]))
    }

    /// The references of what `stage` made for the job under each of `keys`, in their order.
    pub(super) async fn artifacts(
        &self,
        job_id: JobId,
        stage: Stage,
        keys: &[String],
    ) -> Result<Vec<Option<Artifact>>, Stop> {
        let mut found = Vec::with_capacity(keys.len());
        for reference in self.store.results(job_id, stage.name(), keys).await? {
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
    pub(super) async fn load<T: DeserializeOwned>(&self, artifact: &Artifact) -> Result<T, Stop> {
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
    pub(super) async fn all_results<T: DeserializeOwned>(
        &self,
        job_id: JobId,
        stage: Stage,
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

    /// The batches ingest sent, once it is done.
    pub(super) async fn batches(&self, job_id: JobId) -> Result<Option<Batches>, Stop> {
        self.result(job_id, Stage::Ingest, "batches").await
    }

    /// The job's chunks and their vectors, in ingest's order, each chunk once (a batch sent
    /// twice by an ingest that ran twice counts once).
    pub(super) async fn gather(
        &self,
        job_id: JobId,
        keys: &[String],
    ) -> Result<(Vec<Chunk>, Vec<Vec<f32>>), Stop> {
        let batches: Vec<EmbeddedBatch> = self
            .all_results(job_id, Stage::Embed, keys)
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

    pub(super) async fn inputs(
        &self,
        job_id: JobId,
    ) -> Result<(Ingested, Vec<Chunk>, Vec<Vec<f32>>), Stop> {
        let missing = || ErrorInfo::new("internal", "ingest's result is missing");
        let batches = self.batches(job_id).await?.ok_or_else(missing)?;
        let ingested: Ingested = self
            .result(job_id, Stage::Ingest, "result")
            .await?
            .ok_or_else(missing)?;
        let (chunks, vectors) = self.gather(job_id, &batches.keys).await?;
        Ok((ingested, chunks, vectors))
    }
}

#[cfg(test)]
mod tests {
    use doctown_events::JobStatus;
    use doctown_storage::LocalStore;

    use super::*;
    use crate::MemoryStore;

    #[tokio::test]
    async fn what_a_stage_made_after_its_job_ended_is_not_left_in_the_store() {
        let folder = tempfile::tempdir().unwrap();
        let storage = LocalStore::new(folder.path()).unwrap();
        let store = MemoryStore::new();
        let job_id = JobId::generate();
        store
            .create_job(job_id, "https://github.com/o/r", None)
            .await
            .unwrap();
        let artifacts = folder.path().join("artifacts").join(job_id.to_string());

        keep_result(&store, &storage, job_id, Stage::Assemble, "a", &"made")
            .await
            .unwrap();
        assert!(artifacts.exists());
        let kept = store
            .results(job_id, Stage::Assemble.name(), &["a".to_owned()])
            .await;
        assert!(kept.unwrap()[0].is_some());

        // Cancelled while a stage ran: its end removed the artifacts, then the stage finished.
        store
            .transition(job_id, JobStatus::Queued, JobStatus::Cancelled, None)
            .await
            .unwrap();
        remove_artifacts(&storage, job_id).await;
        keep_result(&store, &storage, job_id, Stage::Assemble, "b", &"late")
            .await
            .unwrap();
        assert!(!artifacts.exists(), "{} is left", artifacts.display());
    }
}
