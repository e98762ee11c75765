//! The embedding stage, run on its own thread beside ingest: chunks move in through a bounded
//! queue, a batch at a time, as ingest makes them; cached vectors are taken as they arrive, and
//! the rest run through the model in batches whose progress comes back to the thread that sends
//! the job's events. The chunks come back out with their vectors, so each is held once.
//!
//! The queue carries batches, not single chunks, so ingest wakes once per batch the model takes,
//! not once per chunk. (On two cores, a queue of single chunks measured 10-15% slower than
//! embedding after ingest; a queue of batches measured within the runs' own spread of it.)

use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Instant;

use doctown_common::Chunk;
use doctown_contracts::embed::{ChunkText, Embedded};
use doctown_embedding::{DIMENSIONS, Embedder, MODEL_ID, ModelSettings};
use doctown_events::{
    BatchCompleted, BatchStarted, EmbeddingCompleted, Envelope, ErrorInfo, EventEmitter,
};
use tokio_util::sync::CancellationToken;

use crate::{VectorCache, millis};

/// Chunks per batch on the queue from ingest.
const BATCH: usize = 64;

/// Batches that may wait between ingest and the model: ingest waits once it is this far ahead,
/// so what waits is bounded (1,024 chunks), and a small repository is read at full speed.
const QUEUE: usize = 16;

/// The fewest chunks a model call waits for while ingest is still making them.
const CALL_MIN: usize = BATCH;

/// The most chunks a model call takes. The embedder sorts a call's texts by length before it
/// pads them into model batches, so bigger calls pad less: on 1,702 chunks of Go, calls of 64
/// took 25.9 s, of 256 23.2 s and of 1,024 21.7 s (two cores).
const CALL_MAX: usize = QUEUE * BATCH;

/// What the stage's thread reports while it runs.
enum Progress {
    Started(BatchStarted),
    Completed(BatchCompleted),
}

/// Why the stage stopped early.
pub(crate) enum Stopped {
    /// The run was cancelled.
    Cancelled,
    /// The model could not be loaded or failed.
    Failed(ErrorInfo),
}

/// Every chunk, in the order given, with its vector, and the stage's totals.
pub(crate) type EmbeddedAll = (Vec<Chunk>, Vec<Vec<f32>>, EmbeddingCompleted);

/// The running stage.
pub(crate) struct EmbedStage {
    queue: Option<SyncSender<Vec<Chunk>>>,
    /// Chunks given since the last batch was queued.
    filling: Vec<Chunk>,
    progress: Receiver<Progress>,
    /// Whether a batch's event has been sent: the stage's stream has begun.
    begun: bool,
    thread: JoinHandle<Result<EmbeddedAll, Stopped>>,
}

impl EmbedStage {
    /// Starts the stage's thread; the model is loaded when the first chunk not in `cache` comes.
    pub(crate) fn start(
        model: ModelSettings,
        cache: Option<VectorCache>,
        cancel: CancellationToken,
    ) -> Result<Self, ErrorInfo> {
        let (queue, chunks) = mpsc::sync_channel(QUEUE);
        let (report, progress) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("doctown-embed".into())
            .spawn(move || embed(&chunks, &model, cache.as_ref(), &cancel, &report))
            .map_err(|err| {
                ErrorInfo::new(
                    "embedding_failed",
                    format!("cannot start the embedding thread: {err}"),
                )
            })?;
        Ok(Self {
            queue: Some(queue),
            filling: Vec::with_capacity(BATCH),
            progress,
            begun: false,
            thread,
        })
    }

    /// Gives the stage the next chunk; each full batch is queued, waiting while the queue is
    /// full. A stage that has stopped takes nothing more; `finish` says why.
    pub(crate) fn push(&mut self, chunk: Chunk) {
        self.filling.push(chunk);
        if self.filling.len() == BATCH {
            self.queue_filling();
        }
    }

    fn queue_filling(&mut self) {
        let batch = std::mem::replace(&mut self.filling, Vec::with_capacity(BATCH));
        if let Some(queue) = &self.queue
            && !batch.is_empty()
        {
            let _stopped = queue.send(batch);
        }
    }

    /// Sends the events of the batches that have run since the last call.
    pub(crate) fn report(&mut self, emitter: &EventEmitter, send: &mut dyn FnMut(&Envelope)) {
        for progress in self.progress.try_iter() {
            self.begun = true;
            send(&envelope(emitter, progress));
        }
    }

    /// Waits for the last chunks to be embedded, sending their batches' events as they run;
    /// gives the vectors, and whether any batch's event was sent.
    pub(crate) fn finish(
        mut self,
        emitter: &EventEmitter,
        send: &mut dyn FnMut(&Envelope),
    ) -> (Result<EmbeddedAll, Stopped>, bool) {
        self.queue_filling();
        drop(self.queue.take());
        for progress in &self.progress {
            self.begun = true;
            send(&envelope(emitter, progress));
        }
        let begun = self.begun;
        let embedded = self.thread.join().unwrap_or_else(|_| {
            Err(Stopped::Failed(ErrorInfo::new(
                "embedding_failed",
                "the embedding thread stopped unexpectedly; run again with -v and report it",
            )))
        });
        (embedded, begun)
    }
}

fn envelope(emitter: &EventEmitter, progress: Progress) -> Envelope {
    match progress {
        Progress::Started(batch) => emitter.emit(batch),
        Progress::Completed(batch) => emitter.emit(batch),
    }
}

/// The stage's thread: takes chunks until the queue closes.
fn embed(
    queue: &Receiver<Vec<Chunk>>,
    model: &ModelSettings,
    cache: Option<&VectorCache>,
    cancel: &CancellationToken,
    report: &mpsc::Sender<Progress>,
) -> Result<EmbeddedAll, Stopped> {
    let started = Instant::now();
    let mut batches = Batches {
        model,
        cache,
        cancel,
        report,
        embedder: None,
        waiting: Vec::with_capacity(CALL_MAX),
        cached_since: 0,
        chunks: Vec::new(),
        vectors: Vec::new(),
        totals: EmbeddingCompleted::default(),
    };
    let mut open = true;
    while open {
        // Take what ingest has made so far, waiting for more only while too few chunks wait
        // to be worth a model call: the model runs big calls while ingest is ahead, and small
        // ones when the model is the faster (a GPU).
        loop {
            let received = if batches.waiting.len() < CALL_MIN {
                queue.recv().map_err(|_| TryRecvError::Disconnected)
            } else {
                queue.try_recv()
            };
            match received {
                Ok(chunks) => {
                    for chunk in chunks {
                        batches.take(chunk);
                    }
                    if batches.waiting.len() >= CALL_MAX {
                        break;
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        batches.run()?;
    }
    let Batches {
        chunks,
        vectors,
        mut totals,
        ..
    } = batches;
    totals.chunk_count = chunks.len() as u64;
    totals.duration_ms = millis(started.elapsed());
    Ok((chunks, vectors, totals))
}

/// The thread's state: vectors so far, and the chunks waiting for the model.
struct Batches<'a> {
    model: &'a ModelSettings,
    cache: Option<&'a VectorCache>,
    cancel: &'a CancellationToken,
    report: &'a mpsc::Sender<Progress>,
    /// Loaded when the first chunk not in the cache comes.
    embedder: Option<Embedder>,
    /// Indices of the chunks waiting for the model.
    waiting: Vec<usize>,
    /// Chunks found in the cache since the last batch (a batch's events count them, so progress
    /// covers every chunk).
    cached_since: u64,
    /// Every chunk so far.
    chunks: Vec<Chunk>,
    /// Their vectors; empty where a chunk waits.
    vectors: Vec<Vec<f32>>,
    totals: EmbeddingCompleted,
}

impl Batches<'_> {
    /// The next chunk: its vector from the cache, or it waits for the next model call.
    fn take(&mut self, chunk: Chunk) {
        let index = self.chunks.len();
        let cached = self
            .cache
            .and_then(|cache| cache.get(&chunk.content, DIMENSIONS));
        self.chunks.push(chunk);
        match cached {
            Some(vector) => {
                self.vectors.push(vector);
                self.totals.cached_count += 1;
                self.cached_since += 1;
            }
            None => {
                self.vectors.push(Vec::new());
                self.waiting.push(index);
            }
        }
    }

    /// Embeds the waiting chunks, if any, and keeps their vectors.
    fn run(&mut self) -> Result<(), Stopped> {
        if self.waiting.is_empty() {
            return Ok(());
        }
        if self.cancel.is_cancelled() {
            return Err(Stopped::Cancelled);
        }
        let embedder = match &mut self.embedder {
            Some(embedder) => embedder,
            none => none.insert(self.model.load().map_err(|err| {
                Stopped::Failed(ErrorInfo::new("model_unavailable", err.to_string()))
            })?),
        };
        let batch_id = format!("b{}", self.totals.batch_count);
        let started = Instant::now();
        let cached_count = std::mem::take(&mut self.cached_since);
        let chunk_count = self.waiting.len() as u64 + cached_count;
        // A closed report channel only means nobody is listening any more.
        let _ = self.report.send(Progress::Started(BatchStarted {
            batch_id: batch_id.clone(),
            chunk_count,
        }));
        let texts: Vec<&str> = self
            .waiting
            .iter()
            .map(|&index| self.chunks[index].content.as_str())
            .collect();
        let embedded = embedder
            .embed(&texts)
            .map_err(|err| Stopped::Failed(ErrorInfo::new("embedding_failed", err.to_string())))?;
        for (index, vector) in self.waiting.drain(..).zip(embedded) {
            remember(self.cache, &self.chunks[index].content, &vector);
            self.vectors[index] = vector;
        }
        self.totals.batch_count += 1;
        let _ = self.report.send(Progress::Completed(BatchCompleted {
            batch_id,
            chunk_count,
            cached_count,
            model: MODEL_ID.into(),
            duration_ms: millis(started.elapsed()),
            vectors: Vec::new(),
        }));
        Ok(())
    }
}

/// Keeps `vector` as the one of `content` in `cache`, if any; a cache that cannot be written is
/// only a warning.
fn remember(cache: Option<&VectorCache>, content: &str, vector: &[f32]) {
    if let Some(cache) = cache
        && let Err(err) = cache.put(content, vector)
    {
        tracing::warn!("cannot write the vector cache: {err}");
    }
}

/// Embeds one batch of `chunks` with `embedder`: vectors in `cache` are taken from it, and the
/// rest made and kept there. Gives the vectors in the chunks' order and how many were cached.
pub fn embed_batch(
    embedder: &Embedder,
    cache: Option<&VectorCache>,
    chunks: &[ChunkText],
) -> Result<Embedded, ErrorInfo> {
    let mut vectors: Vec<Option<Vec<f32>>> = chunks
        .iter()
        .map(|chunk| cache.and_then(|cache| cache.get(&chunk.content, DIMENSIONS)))
        .collect();
    let cached = vectors.iter().filter(|v| v.is_some()).count() as u64;
    let missing: Vec<usize> = (0..chunks.len())
        .filter(|&i| vectors[i].is_none())
        .collect();
    if !missing.is_empty() {
        let texts: Vec<&str> = missing
            .iter()
            .map(|&i| chunks[i].content.as_str())
            .collect();
        let embedded = embedder
            .embed(&texts)
            .map_err(|err| ErrorInfo::new("embedding_failed", err.to_string()))?;
        for (index, vector) in missing.into_iter().zip(embedded) {
            remember(cache, &chunks[index].content, &vector);
            vectors[index] = Some(vector);
        }
    }
    Ok(Embedded {
        vectors: vectors.into_iter().map(Option::unwrap_or_default).collect(),
        cached,
    })
}
