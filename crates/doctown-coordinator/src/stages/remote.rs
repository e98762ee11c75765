//! The stages on remote workers: each runner sends its contract's request to a [`WorkerPool`]
//! of the stage's workers and makes the output of the answer (or of the events streamed).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use doctown_common::{Artifact, JobId};
use doctown_contracts::assemble::{AssembleRequest, Assembled, AssemblyInput};
use doctown_contracts::embed::{EmbedRequest, Embedded};
use doctown_contracts::generate::{GenerateRequest, GenerationInput, Summaries};
use doctown_contracts::ingest::IngestRequest;
use doctown_contracts::pack::{Contents, PackRequest, Packed};
use doctown_contracts::{Assemble, Contract, Embed, Generate, Ingest, Pack, Sent};
use doctown_events::{Envelope, ErrorInfo, IngestCompleted, Payload, Stage};
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

    /// `input` kept in the store for a worker to read by reference, so the request stays
    /// small; `None` (the input then goes inline) when the store cannot take it.
    async fn stored(
        &self,
        stage: Stage,
        job_id: JobId,
        input: &impl serde::Serialize,
    ) -> Option<Artifact> {
        match put_json(self.storage.as_ref(), &job_id.to_string(), input).await {
            Ok(artifact) => Some(artifact),
            Err(err) => {
                tracing::warn!(
                    stage = stage.name(),
                    "cannot store a worker's input, sending it inline: {err}"
                );
                None
            }
        }
    }
}

/// Whether a worker refused an input sent by reference because it cannot read the
/// coordinator's store (it was not given the same one): the input is then sent inline.
fn unreadable(stage: Stage, err: &CallError) -> bool {
    let unreadable = matches!(err, CallError::Refused(info) if info.code == "storage_failed");
    if unreadable {
        tracing::info!(
            stage = stage.name(),
            "a worker cannot read the coordinator's store; sending the input inline"
        );
    }
    unreadable
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
    async fn run(&self, input: AssemblyInput, run: Run) -> Result<Assembled, StageError> {
        let job_id = run.emitter.job_id();
        if let Some(artifact) = self.stored(Assemble::STAGE, job_id, &input).await {
            let request = AssembleRequest::new(job_id, Sent::Stored(artifact));
            match self.pool.call::<Assemble>(&request).await {
                Err(err) if unreadable(Assemble::STAGE, &err) => {}
                answered => {
                    return Ok(Assembled {
                        files: input.files,
                        completed: answered?,
                    });
                }
            }
        }
        let request = AssembleRequest::new(job_id, Sent::Inline(input));
        let completed = self.pool.call::<Assemble>(&request).await?;
        Ok(Assembled {
            files: request.files.unwrap_or_default(),
            completed,
        })
    }
}

#[async_trait]
impl Runner<Generate> for Remote {
    async fn run(&self, input: GenerationInput, run: Run) -> Result<Summaries, StageError> {
        let job_id = run.emitter.job_id();
        let stored = self.stored(Generate::STAGE, job_id, &input).await;
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
        let mut streamed = None;
        if let Some(artifact) = stored {
            let request = GenerateRequest::new(job_id, Sent::Stored(artifact));
            let answered = run
                .cancel
                .run_until_cancelled(self.pool.stream::<Generate>(&request, &mut on_event))
                .await;
            // A refusal comes before any event: sent again inline, nothing is counted twice.
            match &answered {
                Some(Err(err)) if unreadable(Generate::STAGE, err) => {}
                _ => streamed = Some(answered),
            }
        }
        let streamed = match streamed {
            Some(streamed) => streamed,
            None => {
                let request = GenerateRequest::new(job_id, Sent::Inline(input));
                run.cancel
                    .run_until_cancelled(self.pool.stream::<Generate>(&request, &mut on_event))
                    .await
            }
        };
        let completed = self::outcome("generation", "generation.completed", streamed, outcome)?;
        Ok(Summaries {
            summaries,
            // The worker keeps its prompts.
            prompts: HashMap::new(),
            completed,
            // A worker writes summaries only; pages keep their offline text.
            prose: BTreeMap::new(),
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
