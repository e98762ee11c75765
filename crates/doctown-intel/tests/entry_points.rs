//! Where execution starts and what a file says of itself: entry points (mains, command-line
//! definitions, HTTP routes) and file doc comments, as each language's conventions write them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use doctown_common::{EntryKind, FileAnalysis, Language};

fn analyse(path: &str, language: Language, source: &str) -> FileAnalysis {
    doctown_intel::extract(path, source.as_bytes(), language)
}

/// The entry points as `kind name → handler` lines, with the symbol that declares each.
fn entries(analysis: &FileAnalysis) -> Vec<String> {
    analysis
        .entry_points
        .iter()
        .map(|entry| {
            let symbol = entry
                .symbol
                .and_then(|id| analysis.symbols.iter().find(|s| s.id == id))
                .map_or("-".to_owned(), |s| s.qualified_name.clone());
            let kind = match entry.kind {
                EntryKind::Main => "main",
                EntryKind::Command => "command",
                EntryKind::Route => "route",
            };
            let handler = entry.handler.as_deref().unwrap_or("-");
            format!(
                "{kind} {} @{} in {symbol} → {handler}",
                entry.name, entry.line
            )
        })
        .collect()
}

#[test]
fn rust_mains_clap_parsers_and_routes() {
    let analysis = analyse(
        "src/main.rs",
        Language::Rust,
        r#"//! The server's binary.
//!
//! More about it.

#[derive(Debug, clap::Parser)]
#[command(name = "serve", version)]
struct Args { port: u16 }

#[derive(Subcommand)]
enum Command { Run }

#[actix_web::get("/health")]
async fn health() -> &'static str { "ok" }

fn router() -> Router {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/{id}", web::delete().to(remove))
}

fn main() { router(); }

mod inner { fn main() {} }
"#,
    );
    assert_eq!(
        analysis.doc.as_deref(),
        Some("The server's binary.\n\nMore about it.")
    );
    assert_eq!(
        entries(&analysis),
        [
            "command serve @7 in Args → -",
            "command Command @10 in Command → -",
            "route GET /health @13 in health → -",
            "route DELETE /users/{id} @18 in router → remove",
            "route GET /users @17 in router → create_user",
            "main main @21 in main → -",
        ]
    );
}

#[test]
fn python_guards_argparse_and_decorated_routes() {
    let analysis = analyse(
        "app/cli.py",
        Language::Python,
        r#""""Command-line tools for the app."""
import argparse
from flask import Flask

app = Flask(__name__)

@app.route("/items", methods=["POST"])
def create_item():
    return "ok"

@router.get('/items/{id}')
async def read_item(id: int):
    return id

@click.command()
def sync_all():
    pass

def main():
    parser = argparse.ArgumentParser(prog="tool")
    commands = parser.add_subparsers()
    commands.add_parser("build")

if __name__ == '__main__':
    main()
"#,
    );
    assert_eq!(
        analysis.doc.as_deref(),
        Some("Command-line tools for the app.")
    );
    assert_eq!(
        entries(&analysis),
        [
            "route POST /items @8 in create_item → -",
            "route GET /items/{id} @12 in read_item → -",
            "command sync-all @16 in sync_all → -",
            "command tool @20 in main → -",
            "command build @22 in main → -",
            "main __main__ @24 in - → -",
        ]
    );
}

#[test]
fn go_mains_handlers_and_cobra_commands() {
    let analysis = analyse(
        "cmd/server/main.go",
        Language::Go,
        r#"// Command server serves the API.
//
// It listens on :8080.
package main

import "net/http"

var rootCmd = &cobra.Command{
	Use:   "server [flags]",
	Short: "Serves the API",
}

func main() {
	http.HandleFunc("/users", listUsers)
	mux.Handle("GET /items/{id}", http.HandlerFunc(getItem))
	r.GET("/health", func(c *gin.Context) {})
	cache.Get("/not-a-route")
}
"#,
    );
    assert_eq!(
        analysis.doc.as_deref(),
        Some("Command server serves the API.\n\nIt listens on :8080.")
    );
    assert_eq!(
        entries(&analysis),
        [
            "command server @9 in - → -",
            "main main @13 in main → -",
            "route /users @14 in main → listUsers",
            "route GET /items/{id} @15 in main → getItem",
            "route GET /health @16 in main → -",
        ]
    );
}

#[test]
fn ecmascript_routes_commands_and_file_overviews() {
    let analysis = analyse(
        "src/server.ts",
        Language::TypeScript,
        r#"#!/usr/bin/env node
/**
 * @fileoverview The HTTP server and its command line.
 */
import express from "express";
import { Command } from "commander";

const app = express();
app.get("/users/:id", getUser);
app.post("/users", async (req, res) => { res.send("ok"); });
router.delete("/users/:id", users.remove);
const config = settings.get("/path");

const program = new Command("doctown");
program.command("serve <dir>").action(serve);
"#,
    );
    assert_eq!(
        analysis.doc.as_deref(),
        Some("The HTTP server and its command line.")
    );
    assert_eq!(
        entries(&analysis),
        [
            "route GET /users/:id @9 in - → getUser",
            "route POST /users @10 in - → -",
            "route DELETE /users/:id @11 in - → users.remove",
            "command doctown @14 in - → -",
            "command serve @15 in - → -",
        ]
    );

    let documented_declaration = analyse(
        "src/util.js",
        Language::JavaScript,
        "/** Adds two numbers. */\nexport function add(a, b) { return a + b; }\n",
    );
    assert_eq!(
        documented_declaration.doc, None,
        "a JSDoc block right above a declaration documents the declaration, not the file"
    );
    let separated = analyse(
        "src/util.js",
        Language::JavaScript,
        "/**\n * Small helpers.\n */\n\nexport function add(a, b) { return a + b; }\n",
    );
    assert_eq!(separated.doc.as_deref(), Some("Small helpers."));
}
