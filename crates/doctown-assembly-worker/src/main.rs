//! `doctown-assembly`: the assembly worker. `POST /assemble` with a job's embedded chunks and
//! its files' analyses answers with the clusters (labelled), the code graph and every symbol's
//! context, as an event stream or one JSON document.

mod routes;

use std::process::ExitCode;

use clap::Parser;
use doctown_assembly::AssemblySettings;
use doctown_storage::StorageSettings;
use doctown_worker::{Identity, Readiness, ServeSettings, init_logging, run};

/// The assembly worker: POST /assemble clusters embedded chunks and builds the code graph.
///
/// Every setting can also be given by the environment variable named in brackets.
#[derive(Debug, Parser)]
#[command(name = "doctown-assembly", version, max_term_width = 100)]
struct Command {
    #[command(flatten)]
    serve: ServeSettings,

    #[command(flatten)]
    assembly: AssemblySettings,

    /// Where inputs sent by reference are read from: the coordinator's store.
    #[command(flatten)]
    storage: StorageSettings,
}

const IDENTITY: Identity = Identity {
    name: "doctown-assembly",
    version: env!("CARGO_PKG_VERSION"),
    // 384 floats per chunk as JSON text (about 4 KiB) plus every file's symbols: 20,000
    // chunks come to about 100 MiB.
    default_max_body_bytes: 256 * 1024 * 1024,
    default_bind: Identity::ALL_INTERFACES,
};

fn main() -> ExitCode {
    let command: Command = doctown_config::parse();
    init_logging();
    let store = match command.storage.store() {
        Ok(store) => store,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let service = routes::AssembleService::new(command.assembly.options(), store);
    run(
        IDENTITY,
        &command.serve,
        Readiness::ready(),
        move |config| service.configure(config),
    )
}
