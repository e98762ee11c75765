//! `doctown-packer`: the packer worker. `POST /pack` with a job's artifacts builds the docpack,
//! stores it (a local folder, or S3-compatible storage such as Cloudflare R2) and answers with its
//! id, checksum, size and download URL; `GET /docpacks/{id}` streams a stored docpack.

mod routes;

use std::process::ExitCode;

use clap::Parser;
use doctown_storage::StorageSettings;
use doctown_worker::{Identity, Readiness, ServeSettings, init_logging, run};

/// The packer worker: POST /pack builds and stores a docpack; GET /docpacks/{id} downloads one.
///
/// Every setting can also be given by the environment variable named in brackets.
#[derive(Debug, Parser)]
#[command(name = "doctown-packer", version, max_term_width = 100)]
struct Command {
    #[command(flatten)]
    serve: ServeSettings,

    #[command(flatten)]
    storage: StorageSettings,

    /// The URL this worker is reached at, for download links when the store cannot sign its
    /// own (the local store); without it, links are paths (`/docpacks/<id>`).
    #[arg(long, env = "DOCTOWN_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
}

const IDENTITY: Identity = Identity {
    name: "doctown-packer",
    version: env!("CARGO_PKG_VERSION"),
    // Artifacts carry every symbol and, with embeddings, 384 floats per chunk: about 4 KiB of
    // JSON a chunk, so 128 MiB holds some 30,000 chunks. A body is held in memory while it is
    // read, so the bound is what one request may cost; larger jobs raise DOCTOWN_MAX_BODY_BYTES.
    default_max_body_bytes: 128 * 1024 * 1024,
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
    let service = routes::PackService::new(store, command.public_url);
    run(
        IDENTITY,
        &command.serve,
        Readiness::ready(),
        move |config| service.configure(config),
    )
}
