//! The coordinator as a process: an engine over a queue and a store, its consumers on a runtime
//! of their own, and the API on `doctown-worker`'s server until SIGTERM or Ctrl-C. The
//! `doctown-coordinator` binary serves it on Redis and PostgreSQL; `doctown serve` in memory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use doctown_storage::Store;
use doctown_worker::{Identity, Readiness, ServeSettings, run_with_stop};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

use crate::api;
use crate::engine::{Engine, QueueNames};
use crate::queue::Queue;
use crate::stages::Stages;
use crate::store::JobStore;

/// The runtime the coordinator's engine runs on, apart from the HTTP threads: two threads, the
/// cores of the machines it is sized for.
pub fn engine_runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("doctown-coordinator")
        .enable_all()
        .build()
}

/// What a coordinator process is made of.
#[derive(Debug)]
pub struct Parts<Q, S> {
    /// Who the server says it is.
    pub identity: Identity,
    /// The queue between the steps.
    pub queue: Q,
    /// Its streams' names and this process among their consumers.
    pub names: QueueNames,
    /// Jobs, events and results.
    pub store: S,
    /// Where docpacks are kept.
    pub storage: Arc<dyn Store>,
    /// The stages, run here.
    pub stages: Stages,
    /// The website's built folder, served beside the API when given.
    pub site: Option<PathBuf>,
}

/// Picks up unfinished jobs, then serves the API over `parts` with `settings` until stopped;
/// gives the process's exit code, having printed why when it could not serve.
pub fn serve<Q: Queue + 'static, S: JobStore>(
    parts: Parts<Q, S>,
    settings: &ServeSettings,
    runtime: &Runtime,
) -> ExitCode {
    let engine = Arc::new(Engine::new(
        parts.queue,
        parts.names,
        parts.store,
        parts.storage,
        parts.stages,
    ));
    match runtime.block_on(engine.resume()) {
        Ok(0) => {}
        Ok(resumed) => tracing::info!(resumed, "unfinished jobs picked up"),
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    }
    let shutdown = CancellationToken::new();
    let readiness = Readiness::ready();
    let consumers = runtime.spawn(Arc::clone(&engine).run(readiness.clone(), shutdown.clone()));
    let site = parts.site;
    let routes_engine = Arc::clone(&engine);
    let engine_runtime = runtime.handle().clone();
    let stopping = move || async move {
        // Jobs that cannot survive the stop end now, while their watchers still listen.
        let interrupted = engine_runtime.spawn(async move { engine.interrupt_unfinished().await });
        match interrupted.await {
            Ok(Ok(0)) => {}
            Ok(Ok(ended)) => tracing::warn!(ended, "unfinished jobs failed as interrupted"),
            Ok(Err(err)) => tracing::warn!("cannot end the unfinished jobs: {err}"),
            Err(err) => tracing::warn!("cannot end the unfinished jobs: {err}"),
        }
    };
    let code = run_with_stop(
        parts.identity,
        settings,
        readiness,
        move |config| {
            api::configure(Arc::clone(&routes_engine), config);
            if let Some(folder) = &site {
                crate::site::configure(folder, config);
            }
        },
        stopping,
    );
    shutdown.cancel();
    if runtime.block_on(consumers).is_err() {
        tracing::warn!("the queue's consumers did not stop cleanly");
    }
    code
}

/// How long a stopping coordinator waits for its engine's tasks.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
