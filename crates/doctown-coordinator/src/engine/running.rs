//! A stage running for a job: its stream read one event at a time while it runs (the
//! public part going into the job's log), then its output.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use doctown_contracts::Contract;
use doctown_events::{Envelope, ErrorInfo, EventEmitter, PublicLog};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;

use crate::queue::Queue;
use crate::stages::{Run, Runner, StageError};
use crate::store::{JobRecord, JobStore, StoreError};

use super::lifecycle::Untrack;
use super::{Engine, Stop};

/// What a runner gives back: its output, once it has run.
type Output<'a, C> =
    Pin<Box<dyn Future<Output = Result<<C as Contract>::Output, StageError>> + Send + 'a>>;

/// Stage `C` running for a job, here or on workers (the engine cannot tell), stopped when the
/// job is cancelled. The handler reads what it streams with [`Running::next`], keeping what it
/// needs, and ends with [`Running::finish`].
pub(super) struct Running<'a, C: Contract, Q, S> {
    engine: &'a Engine<Q, S>,
    job: &'a JobRecord,
    running: Output<'a, C>,
    /// The stage's output, once it has run; not polled again after.
    output: Option<Result<C::Output, StageError>>,
    received: UnboundedReceiver<Envelope>,
    public: PublicLog,
    emitter: EventEmitter,
    /// The job's log, written by `writer`.
    log: UnboundedSender<Envelope>,
    writer: JoinHandle<Result<(), StoreError>>,
    /// Whether the stage ended its stream with its completion.
    completed: bool,
    _untrack: Untrack<'a, Q, S>,
}

impl<Q: Queue + 'static, S: JobStore> Engine<Q, S> {
    /// Starts stage `C` for `job` on `runner` with `input`.
    pub(super) fn start<'a, C: Contract>(
        &'a self,
        job: &'a JobRecord,
        runner: &'a dyn Runner<C>,
        input: C::Input,
    ) -> Running<'a, C, Q, S> {
        let (cancel, untrack) = self.track(job.job_id);
        let (run, received) = Run::new(Self::emitter(job), cancel);
        let (log, writer) = self.events.writer(job.job_id);
        Running {
            engine: self,
            job,
            running: runner.run(input, run),
            output: None,
            received,
            public: PublicLog::default(),
            emitter: Self::emitter(job),
            log,
            writer,
            completed: false,
            _untrack: untrack,
        }
    }

    /// Runs stage `C` for `job` on `runner` with `input`, keeping nothing of its stream but
    /// what goes into the job's log.
    pub(super) async fn run_stage<C: Contract>(
        &self,
        job: &JobRecord,
        runner: &dyn Runner<C>,
        input: C::Input,
    ) -> Result<C::Output, Stop> {
        self.start(job, runner, input).finish().await
    }
}

impl<C: Contract, Q: Queue + 'static, S: JobStore> Running<'_, C, Q, S> {
    /// The stage's next event, after its public part went into the job's log; `None` once the
    /// stage has run and said everything.
    pub(super) async fn next(&mut self) -> Option<Envelope> {
        let envelope = match self.output {
            Some(_) => self.received.recv().await,
            None => {
                tokio::select! {
                    envelope = self.received.recv() => envelope,
                    output = &mut self.running => {
                        self.output = Some(output);
                        self.received.recv().await
                    }
                }
            }
        };
        let Some(envelope) = envelope else {
            if self.output.is_none() {
                // The stage stopped listening to its own stream; it still ends.
                self.output = Some((&mut self.running).await);
            }
            return None;
        };
        self.completed |= envelope.event_type().is_completion();
        for event in self.public.admit(&envelope, &self.emitter, Instant::now()) {
            // A closed log is the writer's failure, which `finish` reports.
            let _ = self.log.send(event);
        }
        Some(envelope)
    }

    /// The stage's output, once the rest of its stream is in the job's log. A failure ends
    /// the stage's stream with its failed completion (unless the stage sent one) and says why
    /// the handler stops.
    pub(super) async fn finish(mut self) -> Result<C::Output, Stop> {
        while self.next().await.is_some() {}
        for event in self.public.flush(&self.emitter, Instant::now()) {
            let _ = self.log.send(event);
        }
        drop(self.log);
        self.writer
            .await
            .map_err(|err| ErrorInfo::new("internal", err.to_string()))??;
        let output = self
            .output
            .ok_or_else(|| ErrorInfo::new("internal", "a stage ended without an output"))?;
        match output {
            Ok(output) => Ok(output),
            Err(StageError::Unavailable(reason)) => Err(Stop::Unavailable(reason)),
            Err(StageError::Failed(info)) if self.completed => Err(Stop::Failed(info)),
            Err(StageError::Failed(info)) => Err(self
                .engine
                .stage_failed::<C::Completion>(self.job, info)
                .await),
        }
    }
}
