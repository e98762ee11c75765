//! The stages on remote workers: each runner sends its contract's request to a [`WorkerPool`]
//! of the stage's workers and makes the output of the answer (or of the events streamed).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use doctown_contracts::assemble::{AssembleRequest, Assembled};
use doctown_contracts::embed::{EmbedRequest, Embedded};
use doctown_contracts::generate::{GenerateRequest, Summaries};
use doctown_contracts::ingest::IngestRequest;
use doctown_contracts::pack::{Contents, PackRequest, Packed};
use doctown_contracts::{Assemble, Embed, Generate, Ingest, Pack};
use doctown_events::{Envelope, ErrorInfo, IngestCompleted, Payload};
use doctown_storage::{Store, docpack_key, put_json};

use super::{Run, Runner, StageError};
use crate::workers::{CallError, WorkerPool};

/// A stage on its workers; packers share `storage` with the coordinator.
#[derive(Debug)]
pub(super) struct Remote {
    pool: Arc<WorkerPool>,
    storage: Arc<dyn Store>,
}

impl Remote {
    /// The stage on `pool`'s workers, sharing `storage`.
    pub(super) fn new(pool: Arc<WorkerPool>, storage: Arc<dyn Store>) -> Self {
        Self { pool, storage }
    }
}

/// What a streamed call to `stage`'s workers gave: nothing when `cancel`led (`streamed` is
/// `None`), its failure, or the outcome its `completion` event carried.
fn outcome<T>(
    stage: &str,
    completion: &str,
    streamed: Option<Result<(), CallError>>,
    outcome: Option<Result<T, ErrorInfo>>,
) -> Result<T, StageError> {
    match (streamed, outcome) {
        (None, _) => Err(StageError::Failed(ErrorInfo::new(
            "cancelled",
            "the job was cancelled",
        ))),
        (Some(Err(err)), _) => Err(err.into()),
        (Some(Ok(())), Some(outcome)) => outcome.map_err(StageError::Failed),
        (Some(Ok(())), None) => Err(StageError::Unavailable(format!(
            "the {stage} worker's stream ended before {completion}"
        ))),
    }
}

#[async_trait]
impl Runner<Ingest> for Remote {
    async fn run(&self, input: IngestRequest, run: Run) -> Result<IngestCompleted, StageError> {
        let request = IngestRequest {
            job_id: Some(run.emitter.job_id()),
            ..input
        };
        let mut outcome = None;
        let mut on_event = |envelope: Envelope| {
            if let Payload::IngestCompleted(completed) = &envelope.payload {
                outcome = Some(match &envelope.error {
                    Some(error) => Err(error.clone()),
                    None => Ok(completed.clone()),
                });
            }
            run.send(envelope);
        };
        let streamed = run
            .cancel
            .run_until_cancelled(self.pool.stream::<Ingest>(&request, &mut on_event))
            .await;
        self::outcome("ingest", "ingest.completed", streamed, outcome)
    }
}

#[async_trait]
impl Runner<Embed> for Remote {
    async fn run(&self, input: EmbedRequest, _run: Run) -> Result<Embedded, StageError> {
        let answer = self.pool.call::<Embed>(&input).await?;
        let vectors = answer.vectors_for(&input.chunks).ok_or_else(|| {
            StageError::Unavailable(
                "an embedding worker answered with vectors for other chunks".into(),
            )
        })?;
        Ok(Embedded { vectors, cached: 0 })
    }
}

#[async_trait]
impl Runner<Assemble> for Remote {
    async fn run(&self, input: AssembleRequest, _run: Run) -> Result<Assembled, StageError> {
        let completed = self.pool.call::<Assemble>(&input).await?;
        Ok(Assembled {
            files: input.files,
            completed,
        })
    }
}

#[async_trait]
impl Runner<Generate> for Remote {
    async fn run(&self, input: GenerateRequest, run: Run) -> Result<Summaries, StageError> {
        let request = GenerateRequest {
            job_id: Some(run.emitter.job_id()),
            ..input
        };
        let mut summaries = HashMap::new();
        let mut outcome = None;
        // The worker's events, but its completion: the coordinator sends that once the
        // summaries are kept.
        let mut on_event = |envelope: Envelope| match &envelope.payload {
            Payload::GenerationCompleted(completed) => {
                outcome = Some(match &envelope.error {
                    Some(error) => Err(error.clone()),
                    None => Ok(completed.clone()),
                });
            }
            Payload::GenerationSymbolDocumented(documented) => {
                summaries.insert(documented.symbol_id, documented.summary.clone());
                run.send(run.emitter.emit(documented.clone()));
            }
            Payload::GenerationStarted(started) => run.send(run.emitter.emit(started.clone())),
            _ => {}
        };
        let streamed = run
            .cancel
            .run_until_cancelled(self.pool.stream::<Generate>(&request, &mut on_event))
            .await;
        let completed = self::outcome("generation", "generation.completed", streamed, outcome)?;
        Ok(Summaries {
            summaries,
            // The worker keeps its prompts.
            prompts: HashMap::new(),
            completed,
        })
    }
}

/// A packer reads the contents from the store it shares with the coordinator (the request
/// carries their artifact's reference) and stores the docpack there.
#[async_trait]
impl Runner<Pack> for Remote {
    async fn run(&self, input: Contents, _run: Run) -> Result<Packed, StageError> {
        let storage = self.storage.as_ref();
        let contents = put_json(storage, &input.job_id.to_string(), &input.contents)
            .await
            .map_err(|err| StageError::Unavailable(err.to_string()))?;
        let request = PackRequest::by_reference(input.job_id, contents);
        let answer = self.pool.call::<Pack>(&request).await?;
        let packed = super::packed(answer, "the packer worker")?;
        let (docpack_id, checksum) = (&packed.docpack_id, &packed.checksum);
        let stored = storage.size(&docpack_key(checksum)).await.map_err(|err| {
            StageError::Unavailable(format!("cannot check the packer's docpack: {err}"))
        })?;
        match stored {
            Some(size) if size == packed.size_bytes => Ok(packed),
            Some(size) => Err(StageError::Failed(ErrorInfo::new(
                "storage_failed",
                format!(
                    "the packer worker said docpack {docpack_id} has {} bytes, but {size} are \
                     stored under its checksum; check that the packers and the coordinator \
                     share storage that nothing else writes to",
                    packed.size_bytes
                ),
            ))),
            None => Err(StageError::Failed(ErrorInfo::new(
                "storage_failed",
                format!(
                    "a packer worker stored docpack {docpack_id} where the coordinator cannot \
                     read it; give the packers and the coordinator the same storage (the same \
                     DOCTOWN_S3_* bucket, or the same DOCTOWN_STORAGE_DIR)"
                ),
            ))),
        }
    }
}
