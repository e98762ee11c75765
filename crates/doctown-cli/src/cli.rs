//! The command line: what `doctown --help` shows.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};
use doctown_coordinator::SiteSettings;
use doctown_ingest::IngestSettings;
use doctown_pipeline::PipelineSettings;
use doctown_storage::StorageSettings;
use doctown_worker::ServeSettings;

use crate::docpack::ExportFormat;

/// Turn a code repository into documentation people and programs can navigate.
///
/// Doctown reads a repository (a GitHub URL, a folder or an archive), extracts every symbol with
/// tree-sitter, embeds and clusters the code, writes a short summary for each symbol and packs it
/// all into a portable, checksummed `.docpack`.
#[derive(Debug, Parser)]
#[command(
    name = "doctown",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub(crate) struct Cli {
    /// More log output on stderr: -v info, -vv debug, -vvv trace. RUST_LOG overrides it.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub(crate) verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Read a repository and report its files, languages, symbols and chunks.
    ///
    /// SOURCE is a GitHub URL (https://github.com/owner/repo, optionally /tree/<ref>), a local
    /// folder, a git checkout, or a .zip / .tar.gz archive. Shows live progress and ends with a
    /// summary table. Each setting below can also be given by its environment variable.
    Ingest {
        /// The repository to read.
        #[command(flatten)]
        source: SourceArgs,

        /// Print the raw event stream (one JSON envelope per line) instead.
        #[arg(long)]
        events: bool,

        /// Limits, and where GitHub is.
        #[command(flatten)]
        settings: IngestSettings,
    },

    /// Print the symbols found under a folder or in a file, one JSON object per line.
    ///
    /// Files are found as git would (.gitignore honoured, hidden files skipped) and parsed when
    /// their language is known. The record formats are documented in docs/records.md.
    Symbols {
        /// The folder or file to read.
        path: PathBuf,

        /// Print the chunks (the units that are embedded) instead.
        #[arg(long, group = "records")]
        chunks: bool,

        /// Print the call sites, with the symbol each resolves to, instead.
        #[arg(long, group = "records")]
        calls: bool,

        /// Print the imports instead.
        #[arg(long, group = "records")]
        imports: bool,
    },

    /// Build a .docpack: ingest, embed, cluster, summarise and pack a repository.
    Generate {
        /// The repository to document.
        #[command(flatten)]
        source: SourceArgs,

        /// Where to write the docpack (default: NAME.docpack here, after the source).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,

        /// Print the raw event stream (one JSON envelope per line) instead of progress.
        #[arg(long)]
        events: bool,

        /// Every stage's settings.
        #[command(flatten)]
        settings: Box<PipelineSettings>,
    },

    /// Show a docpack's manifest, statistics, largest clusters, the outline of its pages and its
    /// most central symbols.
    Inspect {
        /// The .docpack file.
        file: PathBuf,
    },

    /// Check a docpack's schema version and checksums; exits non-zero naming the failed check.
    Verify {
        /// The .docpack file.
        file: PathBuf,
    },

    /// Write a docpack out as one JSON document, as readable Markdown (its pages as a folder of
    /// files with `-o DIR`, a listing of every symbol on standard output), or as a static HTML
    /// site with search (`--format html -o DIR`), which opens from the file system.
    Export {
        /// The .docpack file.
        file: PathBuf,

        /// What to write.
        #[arg(long, value_enum, default_value = "markdown")]
        format: ExportFormat,

        /// Where to write it: a file for JSON, a folder (new or empty) for Markdown's pages
        /// and for the HTML site (default: standard output).
        #[arg(short, long, value_name = "PATH")]
        output: Option<PathBuf>,

        /// A copy of mermaid (`mermaid.min.js` from the mermaid npm package) to put in the HTML
        /// site, so that it draws its diagrams offline; without it they show as their source.
        #[arg(long, value_name = "FILE", requires = "output")]
        mermaid_js: Option<PathBuf>,
    },

    /// Serve the coordinator's API on this machine, with no other service to start.
    ///
    /// Jobs run in this process and are kept in memory (they are gone when it stops); docpacks
    /// go to a local folder (or S3). POST /jobs {"repo_url": "https://github.com/owner/repo"},
    /// then follow GET /jobs/<id>/events and download GET /jobs/<id>/docpack;
    /// docs/openapi.json describes the API. Each setting below can also be given by its
    /// environment variable.
    Serve {
        /// Where to listen, CORS, limits.
        #[command(flatten)]
        serve: ServeSettings,

        /// Where docpacks are kept.
        #[command(flatten)]
        storage: StorageSettings,

        /// Every stage's settings.
        #[command(flatten)]
        settings: Box<PipelineSettings>,

        /// The website.
        #[command(flatten)]
        site: SiteSettings,
    },
}

/// Where a repository comes from.
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// A GitHub URL, a local folder, or a .zip / .tar.gz archive.
    pub(crate) source: String,

    /// The branch, tag or commit to read (overrides the one in the URL).
    #[arg(long = "ref", value_name = "REF")]
    pub(crate) git_ref: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn verbosity_counts() {
        let cli = Cli::try_parse_from(["doctown", "-vv", "inspect", "x.docpack"]).unwrap();
        assert_eq!(cli.verbose, 2);
    }
}
