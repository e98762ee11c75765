//! `doctown serve`: the coordinator in this process, on its in-memory queue and store, with the
//! stages run here, docpacks in a local folder and, given its built folder, the website.

use std::process::ExitCode;
use std::sync::Arc;

use doctown_coordinator::{
    MemoryQueue, MemoryStore, Parts, QueueNames, QueueOptions, STOP_GRACE, SiteSettings, Stages,
    WorkerPools, engine_runtime, serve,
};
use doctown_pipeline::PipelineSettings;
use doctown_storage::StorageSettings;
use doctown_worker::{Identity, ServeSettings};

const IDENTITY: Identity = Identity {
    name: "doctown-serve",
    version: env!("CARGO_PKG_VERSION"),
    default_max_body_bytes: 64 * 1024,
    default_bind: Identity::LOOPBACK,
};

/// Serves until SIGTERM or Ctrl-C.
pub(crate) fn run(
    settings: &ServeSettings,
    storage: &StorageSettings,
    site: &SiteSettings,
    stages: PipelineSettings,
) -> ExitCode {
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::FAILURE
    };
    let site = match site.folder() {
        Ok(site) => site,
        Err(message) => return fail(message),
    };
    if site.is_none() {
        tracing::info!(
            "serving the API only; DOCTOWN_SITE_DIR (--site-dir) serves the website too"
        );
    }
    let runtime = match engine_runtime() {
        Ok(runtime) => runtime,
        Err(err) => return fail(format!("cannot start the runtime: {err}")),
    };
    let storage = match storage.store() {
        Ok(storage) => storage,
        Err(err) => return fail(err.to_string()),
    };
    let stages = match Stages::load(stages, WorkerPools::default(), Arc::clone(&storage)) {
        Ok(stages) => stages,
        Err(message) => return fail(message),
    };
    let parts = Parts {
        identity: IDENTITY,
        queue: MemoryQueue::new(QueueOptions::default()),
        names: QueueNames {
            namespace: "doctown".into(),
            consumer: "serve".into(),
        },
        store: MemoryStore::new(),
        storage,
        stages,
        site,
    };
    let code = serve(parts, settings, &runtime);
    runtime.shutdown_timeout(STOP_GRACE);
    code
}
