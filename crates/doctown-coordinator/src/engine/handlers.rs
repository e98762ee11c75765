//! One handler per stage: its input loaded, its runner run, its output kept, the job moved on.

use std::time::Instant;

use doctown_assembly::progress;
use doctown_common::{Artifact, Chunk, JobId};
use doctown_contracts::assemble::{Assembled, AssemblyInput, EmbeddedChunk};
use doctown_contracts::embed::{ChunkText, EmbedRequest};
use doctown_contracts::generate::{GenerationInput, Summaries};
use doctown_contracts::ingest::{FileSizes, IngestRequest, Ingested};
use doctown_contracts::pack::Contents;
use doctown_embedding::MODEL_ID;
use doctown_events::{
    AssemblyCompleted, AssemblyStarted, BatchCompleted, BatchStarted, EmbeddingCompleted, Envelope,
    ErrorInfo, JobStatus, PackCompleted, PackStarted, Payload, Stage, StageChanged,
};
use doctown_pipeline::{PackInput, docpack_contents, prose_tasks_of, symbol_inputs};
use doctown_storage::{docpack_key, put_json};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::queue::{Message, Queue};
use crate::store::{DocpackRecord, JobRecord, JobStore};

use super::results::{Batches, EmbeddedBatch};
use super::{Engine, Stop, millis};

/// Chunks per message from ingest to embedding.
const BATCH_CHUNKS: usize = 64;

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

/// The body of an embedding message: where its batch of chunks is kept (a message carries a
/// reference, not the text).
#[derive(Debug, Serialize, Deserialize)]
struct EmbedWork {
    chunks: Artifact,
}

impl<Q: Queue + 'static, S: JobStore> Engine<Q, S> {
    /// Keeps `chunks` (job `job_id`'s) as an artifact and queues their embedding, counting
    /// them in `batches`.
    async fn send_batch(
        &self,
        job_id: JobId,
        chunks: Vec<Chunk>,
        batches: &mut Batches,
    ) -> Result<(), Stop> {
        let key = batch_key(&chunks);
        let count = chunks.len() as u64;
        let chunks = put_json(self.storage.as_ref(), &job_id.to_string(), &chunks)
            .await
            .map_err(|err| Stop::Unavailable(err.to_string()))?;
        let body = serde_json::to_value(EmbedWork { chunks })
            .map_err(|err| ErrorInfo::new("internal", err.to_string()))?;
        self.publish(Stage::Embed, job_id, &key, body).await?;
        batches.keys.push(key);
        batches.chunks += count;
        Ok(())
    }

    pub(super) async fn ingest(&self, job: &JobRecord) -> Result<(), Stop> {
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

    pub(super) async fn run_ingest(&self, job: &JobRecord) -> Result<(), Stop> {
        let request = IngestRequest {
            repo_url: job.repo_url.clone(),
            git_ref: job.git_ref.clone(),
            job_id: Some(job.job_id),
        };
        let mut batches = Batches::default();
        let mut batch = Vec::with_capacity(BATCH_CHUNKS);
        let mut files = Vec::new();
        let mut sizes = FileSizes::new();
        // What ingest reports is gathered here, wherever it ran: the files, and the chunks, on
        // to embedding a batch at a time; the job's log gets progress only.
        let mut ingest = self.start(job, self.stages.ingest.as_ref(), request);
        while let Some(envelope) = ingest.next().await {
            match envelope.payload {
                Payload::IngestFileDetected(file) => {
                    sizes.insert(file.path, (file.size_bytes, file.language));
                }
                Payload::IngestFileParsed(file) => files.push(file),
                Payload::IngestChunkCreated(chunk) => batch.push(chunk),
                _ => {}
            }
            if batch.len() == BATCH_CHUNKS {
                let full = std::mem::take(&mut batch);
                self.send_batch(job.job_id, full, &mut batches).await?;
            }
        }
        let completed = ingest.finish().await?;
        if !batch.is_empty() {
            self.send_batch(job.job_id, batch, &mut batches).await?;
        }
        if let Some(commit) = &completed.commit_sha {
            self.store.set_commit(job.job_id, commit).await?;
        }
        let ingested = Ingested {
            files,
            sizes,
            completed,
        };
        self.put_result(job.job_id, Stage::Ingest, "result", &ingested)
            .await?;
        // Written last: its presence says ingest is done.
        self.put_result(job.job_id, Stage::Ingest, "batches", &batches)
            .await?;
        Ok(())
    }

    pub(super) async fn embed(
        &self,
        job: &JobRecord,
        message: &Message,
        redelivered: bool,
    ) -> Result<(), Stop> {
        if !self
            .has_result(job.job_id, Stage::Embed, &message.key)
            .await?
        {
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
            let embedded = self
                .run_stage(job, self.stages.embed.as_ref(), request)
                .await?;
            let batch = EmbeddedBatch {
                chunks,
                vectors: embedded.vectors,
                cached: embedded.cached,
            };
            self.put_result(job.job_id, Stage::Embed, &message.key, &batch)
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
    pub(super) async fn finish_embedding(
        &self,
        job: &JobRecord,
        redelivered: bool,
    ) -> Result<(), Stop> {
        let Some(batches) = self.batches(job.job_id).await? else {
            return Ok(());
        };
        let embedded = self
            .store
            .count_results(job.job_id, Stage::Embed.name(), &batches.keys)
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

    pub(super) async fn assemble(&self, job: &JobRecord) -> Result<(), Stop> {
        if self
            .has_result(job.job_id, Stage::Assemble, "result")
            .await?
        {
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
        let assembled = self
            .run_stage(job, self.stages.assemble.as_ref(), request)
            .await?;
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
        self.put_result(job.job_id, Stage::Assemble, "result", &assembled)
            .await?;
        self.events.append(job.job_id, events).await?;
        Ok(())
    }

    pub(super) async fn generate(&self, job: &JobRecord) -> Result<(), Stop> {
        if self
            .has_result(job.job_id, Stage::Generate, "result")
            .await?
        {
            return Ok(());
        }
        let (ingested, chunks, vectors) = self.inputs(job.job_id).await?;
        drop(vectors);
        let assembled: Assembled = self
            .result(job.job_id, Stage::Assemble, "result")
            .await?
            .ok_or_else(|| ErrorInfo::new("internal", "assembly's result is missing"))?;
        let ingest_job = self
            .stages
            .job(&job.repo_url, job.git_ref.as_deref())
            .map_err(|err| ErrorInfo::new("invalid_request", err.to_string()))?;
        let symbols = symbol_inputs(&chunks, &assembled.completed.symbol_contexts);
        // What a model writes prose about once the symbols are done (a stage without a model
        // writes none).
        let pages = prose_tasks_of(
            &ingest_job,
            &ingested.sizes,
            &chunks,
            &assembled.files,
            &assembled.completed,
        );
        drop(chunks);
        // The job's log gets progress with the running cost; the summaries are kept below.
        let summaries = self
            .run_stage(
                job,
                self.stages.generate.as_ref(),
                GenerationInput { symbols, pages },
            )
            .await?;
        let totals = &summaries.completed.totals;
        self.store
            .set_cost(
                job.job_id,
                totals.cost_usd,
                totals.input_tokens,
                totals.output_tokens,
            )
            .await?;
        self.put_result(job.job_id, Stage::Generate, "result", &summaries)
            .await?;
        let completed = Self::emitter(job).finish(summaries.completed.clone(), Ok(()));
        self.events.append(job.job_id, vec![completed]).await?;
        Ok(())
    }

    pub(super) async fn pack(&self, job: &JobRecord, redelivered: bool) -> Result<(), Stop> {
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

    pub(super) async fn write_pack(&self, job: &JobRecord) -> Result<(), Stop> {
        let (ingested, chunks, vectors) = self.inputs(job.job_id).await?;
        let missing =
            |what: &str| ErrorInfo::new("internal", format!("{what}'s result is missing"));
        let assembled: Assembled = self
            .result(job.job_id, Stage::Assemble, "result")
            .await?
            .ok_or_else(|| missing("assembly"))?;
        let summaries: Summaries = self
            .result(job.job_id, Stage::Generate, "result")
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
                prose: &summaries.prose,
            })
            .contents
        })
        .await?;
        let contents = Contents {
            job_id: job.job_id,
            contents,
        };
        let pack = self
            .run_stage(job, self.stages.pack.as_ref(), contents)
            .await?;
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
