//! Any text as the configuration file: reading it into a command's settings must give settings
//! or an error, never panic.

#![no_main]

use std::path::Path;

use clap::Parser;
use doctown_ingest::IngestSettings;
use libfuzzer_sys::fuzz_target;

/// A command with settings of every shape: ingest's (numbers, strings, URLs) and a few more.
#[derive(Debug, Parser)]
struct Command {
    #[command(flatten)]
    ingest: IngestSettings,
    /// A switch.
    #[arg(long, env = "DOCTOWN_OFFLINE")]
    offline: bool,
    /// A list.
    #[arg(long, env = "DOCTOWN_CORS_ORIGINS", value_delimiter = ',')]
    cors_origins: Vec<String>,
    /// A float.
    #[arg(long, env = "DOCTOWN_MAX_COST_USD")]
    max_cost_usd: Option<f64>,
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = doctown_config::parse_with_text::<Command, _, _>(["doctown"], &text, Path::new("fuzz.toml"));
});
