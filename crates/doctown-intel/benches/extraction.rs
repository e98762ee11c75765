//! Extraction speed on real trees, next to tree-sitter's parse alone and to universal-ctags.
//!
//! `cargo bench -p doctown-intel --bench extraction -- DIR...` reads every file under the DIRs
//! whose language Doctown parses (into memory first, so disk speed is not measured), then times,
//! on 1 and 2 threads: parsing only; extraction (parse + symbols, calls, imports); extraction plus
//! chunking (each the fastest of three runs). Then call resolution over all files, and `ctags -R`
//! on the same DIRs when universal-ctags is installed. Prints MB/s, files/s and the extraction /
//! parse-only ratio.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use doctown_common::{FileAnalysis, Language};
use doctown_intel::{ChunkOptions, Extractor, chunk_file, resolve_calls};

struct Source {
    path: String,
    bytes: Vec<u8>,
    language: Language,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !entry.file_name().to_string_lossy().starts_with('.') {
                collect(&path, out);
            }
        } else if kind.is_file() {
            out.push(path);
        }
    }
}

/// How many times each measurement runs; the fastest run is reported, the one least disturbed by
/// whatever else the machine is doing. The measurements take turns, so that a slow spell of the
/// machine hits all of them alike.
const RUNS: usize = 3;

fn timed<T: Send>(
    sources: &[Source],
    threads: usize,
    work: &(impl Fn(&mut Extractor, &Source) -> T + Sync),
) -> (Duration, Vec<T>) {
    let next = AtomicUsize::new(0);
    let start = Instant::now();
    let mut results: Vec<(usize, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut extractor = Extractor::new();
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(source) = sources.get(i) else { break };
                        done.push((i, work(&mut extractor, source)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let elapsed = start.elapsed();
    results.sort_by_key(|(i, _)| *i);
    (elapsed, results.into_iter().map(|(_, r)| r).collect())
}

fn rate(label: &str, bytes: usize, files: usize, elapsed: Duration, parse: Option<Duration>) {
    let seconds = elapsed.as_secs_f64();
    let ratio = parse
        .map(|p| format!("  {:.2}x parse-only", seconds / p.as_secs_f64()))
        .unwrap_or_default();
    println!(
        "  {label:<28} {:>8.3} s  {:>7.2} MB/s  {:>8.0} files/s{ratio}",
        seconds,
        bytes as f64 / 1e6 / seconds,
        files as f64 / seconds
    );
}

fn main() {
    let dirs: Vec<PathBuf> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
        .collect();
    assert!(
        !dirs.is_empty(),
        "usage: cargo bench -p doctown-intel --bench extraction -- DIR..."
    );
    let mut paths = Vec::new();
    for dir in &dirs {
        collect(dir, &mut paths);
    }
    let sources: Vec<Source> = paths
        .iter()
        .filter_map(|path| {
            let bytes = std::fs::read(path).ok()?;
            let language = Language::detect(path, &bytes)?;
            Some(Source {
                path: path.to_string_lossy().into_owned(),
                bytes,
                language,
            })
        })
        .collect();
    let bytes: usize = sources.iter().map(|s| s.bytes.len()).sum();
    let files = sources.len();
    let mut by_language = std::collections::BTreeMap::new();
    for source in &sources {
        *by_language.entry(source.language.id()).or_insert(0usize) += 1;
    }
    println!(
        "{files} files, {:.1} MB: {by_language:?}",
        bytes as f64 / 1e6
    );

    let options = ChunkOptions::default();
    let mut last_analyses: Vec<FileAnalysis> = Vec::new();
    for threads in [1, 2] {
        println!("{threads} thread(s):");
        let mut best = [Duration::MAX; 3];
        let mut analyses = Vec::new();
        let mut chunks = Vec::new();
        for _ in 0..RUNS {
            let (elapsed, trees) = timed(
                &sources,
                threads,
                &|extractor: &mut Extractor, s: &Source| {
                    extractor.parse(s.language, &s.bytes).is_some()
                },
            );
            assert!(trees.iter().all(|parsed| *parsed));
            best[0] = best[0].min(elapsed);
            let (elapsed, results) = timed(
                &sources,
                threads,
                &|extractor: &mut Extractor, s: &Source| {
                    extractor.extract(&s.path, &s.bytes, s.language)
                },
            );
            best[1] = best[1].min(elapsed);
            analyses = results;
            let (elapsed, counts) = timed(
                &sources,
                threads,
                &|extractor: &mut Extractor, s: &Source| {
                    let analysis = extractor.extract(&s.path, &s.bytes, s.language);
                    chunk_file(
                        &s.path,
                        &s.bytes,
                        Some(s.language),
                        Some(&analysis),
                        &options,
                    )
                    .len()
                },
            );
            best[2] = best[2].min(elapsed);
            chunks = counts;
        }
        let [parse, extract, chunked] = best;
        rate("tree-sitter parse only", bytes, files, parse, None);
        rate("extraction", bytes, files, extract, Some(parse));
        rate("extraction + chunks", bytes, files, chunked, Some(parse));
        let symbols: usize = analyses.iter().map(|a| a.symbols.len()).sum();
        let calls: usize = analyses
            .iter()
            .flat_map(|a| &a.symbols)
            .map(|s| s.calls.len())
            .sum();
        println!(
            "  {symbols} symbols, {calls} calls, {} chunks, {} files with syntax errors",
            chunks.iter().sum::<usize>(),
            analyses.iter().filter(|a| a.parse_errors > 0).count()
        );
        last_analyses = analyses;
    }

    let start = Instant::now();
    resolve_calls(&mut last_analyses);
    let resolved = last_analyses
        .iter()
        .flat_map(|a| &a.symbols)
        .flat_map(|s| &s.calls)
        .filter(|c| c.target.is_some())
        .count();
    println!(
        "call resolution over all files: {:.3} s, {resolved} calls resolved",
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let ctags = std::process::Command::new("ctags")
        .args([
            "-R",
            "--languages=Rust,Python,Go,JavaScript,TypeScript",
            "-f",
            "/dev/null",
        ])
        .args(&dirs)
        .status();
    match ctags {
        Ok(status) if status.success() => {
            rate("ctags -R (1 thread)", bytes, files, start.elapsed(), None);
        }
        _ => println!("ctags -R: not available (install universal-ctags to compare)"),
    }
}
