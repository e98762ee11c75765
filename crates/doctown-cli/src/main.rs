//! `doctown`: the command-line front of Doctown.

mod cli;
mod docpack;
mod generate;
mod ingest;
mod symbols;

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli: Cli = doctown_config::parse();
    init_logging(cli.verbose);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, so stdout stays clean for JSON output. `RUST_LOG` wins over `-v`.
fn init_logging(verbose: u8) {
    let default_level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

fn run(command: Command) -> Result<(), String> {
    let name = match command {
        Command::Symbols {
            path,
            chunks,
            calls,
            imports,
        } => {
            let records = match (chunks, calls, imports) {
                (true, _, _) => symbols::Records::Chunks,
                (_, true, _) => symbols::Records::Calls,
                (_, _, true) => symbols::Records::Imports,
                _ => symbols::Records::Symbols,
            };
            return symbols::run(&path, records).map_err(|err| err.to_string());
        }
        Command::Ingest {
            source,
            events,
            settings,
        } => {
            return ingest::run(&source.source, source.git_ref.as_deref(), events, &settings);
        }
        Command::Inspect { file } => return docpack::inspect(&file),
        Command::Verify { file } => return docpack::verify(&file),
        Command::Export {
            file,
            format,
            output,
        } => return docpack::export(&file, format, output.as_deref()),
        Command::Generate {
            source,
            output,
            events,
            settings,
        } => {
            return generate::generate(
                &source.source,
                source.git_ref.as_deref(),
                output.as_deref(),
                events,
                &settings,
            );
        }
        Command::Serve { .. } => "serve",
    };
    tracing::debug!(command = name, "dispatching");
    Err(format!(
        "`doctown {name}` is not available in this build yet"
    ))
}
