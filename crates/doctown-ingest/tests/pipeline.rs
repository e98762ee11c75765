//! Ingesting a folder: what is read, what is skipped and why, the chunks, and the totals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use doctown_common::{Language, SymbolKind};
use doctown_events::SkipReason;
use doctown_ingest::{IngestError, IngestItem, IngestOptions, ingest_tree};
use tokio_util::sync::CancellationToken;

fn write(root: &Path, path: &str, content: &[u8]) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

fn sample_tree() -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path();
    write(
        root,
        "src/lib.rs",
        b"/// Adds.\npub fn add(a: u32, b: u32) -> u32 {\n    a + b\n}\n\nfn unused() {}\n",
    );
    write(
        root,
        "app.py",
        b"import os\n\n\ndef main():\n    print(os.getcwd())\n",
    );
    write(root, "README.md", b"# Sample\n\nA small tree.\n");
    write(root, ".gitignore", b"secret.txt\n");
    write(root, "secret.txt", b"password\n");
    write(
        root,
        "node_modules/left-pad/index.js",
        b"module.exports = 1;\n",
    );
    write(root, "Cargo.lock", b"# lock\n");
    write(root, "logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
    write(root, "data/huge.json", &vec![b' '; 4096]);
    temp
}

fn run(
    root: &Path,
    options: &IngestOptions,
) -> (
    Vec<IngestItem>,
    Result<doctown_events::IngestCompleted, IngestError>,
) {
    let mut items = Vec::new();
    let result = ingest_tree(root, options, &CancellationToken::new(), &mut |item| {
        items.push(item)
    });
    (items, result)
}

#[test]
fn a_folder_is_read_filtered_and_chunked() {
    let temp = sample_tree();
    let options = IngestOptions {
        max_file_bytes: 2048,
        ..IngestOptions::default()
    };
    let (items, result) = run(temp.path(), &options);
    let totals = result.unwrap();

    let skipped: BTreeMap<String, SkipReason> = items
        .iter()
        .filter_map(|item| match item {
            IngestItem::Skipped(s) => Some((s.path.clone(), s.reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        skipped,
        BTreeMap::from([
            ("Cargo.lock".to_owned(), SkipReason::LockFile),
            ("data/huge.json".to_owned(), SkipReason::TooLarge),
            ("logo.png".to_owned(), SkipReason::Binary),
            ("node_modules/".to_owned(), SkipReason::Ignored),
            ("secret.txt".to_owned(), SkipReason::Ignored),
        ])
    );
    let detected: BTreeMap<String, Option<Language>> = items
        .iter()
        .filter_map(|item| match item {
            IngestItem::Detected(d) => Some((d.path.clone(), d.language)),
            _ => None,
        })
        .collect();
    assert_eq!(
        detected,
        BTreeMap::from([
            (".gitignore".to_owned(), None),
            ("README.md".to_owned(), None),
            ("app.py".to_owned(), Some(Language::Python)),
            ("src/lib.rs".to_owned(), Some(Language::Rust)),
        ])
    );
    // Each file's symbols, then its chunks, follow its detection.
    let position = |wanted: &dyn Fn(&IngestItem) -> bool| items.iter().position(wanted).unwrap();
    let lib_detected =
        position(&|i| matches!(i, IngestItem::Detected(d) if d.path == "src/lib.rs"));
    let lib_parsed = position(&|i| matches!(i, IngestItem::Parsed(p) if p.path == "src/lib.rs"));
    let lib_chunk = position(&|i| matches!(i, IngestItem::Chunk(c) if c.path == "src/lib.rs"));
    assert!(lib_detected < lib_parsed && lib_parsed < lib_chunk);
    let mut parsed: Vec<(&str, usize)> = items
        .iter()
        .filter_map(|item| match item {
            IngestItem::Parsed(p) => Some((p.path.as_str(), p.symbols.len())),
            _ => None,
        })
        .collect();
    parsed.sort();
    assert_eq!(
        parsed,
        [("app.py", 1), ("src/lib.rs", 2)],
        "only parsed languages"
    );

    assert_eq!(totals.files, 4);
    assert_eq!(
        totals.files_by_language,
        BTreeMap::from([(Language::Python, 1), (Language::Rust, 1)])
    );
    assert_eq!(
        totals.symbols_by_kind,
        BTreeMap::from([(SymbolKind::Function, 3)])
    );
    let chunks = items
        .iter()
        .filter(|i| matches!(i, IngestItem::Chunk(_)))
        .count() as u64;
    assert_eq!(totals.chunks, chunks);
    assert_eq!(totals.skipped_by_reason.values().sum::<u64>(), 5);
    assert_eq!(
        totals.bytes,
        ["src/lib.rs", "app.py", "README.md", ".gitignore"]
            .iter()
            .map(|p| std::fs::metadata(temp.path().join(p)).unwrap().len())
            .sum::<u64>()
    );
}

#[test]
fn a_tree_over_the_total_limit_fails_before_reading() {
    let temp = sample_tree();
    let options = IngestOptions {
        max_total_bytes: 100,
        max_file_bytes: 2048,
        ..IngestOptions::default()
    };
    let (items, result) = run(temp.path(), &options);
    let err = result.unwrap_err();
    assert_eq!(err.code(), "size_limit_exceeded");
    assert!(err.to_string().contains("over the 100-byte limit"), "{err}");
    assert!(
        !items.iter().any(|i| matches!(i, IngestItem::Chunk(_))),
        "nothing partial is reported"
    );
}

#[test]
fn the_file_count_limit_skips_the_rest() {
    let temp = sample_tree();
    let options = IngestOptions {
        max_files: 2,
        max_file_bytes: 2048,
        ..IngestOptions::default()
    };
    let (_, result) = run(temp.path(), &options);
    let totals = result.unwrap();
    assert_eq!(totals.files, 2);
    assert_eq!(
        totals.skipped_by_reason.get(&SkipReason::LimitReached),
        Some(&4)
    );
}

#[test]
fn a_cancelled_run_says_so() {
    let temp = sample_tree();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let result = ingest_tree(temp.path(), &IngestOptions::default(), &cancel, &mut |_| {});
    assert!(matches!(result, Err(IngestError::Cancelled)));
}
