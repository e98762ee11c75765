//! `doctown-generation`: the generation worker. `POST /generate` with symbols and their contexts
//! answers with a 1-2 sentence summary of each (from the configured OpenAI-compatible model, the
//! summary cache, or the offline summarizer), with tokens and cost, as events or one JSON
//! document.

mod routes;

use std::process::ExitCode;

use clap::Parser;
use doctown_generation::{GenerationSettings, Generator};
use doctown_storage::StorageSettings;
use doctown_worker::{Identity, Readiness, ServeSettings, init_logging, run};

/// The generation worker: POST /generate summarizes symbols.
///
/// Every setting can also be given by the environment variable named in brackets.
#[derive(Debug, Parser)]
#[command(name = "doctown-generation", version, max_term_width = 100)]
struct Command {
    #[command(flatten)]
    serve: ServeSettings,

    #[command(flatten)]
    generation: GenerationSettings,

    /// Where inputs sent by reference are read from: the coordinator's store.
    #[command(flatten)]
    storage: StorageSettings,
}

const IDENTITY: Identity = Identity {
    name: "doctown-generation",
    version: env!("CARGO_PKG_VERSION"),
    // A context is a few hundred bytes plus the code excerpt: 10,000 symbols fit.
    default_max_body_bytes: 64 * 1024 * 1024,
    default_bind: Identity::ALL_INTERFACES,
};

fn main() -> ExitCode {
    let command: Command = doctown_config::parse();
    init_logging();
    let generator = match Generator::from_settings(&command.generation) {
        Ok(generator) => generator,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let store = match command.storage.store() {
        Ok(store) => store,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::FAILURE;
        }
    };
    let readiness = Readiness::ready();
    readiness.set_detail(
        "mode",
        serde_json::to_value(generator.mode()).unwrap_or_default(),
    );
    readiness.set_detail("model", generator.model().into());
    tracing::info!(mode = ?generator.mode(), model = generator.model(), "summaries ready");
    let service = routes::GenerateService::new(generator, command.generation.max_cost_usd, store);
    run(IDENTITY, &command.serve, readiness, move |config| {
        service.configure(config)
    })
}
