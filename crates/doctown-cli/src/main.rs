//! `doctown`: the command-line front of Doctown.

mod allocator;
mod cli;
mod docpack;
mod generate;
mod ingest;
mod serve;
mod shown;
mod symbols;

use std::io::IsTerminal;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli: Cli = doctown_config::parse();
    // A server says where it listens: info at the least.
    let verbose = match cli.command {
        Command::Serve { .. } => cli.verbose.max(1),
        _ => cli.verbose,
    };
    init_logging(verbose);
    run(cli.command)
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

fn run(command: Command) -> ExitCode {
    let done = match command {
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
            symbols::run(&path, records).map_err(|err| err.to_string())
        }
        Command::Ingest {
            source,
            events,
            settings,
        } => ingest::run(&source.source, source.git_ref.as_deref(), events, &settings),
        Command::Inspect { file } => docpack::inspect(&file),
        Command::Verify { file } => docpack::verify(&file),
        Command::Export {
            file,
            format,
            output,
            mermaid_js,
        } => docpack::export(&file, format, output.as_deref(), mermaid_js.as_deref()),
        Command::Generate {
            source,
            output,
            events,
            settings,
        } => generate::generate(
            &source.source,
            source.git_ref.as_deref(),
            output.as_deref(),
            events,
            &settings,
        ),
        // It reports its own errors, as every Doctown server does.
        Command::Serve {
            serve,
            site,
            storage,
            settings,
        } => {
            allocator::return_freed_memory_at_once();
            return serve::run(&serve, &storage, &site, *settings);
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {}", shown::shown(&message));
            ExitCode::FAILURE
        }
    }
}
