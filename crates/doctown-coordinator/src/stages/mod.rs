//! The stages as the engine runs them, behind one seam: a [`Runner`] per stage, implemented in
//! this process ([`local`], the same library calls the workers make) and over HTTP ([`remote`],
//! a [`WorkerPool`] of the stage's workers). The engine calls a runner with the stage's
//! contract input and gets its output, never knowing where it ran.

mod local;
mod remote;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use doctown_contracts::{Assemble, Contract, Embed, Generate, Ingest, Pack};
use doctown_events::{Envelope, ErrorInfo, EventEmitter};
use doctown_ingest::{IngestJob, InvalidRequest};
use doctown_pipeline::PipelineSettings;
use doctown_storage::Store;
use doctown_worker::Readiness;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::workers::{CallError, WorkerPool};

/// How often remote workers are health-checked.
const HEALTH_EVERY: Duration = Duration::from_secs(10);

/// Where stages run when not in the coordinator.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Worker settings")]
pub struct WorkerSettings {
    /// Base URLs of ingest workers (comma-separated), called in turn; without any, ingest runs
    /// in the coordinator.
    #[arg(
        long,
        env = "DOCTOWN_INGEST_WORKERS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub ingest_workers: Vec<String>,

    /// Base URLs of embedding workers (comma-separated), called in turn; without any, the
    /// model runs in the coordinator.
    #[arg(
        long,
        env = "DOCTOWN_EMBEDDING_WORKERS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub embedding_workers: Vec<String>,

    /// Base URLs of assembly workers (comma-separated); without any, assembly runs in the
    /// coordinator.
    #[arg(
        long,
        env = "DOCTOWN_ASSEMBLY_WORKERS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub assembly_workers: Vec<String>,

    /// Base URLs of generation workers (comma-separated); without any, summaries are written
    /// by the coordinator.
    #[arg(
        long,
        env = "DOCTOWN_GENERATION_WORKERS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub generation_workers: Vec<String>,

    /// Base URLs of packer workers (comma-separated); they must store docpacks where the
    /// coordinator reads them (the same DOCTOWN_S3_* bucket or DOCTOWN_STORAGE_DIR). Without
    /// any, docpacks are written by the coordinator.
    #[arg(
        long,
        env = "DOCTOWN_PACKER_WORKERS",
        value_delimiter = ',',
        value_name = "URLS"
    )]
    pub packer_workers: Vec<String>,

    /// Seconds one call to a worker may take.
    #[arg(
        long,
        env = "DOCTOWN_WORKER_TIMEOUT_SECS",
        default_value_t = 120,
        value_name = "SECS"
    )]
    pub worker_timeout_secs: u64,

    /// Seconds (at least; jittered, growing while it keeps failing) a worker that failed three
    /// calls in a row is left alone before a trial call.
    #[arg(
        long,
        env = "DOCTOWN_WORKER_OPEN_SECS",
        default_value_t = 10,
        value_name = "SECS"
    )]
    pub worker_open_secs: u64,
}

impl WorkerSettings {
    /// The pools of the stages that have workers configured.
    pub fn pools(&self) -> Result<WorkerPools, String> {
        Ok(WorkerPools {
            ingest: self.pool("ingest", &self.ingest_workers)?,
            embedding: self.pool("embedding", &self.embedding_workers)?,
            assembly: self.pool("assembly", &self.assembly_workers)?,
            generation: self.pool("generation", &self.generation_workers)?,
            packer: self.pool("packer", &self.packer_workers)?,
        })
    }

    fn pool(&self, stage: &'static str, bases: &[String]) -> Result<Option<WorkerPool>, String> {
        let bases: Vec<String> = bases
            .iter()
            .map(|base| base.trim().to_owned())
            .filter(|base| !base.is_empty())
            .collect();
        if bases.is_empty() {
            return Ok(None);
        }
        WorkerPool::new(
            stage,
            &bases,
            Duration::from_secs(self.worker_timeout_secs),
            Duration::from_secs(self.worker_open_secs),
        )
        .map(Some)
    }
}

/// The remote workers of each stage that has some; the others run in the coordinator.
#[derive(Debug, Default)]
pub struct WorkerPools {
    /// Ingest's.
    pub ingest: Option<WorkerPool>,
    /// Embedding's.
    pub embedding: Option<WorkerPool>,
    /// Assembly's.
    pub assembly: Option<WorkerPool>,
    /// Generation's.
    pub generation: Option<WorkerPool>,
    /// Packing's.
    pub packer: Option<WorkerPool>,
}

/// Why a stage's work did not get done.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StageError {
    /// The work failed: the job fails with this error.
    #[error("{}", .0.message)]
    Failed(ErrorInfo),
    /// No worker could do it now: the same work may succeed later.
    #[error("{0}")]
    Unavailable(String),
}

impl StageError {
    /// A failure of this process's own machinery (a thread that died, say).
    fn internal(what: impl std::fmt::Display) -> Self {
        StageError::Failed(ErrorInfo::new("internal", what.to_string()))
    }
}

impl From<CallError> for StageError {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Unavailable(reason) | CallError::Broken(reason) => {
                StageError::Unavailable(reason)
            }
            CallError::Refused(info) => StageError::Failed(info),
        }
    }
}

/// What a stage is given besides its input while it runs: the emitter of its events, where to
/// send them as they happen (stages that stream: ingest and generation), and the token that
/// stops it.
#[derive(Debug)]
pub struct Run {
    /// Numbers the events the stage makes here.
    pub emitter: EventEmitter,
    /// Where its events go; a closed channel only means nobody listens any more.
    pub events: mpsc::UnboundedSender<Envelope>,
    /// Cancelled when the job is.
    pub cancel: CancellationToken,
}

impl Run {
    /// A run with `emitter`, stopped by `cancel`, and the receiver of its events.
    pub fn new(
        emitter: EventEmitter,
        cancel: CancellationToken,
    ) -> (Self, mpsc::UnboundedReceiver<Envelope>) {
        let (events, received) = mpsc::unbounded_channel();
        let run = Self {
            emitter,
            events,
            cancel,
        };
        (run, received)
    }

    /// Sends `envelope` on to whoever listens.
    fn send(&self, envelope: Envelope) {
        // A closed channel only means nobody is listening any more.
        let _ = self.events.send(envelope);
    }
}

/// One stage's work, wherever it runs: its contract's input in, its output out.
#[async_trait]
pub trait Runner<C: Contract>: std::fmt::Debug + Send + Sync {
    /// Runs the stage on `input`; its events go to `run`.
    async fn run(&self, input: C::Input, run: Run) -> Result<C::Output, StageError>;
}

/// The stages, each on its runner.
#[derive(Debug)]
pub struct Stages {
    settings: PipelineSettings,
    /// Ingest's.
    pub ingest: Box<dyn Runner<Ingest>>,
    /// Embedding's.
    pub embed: Box<dyn Runner<Embed>>,
    /// Assembly's.
    pub assemble: Box<dyn Runner<Assemble>>,
    /// Generation's.
    pub generate: Box<dyn Runner<Generate>>,
    /// Packing's.
    pub pack: Box<dyn Runner<Pack>>,
    /// The remote workers' pools, health-checked.
    pools: Vec<Arc<WorkerPool>>,
}

/// The runner of a stage: on its workers when it has some, else here (made by `here`).
fn runner<C: Contract>(
    pool: Option<WorkerPool>,
    storage: &Arc<dyn Store>,
    pools: &mut Vec<Arc<WorkerPool>>,
    here: impl FnOnce() -> Result<Box<dyn Runner<C>>, String>,
) -> Result<Box<dyn Runner<C>>, String>
where
    remote::Remote: Runner<C>,
{
    match pool {
        Some(pool) => {
            let pool = Arc::new(pool);
            pools.push(Arc::clone(&pool));
            Ok(Box::new(remote::Remote::new(pool, Arc::clone(storage))))
        }
        None => here(),
    }
}

impl Stages {
    /// The stages `settings` describe, on the workers of `pools` where a stage has some (the
    /// model is then not loaded here); docpacks and artifacts go to `storage`. The error says
    /// what to do.
    pub fn load(
        settings: PipelineSettings,
        pools: WorkerPools,
        storage: Arc<dyn Store>,
    ) -> Result<Self, String> {
        let mut remote = Vec::new();
        let ingest = runner::<Ingest>(pools.ingest, &storage, &mut remote, || {
            Ok(Box::new(local::LocalIngest::new(settings.ingest.clone())))
        })?;
        let embed = runner::<Embed>(pools.embedding, &storage, &mut remote, || {
            Ok(Box::new(local::LocalEmbed::load(&settings)?))
        })?;
        let assemble = runner::<Assemble>(pools.assembly, &storage, &mut remote, || {
            Ok(Box::new(local::LocalAssemble::new(
                settings.assembly.options(),
            )))
        })?;
        let generate = runner::<Generate>(pools.generation, &storage, &mut remote, || {
            Ok(Box::new(local::LocalGenerate::load(&settings)?))
        })?;
        let pack = runner::<Pack>(pools.packer, &storage, &mut remote, || {
            Ok(Box::new(local::LocalPack::new(Arc::clone(&storage))))
        })?;
        Ok(Self {
            settings,
            ingest,
            embed,
            assemble,
            generate,
            pack,
            pools: remote,
        })
    }

    /// Every stage's settings.
    pub fn settings(&self) -> &PipelineSettings {
        &self.settings
    }

    /// The job a request for `repo_url` at `git_ref` asks for.
    pub fn job(&self, repo_url: &str, git_ref: Option<&str>) -> Result<IngestJob, InvalidRequest> {
        self.settings.ingest.github_job(repo_url, git_ref)
    }

    /// Health-checks the remote workers every few seconds until `stop`, reporting them in
    /// `readiness` (what `/health` shows).
    pub async fn watch_workers(&self, readiness: Readiness, stop: CancellationToken) {
        if self.pools.is_empty() {
            return;
        }
        let report = |readiness: &Readiness| {
            for pool in &self.pools {
                readiness.set_detail(&format!("{}_workers", pool.stage()), pool.status());
            }
        };
        report(&readiness);
        loop {
            for pool in &self.pools {
                pool.check_health().await;
            }
            report(&readiness);
            tokio::select! {
                () = tokio::time::sleep(HEALTH_EVERY) => {}
                () = stop.cancelled() => return,
            }
        }
    }
}

/// What `completion` (from `writer`) says was stored, refused when a part is missing.
fn packed(
    completion: doctown_events::PackCompleted,
    writer: &str,
) -> Result<doctown_contracts::pack::Packed, StageError> {
    doctown_contracts::pack::Packed::try_from(completion).map_err(|what| {
        StageError::Failed(ErrorInfo::new(
            "invalid_answer",
            format!(
                "{writer}'s answer has no valid `{what}`; check that the packers run the \
                 coordinator's version"
            ),
        ))
    })
}
