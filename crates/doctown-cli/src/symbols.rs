//! `doctown symbols`: the symbols, chunks, calls or imports of a folder or file as JSON lines.
//!
//! The record formats are documented in `docs/records.md`.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use doctown_common::{Chunk, Error, FileAnalysis, Language, Symbol, SymbolId};
use doctown_intel::{ChunkOptions, chunk_file, extract, resolve_calls};
use rayon::prelude::*;
use serde_json::{Value, json};

/// Which records to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Records {
    /// One record per symbol.
    Symbols,
    /// One record per chunk.
    Chunks,
    /// One record per call site, with its resolved target.
    Calls,
    /// One record per imported name.
    Imports,
}

/// A source file found under the root: its `/`-separated relative path and its bytes.
struct SourceFile {
    path: String,
    bytes: Vec<u8>,
    language: Language,
}

/// Reads every file under `root` (or `root` itself) that has a language, honouring `.gitignore`
/// and skipping hidden files.
fn read_sources(root: &Path) -> Result<(Vec<SourceFile>, PathBuf), Error> {
    let metadata = std::fs::metadata(root).map_err(|err| Error::io("read", root, err))?;
    let base = if metadata.is_file() {
        root.parent().map(Path::to_path_buf).unwrap_or_default()
    } else {
        root.to_path_buf()
    };
    let mut paths = Vec::new();
    for entry in ignore::WalkBuilder::new(root)
        .sort_by_file_name(|a, b| a.cmp(b))
        .build()
    {
        let entry =
            entry.map_err(|err| Error::io("read", root, io::Error::other(err.to_string())))?;
        if entry.file_type().is_some_and(|t| t.is_file()) {
            paths.push(entry.into_path());
        }
    }
    let files = paths
        .into_par_iter()
        .map(|path| -> Result<Option<SourceFile>, Error> {
            let bytes = std::fs::read(&path).map_err(|err| Error::io("read", &path, err))?;
            let Some(language) = Language::detect(&path, &bytes) else {
                return Ok(None);
            };
            let relative = path.strip_prefix(&base).unwrap_or(&path);
            let relative = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            Ok(Some(SourceFile {
                path: relative,
                bytes,
                language,
            }))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok((files.into_iter().flatten().collect(), base))
}

/// Prints the `records` of everything under `root` to stdout, one JSON object per line.
pub(crate) fn run(root: &Path, records: Records) -> Result<(), Error> {
    let (sources, _) = read_sources(root)?;
    let mut analyses: Vec<FileAnalysis> = sources
        .par_iter()
        .map(|file| extract(&file.path, &file.bytes, file.language))
        .collect();
    for analysis in &analyses {
        if let Some(reason) = &analysis.skipped {
            tracing::warn!(path = %analysis.path, "skipped: {reason}");
        } else if analysis.parse_errors > 0 {
            tracing::info!(path = %analysis.path, errors = analysis.parse_errors, "syntax errors");
        }
    }
    if records == Records::Calls {
        resolve_calls(&mut analyses);
    }
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = write_records(&mut out, &sources, &analyses, records).and_then(|()| out.flush());
    match result {
        // A closed pipe (`doctown symbols . | head`) is the reader's choice, not an error.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(Error::from),
    }
}

fn write_records(
    out: &mut impl Write,
    sources: &[SourceFile],
    analyses: &[FileAnalysis],
    records: Records,
) -> io::Result<()> {
    let options = ChunkOptions::default();
    let names: HashMap<SymbolId, &str> = analyses
        .iter()
        .flat_map(|a| &a.symbols)
        .map(|s| (s.id, s.qualified_name.as_str()))
        .collect();
    for (source, analysis) in sources.iter().zip(analyses) {
        let lines: Vec<Value> = match records {
            Records::Symbols => analysis
                .symbols
                .iter()
                .map(|s| symbol_record(analysis, s, &names))
                .collect(),
            Records::Chunks => chunk_file(
                &source.path,
                &source.bytes,
                Some(source.language),
                Some(analysis),
                &options,
            )
            .iter()
            .map(chunk_record)
            .collect(),
            Records::Calls => call_records(analysis, &names),
            Records::Imports => analysis
                .imports
                .iter()
                .map(|import| {
                    json!({
                        "path": analysis.path,
                        "import": import.path,
                        "module": import.module,
                        "name": import.name,
                        "alias": import.alias,
                        "level": import.level,
                        "kind": import.kind,
                        "line": import.line,
                    })
                })
                .collect(),
        };
        for line in lines {
            serde_json::to_writer(&mut *out, &line)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

fn symbol_record(
    analysis: &FileAnalysis,
    symbol: &Symbol,
    names: &HashMap<SymbolId, &str>,
) -> Value {
    let mut record = json!({
        "path": analysis.path,
        "language": analysis.language,
        "id": symbol.id,
        "name": symbol.name,
        "qualified_name": symbol.qualified_name,
        "kind": symbol.kind,
        "visibility": symbol.visibility,
        "start_line": symbol.line_range.start(),
        "end_line": symbol.line_range.end(),
        "start_byte": symbol.byte_range.start(),
        "end_byte": symbol.byte_range.end(),
        "parent": symbol.parent.and_then(|id| names.get(&id)),
        "parent_id": symbol.parent,
        "signature": symbol.signature,
    });
    if let Some(doc) = &symbol.doc {
        record["doc"] = json!(doc);
    }
    if !symbol.decorators.is_empty() {
        record["decorators"] = json!(symbol.decorators);
    }
    if !symbol.tags.is_empty() {
        record["tags"] = json!(symbol.tags);
    }
    record
}

fn chunk_record(chunk: &Chunk) -> Value {
    json!({
        "path": chunk.path,
        "language": chunk.language,
        "chunk_id": chunk.chunk_id,
        "symbol_ids": chunk.symbol_ids,
        "start_line": chunk.line_range.start(),
        "end_line": chunk.line_range.end(),
        "start_byte": chunk.byte_range.start(),
        "end_byte": chunk.byte_range.end(),
        "content": chunk.content,
    })
}

fn call_records(analysis: &FileAnalysis, names: &HashMap<SymbolId, &str>) -> Vec<Value> {
    analysis
        .symbols
        .iter()
        .flat_map(|caller| {
            caller.calls.iter().map(move |call| {
                json!({
                    "path": analysis.path,
                    "caller": caller.qualified_name,
                    "caller_id": caller.id,
                    "callee": call.callee,
                    "name": call.name,
                    "receiver": call.receiver,
                    "kind": call.kind,
                    "line": call.line,
                    "start_byte": call.byte_range.start(),
                    "end_byte": call.byte_range.end(),
                    "target_id": call.target,
                    "target": call.target.and_then(|id| names.get(&id)),
                })
            })
        })
        .collect()
}
