//! Requests' texts gathered into model batches: a batch runs once it holds `min` texts, or
//! `wait` after its first text arrived, whichever comes first, and never holds more than `max`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// When a batch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchPolicy {
    /// Run as soon as this many texts wait.
    pub(crate) min: usize,
    /// Never run more at once.
    pub(crate) max: usize,
    /// Run this long after the first text arrived, however few wait.
    pub(crate) wait: Duration,
}

/// The model, as the batcher calls it (on a blocking thread).
pub(crate) type EmbedFn = dyn Fn(&[&str]) -> Result<Vec<Vec<f32>>, String> + Send + Sync;

/// One request's texts and where their vectors go.
struct Job {
    texts: Vec<String>,
    reply: oneshot::Sender<Result<Vec<Vec<f32>>, String>>,
}

/// A handle to the batching task; cheap to clone.
#[derive(Clone)]
pub(crate) struct Batcher {
    jobs: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts the batching task on the current runtime.
    pub(crate) fn start(policy: BatchPolicy, embed: Arc<EmbedFn>) -> Self {
        let (jobs, receiver) = mpsc::channel(1024);
        tokio::spawn(run(policy, embed, receiver));
        Self { jobs }
    }

    /// The vectors of `texts`, in order, once their batch has run.
    pub(crate) async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, String> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { texts, reply })
            .await
            .map_err(|_| "the embedding task has stopped".to_owned())?;
        answer
            .await
            .map_err(|_| "the embedding task has stopped".to_owned())?
    }
}

/// Gathers jobs into batches and runs them, until every handle is dropped.
async fn run(policy: BatchPolicy, embed: Arc<EmbedFn>, mut jobs: mpsc::Receiver<Job>) {
    let max = policy.max.max(1);
    let min = policy.min.clamp(1, max);
    let mut carried: Option<Job> = None;
    loop {
        let first = match carried.take() {
            Some(job) => job,
            None => match jobs.recv().await {
                Some(job) => job,
                None => return,
            },
        };
        let deadline = Instant::now() + policy.wait;
        let mut waiting = first.texts.len();
        let mut batch = vec![first];
        while waiting < min {
            tokio::select! {
                job = jobs.recv() => match job {
                    Some(job) if waiting + job.texts.len() > max => {
                        carried = Some(job);
                        break;
                    }
                    Some(job) => {
                        waiting += job.texts.len();
                        batch.push(job);
                    }
                    None => break,
                },
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        let texts: Vec<String> = batch
            .iter()
            .flat_map(|job| job.texts.iter().cloned())
            .collect();
        let model = Arc::clone(&embed);
        let vectors = tokio::task::spawn_blocking(move || {
            // A request larger than `max` runs in slices of `max`.
            let mut vectors = Vec::with_capacity(texts.len());
            for slice in texts.chunks(max) {
                let refs: Vec<&str> = slice.iter().map(String::as_str).collect();
                vectors.extend(model(&refs)?);
            }
            Ok::<_, String>(vectors)
        })
        .await
        .unwrap_or_else(|err| Err(format!("the embedding thread failed: {err}")));
        match vectors {
            Ok(vectors) => {
                let mut rest = vectors.into_iter();
                for job in batch {
                    let mine: Vec<Vec<f32>> = rest.by_ref().take(job.texts.len()).collect();
                    job.reply.send(Ok(mine)).ok();
                }
            }
            Err(message) => {
                for job in batch {
                    job.reply.send(Err(message.clone())).ok();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A model that records each batch's size and answers `[text length]` per text.
    fn recording() -> (Arc<EmbedFn>, Arc<Mutex<Vec<usize>>>) {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&sizes);
        let embed: Arc<EmbedFn> = Arc::new(move |texts: &[&str]| {
            seen.lock().unwrap().push(texts.len());
            Ok(texts.iter().map(|t| vec![t.len() as f32]).collect())
        });
        (embed, sizes)
    }

    fn texts(n: usize, tag: &str) -> Vec<String> {
        (0..n).map(|i| format!("{tag}{}", "x".repeat(i))).collect()
    }

    const POLICY: BatchPolicy = BatchPolicy {
        min: 16,
        max: 256,
        wait: Duration::from_millis(500),
    };

    #[tokio::test(start_paused = true)]
    async fn a_small_request_waits_for_the_deadline() {
        let (embed, sizes) = recording();
        let batcher = Batcher::start(POLICY, embed);
        let started = Instant::now();
        let vectors = batcher.embed(texts(3, "a")).await.unwrap();
        assert_eq!(vectors, vec![vec![1.0], vec![2.0], vec![3.0]]);
        assert_eq!(started.elapsed(), Duration::from_millis(500));
        assert_eq!(*sizes.lock().unwrap(), [3]);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_gathered_until_the_minimum() {
        let (embed, sizes) = recording();
        let batcher = Batcher::start(POLICY, embed);
        let started = Instant::now();
        let (a, b) = tokio::join!(batcher.embed(texts(10, "a")), batcher.embed(texts(6, "bb")));
        assert_eq!(a.unwrap().len(), 10);
        let b = b.unwrap();
        assert_eq!(b[0], vec![2.0], "each request gets its own vectors back");
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "the minimum was reached first"
        );
        assert_eq!(*sizes.lock().unwrap(), [16]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_large_request_runs_at_once_in_slices_of_the_maximum() {
        let (embed, sizes) = recording();
        let batcher = Batcher::start(POLICY, embed);
        let started = Instant::now();
        let vectors = batcher.embed(texts(600, "")).await.unwrap();
        assert_eq!(vectors.len(), 600);
        assert_eq!(vectors[599], vec![599.0]);
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(*sizes.lock().unwrap(), [256, 256, 88]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_model_error_reaches_every_request_of_the_batch() {
        let embed: Arc<EmbedFn> = Arc::new(|_: &[&str]| Err("out of memory".to_owned()));
        let batcher = Batcher::start(POLICY, embed);
        let (a, b) = tokio::join!(batcher.embed(texts(1, "a")), batcher.embed(texts(1, "b")));
        assert_eq!(a.unwrap_err(), "out of memory");
        assert_eq!(b.unwrap_err(), "out of memory");
    }
}
