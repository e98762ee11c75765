//! `doctown-coordinator`: the REST + SSE API the website and API users talk to. Jobs move
//! through the stages over Redis Streams (or a queue in this process), their state and events
//! are kept in PostgreSQL, and their docpacks in a local folder or S3-compatible storage.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use doctown_coordinator::{
    Engine, JobStore, MemoryQueue, Parts, PgStore, Queue, QueueNames, QueueOptions, RedisQueue,
    Replayed, STOP_GRACE, SiteSettings, Stages, WorkerSettings, engine_runtime, serve,
};
use doctown_events::Stage;
use doctown_pipeline::PipelineSettings;
use doctown_storage::StorageSettings;
use doctown_worker::{Identity, ServeSettings, init_logging};

/// The coordinator: POST /jobs {"repo_url", "git_ref"?}, then follow GET /jobs/{id}/events and
/// download GET /jobs/{id}/docpack.
///
/// Every setting can also be given by the environment variable named in brackets.
#[derive(Debug, Parser)]
#[command(name = "doctown-coordinator", version, max_term_width = 100)]
struct Command {
    /// What to do instead of serving.
    #[command(subcommand)]
    action: Option<Action>,

    #[command(flatten)]
    serve: ServeSettings,

    #[command(flatten)]
    coordinator: CoordinatorSettings,

    #[command(flatten)]
    storage: StorageSettings,

    #[command(flatten)]
    workers: WorkerSettings,

    #[command(flatten)]
    stages: PipelineSettings,

    #[command(flatten)]
    site: SiteSettings,
}

/// An operator's task, run against the coordinator's own queue and database.
#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Lists the messages that went to the stage streams' dead letters (delivered too often
    /// without being handled), with their jobs; with --replay, replays them once the cause is
    /// fixed: a running job gets its message back, an ended job's repository is submitted again.
    DeadLetters {
        /// Replays the dead letter STAGE:ID (as listed); `all` replays every one.
        #[arg(long, value_name = "STAGE:ID|all")]
        replay: Vec<String>,
    },
}

/// Where the coordinator keeps jobs and moves their work.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Coordinator settings")]
struct CoordinatorSettings {
    /// PostgreSQL, where jobs, their events and their docpacks' records are kept
    /// (postgres://user:password@host:port/database).
    #[arg(long, env = "DOCTOWN_DATABASE_URL", value_name = "URL")]
    database_url: String,

    /// Redis, whose streams carry each job's work from stage to stage (redis://host:port);
    /// without it, a queue in this process, whose pending work a restart loses (the jobs are
    /// queued again from the database).
    #[arg(long, env = "DOCTOWN_REDIS_URL", value_name = "URL")]
    redis_url: Option<String>,

    /// Seconds a message stays with a consumer that stopped before another takes it (work
    /// still running keeps its messages, however long it takes).
    #[arg(
        long,
        env = "DOCTOWN_QUEUE_VISIBILITY_SECS",
        default_value_t = 60,
        value_name = "SECS"
    )]
    queue_visibility_secs: u64,

    /// Deliveries of one message before it goes to its stream's dead letters.
    #[arg(
        long,
        env = "DOCTOWN_QUEUE_MAX_DELIVERIES",
        default_value_t = 5,
        value_name = "N"
    )]
    queue_max_deliveries: u64,

    /// The prefix of the stage streams' names: coordinators of different fleets sharing one
    /// Redis use different ones.
    #[arg(
        long,
        env = "DOCTOWN_QUEUE_NAMESPACE",
        default_value = "doctown",
        value_name = "NAME"
    )]
    queue_namespace: String,

    /// This coordinator's name among the consumers of the stage streams (default: the host
    /// name and process id); a restarted coordinator given its old name takes its pending
    /// messages back at once.
    #[arg(long, env = "DOCTOWN_CONSUMER_NAME", value_name = "NAME")]
    consumer_name: Option<String>,
}

const IDENTITY: Identity = Identity {
    name: "doctown-coordinator",
    version: env!("CARGO_PKG_VERSION"),
    default_max_body_bytes: 64 * 1024,
    default_bind: Identity::ALL_INTERFACES,
};

fn main() -> ExitCode {
    let command: Command = doctown_config::parse();
    init_logging();
    let runtime = match engine_runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the coordinator's runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let options = QueueOptions {
        visibility_timeout: Duration::from_secs(command.coordinator.queue_visibility_secs),
        max_deliveries: command.coordinator.queue_max_deliveries,
    };
    let code = match &command.coordinator.redis_url {
        Some(url) => match runtime.block_on(RedisQueue::connect(url, options)) {
            Ok(queue) => start(queue, &command, &runtime),
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::FAILURE
            }
        },
        None => start(MemoryQueue::new(options), &command, &runtime),
    };
    runtime.shutdown_timeout(STOP_GRACE);
    code
}

/// Connects the store and the storage, loads the stages, and serves until stopped.
fn start<Q: Queue + 'static>(
    queue: Q,
    command: &Command,
    runtime: &tokio::runtime::Runtime,
) -> ExitCode {
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::FAILURE
    };
    let site = match command.site.folder() {
        Ok(site) => site,
        Err(message) => return fail(message),
    };
    let store = match runtime.block_on(PgStore::connect(&command.coordinator.database_url, 8)) {
        Ok(store) => store,
        Err(err) => return fail(err.to_string()),
    };
    let storage = match command.storage.store() {
        Ok(storage) => storage,
        Err(err) => return fail(err.to_string()),
    };
    let pools = match command.workers.pools() {
        Ok(pools) => pools,
        Err(message) => return fail(message),
    };
    let stages = match Stages::load(command.stages.clone(), pools, Arc::clone(&storage)) {
        Ok(stages) => stages,
        Err(message) => return fail(message),
    };
    let names = QueueNames {
        namespace: command.coordinator.queue_namespace.clone(),
        consumer: command
            .coordinator
            .consumer_name
            .clone()
            .unwrap_or_else(default_consumer),
    };
    let parts = Parts {
        identity: IDENTITY,
        queue,
        names,
        store,
        storage,
        stages,
        site,
    };
    match &command.action {
        None => serve(parts, &command.serve, runtime),
        Some(Action::DeadLetters { replay }) => {
            let engine = Engine::new(
                parts.queue,
                parts.names,
                parts.store,
                parts.storage,
                parts.stages,
            );
            match runtime.block_on(dead_letters(&engine, replay)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(message) => fail(message),
            }
        }
    }
}

/// Lists the dead letters, then replays those `replay` names.
async fn dead_letters<Q: Queue + 'static, S: JobStore>(
    engine: &Engine<Q, S>,
    replay: &[String],
) -> Result<(), String> {
    let letters = engine.dead_letters().await.map_err(|err| err.to_string())?;
    if letters.is_empty() {
        println!("no dead letters");
    }
    for (stage, letter) in &letters {
        let job = engine
            .store()
            .job(letter.message.job_id)
            .await
            .map_err(|err| err.to_string())?;
        let status = job.map_or_else(|| "unknown".to_owned(), |job| job.status.to_string());
        println!(
            "{stage}:{}\tjob {} ({status})\tkey {}",
            letter.id, letter.message.job_id, letter.message.key
        );
    }
    let wanted = |stage: Stage, id: &str| {
        replay
            .iter()
            .any(|name| name == "all" || *name == format!("{stage}:{id}"))
    };
    let unknown: Vec<&String> = replay
        .iter()
        .filter(|name| {
            *name != "all"
                && !letters
                    .iter()
                    .any(|(stage, l)| **name == format!("{stage}:{}", l.id))
        })
        .collect();
    if let Some(name) = unknown.first() {
        return Err(format!(
            "there is no dead letter {name}; give one of those listed above as STAGE:ID, or `all`"
        ));
    }
    for (stage, letter) in letters.iter().filter(|(stage, l)| wanted(*stage, &l.id)) {
        let replayed = engine
            .replay(*stage, letter)
            .await
            .map_err(|err| format!("cannot replay {stage}:{}: {err}", letter.id))?;
        let outcome = match replayed {
            Replayed::Requeued => "requeued".to_owned(),
            Replayed::Resubmitted(job_id) => format!("resubmitted as job {job_id}"),
            Replayed::Dropped => "dropped (its job is not known)".to_owned(),
        };
        println!("replayed {stage}:{}: {outcome}", letter.id);
    }
    Ok(())
}

/// The host name and process id.
fn default_consumer() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "coordinator".into());
    format!("{host}-{}", std::process::id())
}
