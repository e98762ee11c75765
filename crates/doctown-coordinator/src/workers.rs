//! Stages on remote workers: the workers of a stage (base URLs from configuration), each behind
//! a circuit breaker (failsafe: open after three failures in a row, half-open again after a
//! jittered backoff), called with a timeout and retried with exponential backoff (backon: three
//! attempts in all), on the next worker whose circuit lets calls through.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder, Retryable};
use doctown_contracts::Contract;
use doctown_events::{Envelope, ErrorInfo, sse};
use failsafe::failure_policy::{ConsecutiveFailures, consecutive_failures};
use failsafe::{StateMachine, backoff};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Calls per request at most: the first and two retries.
const ATTEMPTS: usize = 3;

/// Failures in a row that open a worker's circuit.
const FAILURES_TO_OPEN: u32 = 3;

type Breaker = StateMachine<ConsecutiveFailures<backoff::EqualJittered>, ()>;

/// One worker and its circuit.
#[derive(Debug)]
struct Worker {
    base: String,
    breaker: Breaker,
    /// Whether its last call or health check succeeded.
    healthy: AtomicBool,
}

impl Worker {
    fn succeeded(&self) {
        self.breaker.on_success();
        self.healthy.store(true, Ordering::Relaxed);
    }

    fn failed(&self) {
        self.breaker.on_error();
        self.healthy.store(false, Ordering::Relaxed);
    }
}

/// Why a call to a stage's workers failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// No worker answered (down, timing out, failing, or every circuit open): the same call may
    /// succeed later.
    #[error("{0}")]
    Unavailable(String),
    /// A worker refused the request itself (a 4xx): calling again will not help.
    #[error("{}", .0.message)]
    Refused(ErrorInfo),
    /// A worker's event stream broke after some events arrived: not retried here, since the
    /// events would come twice; the work may be done again later.
    #[error("{0}")]
    Broken(String),
}

/// The workers of one stage.
#[derive(Debug)]
pub struct WorkerPool {
    stage: &'static str,
    workers: Vec<Worker>,
    next: AtomicUsize,
    client: reqwest::Client,
    backoff: ExponentialBuilder,
}

impl WorkerPool {
    /// The pool of `stage`'s workers at `bases`, each call given `timeout`; a circuit opened
    /// stays open `open_for` (with jitter) before a trial call.
    pub fn new(
        stage: &'static str,
        bases: &[String],
        timeout: Duration,
        open_for: Duration,
    ) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|err| format!("cannot make the HTTP client for the {stage} workers: {err}"))?;
        let workers = bases
            .iter()
            .map(|base| Worker {
                base: base.trim_end_matches('/').to_owned(),
                breaker: failsafe::Config::new()
                    .failure_policy(consecutive_failures(
                        FAILURES_TO_OPEN,
                        backoff::equal_jittered(open_for, open_for * 4),
                    ))
                    .build(),
                healthy: AtomicBool::new(true),
            })
            .collect();
        Ok(Self {
            stage,
            workers,
            next: AtomicUsize::new(0),
            client,
            backoff: ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(Duration::from_secs(5))
                .with_max_times(ATTEMPTS - 1),
        })
    }

    /// Sends `request` to the stage's route `C::PATH` and reads its JSON answer, retrying calls
    /// that fail for want of a worker.
    pub async fn call<C: Contract>(&self, request: &C::Request) -> Result<C::Answer, CallError> {
        self.post(C::PATH, request).await
    }

    /// Sends `request` to the stage's route `C::PATH` asking for its events as Server-Sent
    /// Events, and hands each envelope to `on_event` as it arrives, until the stream ends.
    /// Retried like [`call`](WorkerPool::call) while nothing has arrived; a stream that breaks
    /// after that is [`CallError::Broken`].
    pub async fn stream<C: Contract>(
        &self,
        request: &C::Request,
        on_event: &mut (dyn FnMut(Envelope) + Send),
    ) -> Result<(), CallError> {
        self.stream_from(C::PATH, request, on_event).await
    }

    /// POSTs `body` as JSON to `path` and reads the JSON answer, retrying calls that fail for
    /// want of a worker.
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, CallError> {
        (|| self.attempt(path, body))
            .retry(self.backoff)
            .when(|err| matches!(err, CallError::Unavailable(_)))
            .notify(|err, wait| {
                tracing::warn!(
                    stage = self.stage,
                    ?wait,
                    "a worker call failed, retrying: {err}"
                );
            })
            .await
    }

    /// POSTs `body` to `path`, handing each event it streams to `on_event`; see
    /// [`stream`](WorkerPool::stream).
    async fn stream_from(
        &self,
        path: &str,
        body: &impl Serialize,
        on_event: &mut (dyn FnMut(Envelope) + Send),
    ) -> Result<(), CallError> {
        let mut waits = self.backoff.build();
        loop {
            match self.stream_once(path, body, on_event).await {
                Err(CallError::Unavailable(reason)) => match waits.next() {
                    Some(wait) => {
                        tracing::warn!(
                            stage = self.stage,
                            ?wait,
                            "a worker call failed, retrying: {reason}"
                        );
                        tokio::time::sleep(wait).await;
                    }
                    None => return Err(CallError::Unavailable(reason)),
                },
                done => return done,
            }
        }
    }

    async fn stream_once(
        &self,
        path: &str,
        body: &impl Serialize,
        on_event: &mut (dyn FnMut(Envelope) + Send),
    ) -> Result<(), CallError> {
        let (worker, url, response) = self.send(path, body, sse::CONTENT_TYPE).await?;
        let mut response = response;
        let mut decoder = sse::Decoder::new();
        let mut received = false;
        loop {
            let bytes = match response.chunk().await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return Ok(()),
                Err(err) if received => {
                    worker.failed();
                    return Err(CallError::Broken(format!(
                        "the {} worker at {url} stopped streaming: {err}",
                        self.stage
                    )));
                }
                Err(err) => {
                    worker.failed();
                    return Err(CallError::Unavailable(format!(
                        "the {} worker at {url} stopped streaming: {err}",
                        self.stage
                    )));
                }
            };
            for envelope in decoder.push(&bytes) {
                let envelope = envelope.map_err(|err| {
                    CallError::Broken(format!(
                        "the {} worker at {url} sent an event that cannot be read: {err}",
                        self.stage
                    ))
                })?;
                received = true;
                on_event(envelope);
            }
        }
    }

    /// The next worker whose circuit lets a call through, round robin.
    fn pick(&self) -> Option<&Worker> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..self.workers.len())
            .map(|offset| &self.workers[(start + offset) % self.workers.len()])
            .find(|worker| worker.breaker.is_call_permitted())
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, CallError> {
        let (worker, url, response) = self.send(path, body, "application/json").await?;
        response.json().await.map_err(|err| {
            worker.failed();
            CallError::Unavailable(format!(
                "the {} worker at {url} sent an answer that cannot be read: {err}",
                self.stage
            ))
        })
    }

    /// POSTs `body` to `path` on the next worker that takes calls, asking for `accept`; gives
    /// the worker, the URL and its successful answer.
    async fn send(
        &self,
        path: &str,
        body: &impl Serialize,
        accept: &str,
    ) -> Result<(&Worker, String, reqwest::Response), CallError> {
        let worker = self.pick().ok_or_else(|| {
            CallError::Unavailable(format!(
                "every {} worker is failing (their circuits are open); check them at GET /health",
                self.stage
            ))
        })?;
        let url = format!("{}{path}", worker.base);
        let failed = |reason: String| {
            worker.failed();
            CallError::Unavailable(format!("the {} worker at {url} {reason}", self.stage))
        };
        let response = match self
            .client
            .post(&url)
            .header("accept", accept)
            .json(body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) if err.is_timeout() => return Err(failed("did not answer in time".into())),
            Err(err) => return Err(failed(format!("cannot be reached: {err}"))),
        };
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(failed(format!("answered {status}")));
        }
        // The worker is there: whatever it says next is about the request, not its health.
        worker.succeeded();
        if !status.is_success() {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let error = &body["error"];
            return Err(CallError::Refused(ErrorInfo::new(
                error["code"].as_str().unwrap_or("worker_refused"),
                format!(
                    "the {} worker refused the request ({status}): {}",
                    self.stage,
                    error["message"].as_str().unwrap_or("no reason given")
                ),
            )));
        }
        Ok((worker, url, response))
    }

    /// The stage these workers run.
    pub fn stage(&self) -> &'static str {
        self.stage
    }

    /// Each worker's URL and whether its last call or health check succeeded, as `/health`
    /// reports them.
    pub fn status(&self) -> serde_json::Value {
        self.workers
            .iter()
            .map(|w| serde_json::json!({"url": w.base, "healthy": w.healthy.load(Ordering::Relaxed)}))
            .collect()
    }

    /// Asks every worker's `/ping`; an answer that is not 200 counts as a failure of its
    /// circuit, as a failed call does.
    pub async fn check_health(&self) {
        for worker in &self.workers {
            let ping = self
                .client
                .get(format!("{}/ping", worker.base))
                .send()
                .await;
            match ping {
                Ok(response) if response.status() == reqwest::StatusCode::OK => worker.succeeded(),
                Ok(_) | Err(_) => worker.failed(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use doctown_testkit::{LoopbackServer, Response};
    use serde_json::{Value, json};

    use super::*;

    fn pool(bases: &[&str]) -> WorkerPool {
        let bases: Vec<String> = bases.iter().map(|b| (*b).to_owned()).collect();
        WorkerPool::new(
            "embedding",
            &bases,
            Duration::from_secs(5),
            Duration::from_secs(60),
        )
        .unwrap()
    }

    fn failing() -> LoopbackServer {
        LoopbackServer::start(|_| {
            Response::json(500, r#"{"error":{"code":"boom","message":"boom"}}"#)
        })
    }

    #[tokio::test]
    async fn a_refusal_is_reported_and_not_retried() {
        let worker = LoopbackServer::start(|_| {
            Response::json(
                422,
                r#"{"error":{"code":"invalid_field","message":"`chunks` is empty"}}"#,
            )
        });
        let err = pool(&[&worker.base])
            .post::<Value>("/embed", &json!({}))
            .await
            .unwrap_err();
        let CallError::Refused(info) = err else {
            panic!("{err:?}")
        };
        assert_eq!(info.code, "invalid_field");
        assert!(
            info.message.contains("`chunks` is empty"),
            "{}",
            info.message
        );
        assert_eq!(worker.requests().len(), 1);
    }

    #[tokio::test]
    async fn failures_are_retried_then_the_circuit_opens() {
        let worker = failing();
        let pool = pool(&[&worker.base]);
        let err = pool.post::<Value>("/embed", &json!({})).await.unwrap_err();
        assert!(matches!(err, CallError::Unavailable(_)), "{err:?}");
        assert_eq!(worker.requests().len(), ATTEMPTS);
        // Three failures in a row: the worker is left alone, calls fail at once.
        let err = pool.post::<Value>("/embed", &json!({})).await.unwrap_err();
        assert!(err.to_string().contains("circuits are open"), "{err}");
        assert_eq!(worker.requests().len(), ATTEMPTS);
    }

    #[tokio::test]
    async fn another_worker_takes_over_from_a_failing_one() {
        let broken = failing();
        let healthy = LoopbackServer::start(|_| Response::json(200, r#"{"vectors":[]}"#));
        let pool = pool(&[&broken.base, &healthy.base]);
        for _ in 0..4 {
            let answer: Value = pool.post("/embed", &json!({})).await.unwrap();
            assert_eq!(answer["vectors"], json!([]));
        }
        assert_eq!(healthy.requests().len(), 4);
        assert!(broken.requests().len() <= 3);
    }
}
