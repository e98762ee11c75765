//! `doctown-ingest`: the ingest worker. `POST /ingest` with a GitHub repository URL answers with
//! the job's events as Server-Sent Events: the files, their symbols and chunks, and the totals.

mod routes;

use std::process::ExitCode;

use clap::Parser;
use doctown_ingest::IngestSettings;
use doctown_worker::{Identity, Readiness, ServeSettings, background_runtime, init_logging, run};

/// The ingest worker: POST /ingest {"repo_url", "git_ref"?, "job_id"?} streams the job's events.
///
/// Every setting can also be given by the environment variable named in brackets.
#[derive(Debug, Parser)]
#[command(name = "doctown-ingest", version, max_term_width = 100)]
struct Command {
    #[command(flatten)]
    serve: ServeSettings,

    #[command(flatten)]
    ingest: IngestSettings,
}

const IDENTITY: Identity = Identity {
    name: "doctown-ingest",
    version: env!("CARGO_PKG_VERSION"),
    default_max_body_bytes: 64 * 1024,
    default_bind: Identity::ALL_INTERFACES,
};

fn main() -> ExitCode {
    let command: Command = doctown_config::parse();
    init_logging();
    // Jobs block their own threads; their downloads run here.
    let downloads = match background_runtime("doctown-ingest-download") {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the download runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let service = routes::IngestService::new(command.ingest, downloads.handle().clone());
    let code = run(
        IDENTITY,
        &command.serve,
        Readiness::ready(),
        move |config| service.configure(config),
    );
    downloads.shutdown_background();
    code
}
