//! The `doctown` binary as a user runs it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn doctown(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_doctown"))
        .args(args)
        .output()
        .expect("doctown runs")
}

#[test]
fn help_lists_every_subcommand() {
    let output = doctown(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for subcommand in [
        "ingest", "symbols", "generate", "inspect", "verify", "export", "serve",
    ] {
        assert!(
            help.contains(&format!("  {subcommand} ")),
            "{subcommand} missing from:\n{help}"
        );
    }
}

#[test]
fn version_is_the_crate_version() {
    let output = doctown(&["--version"]);
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap().trim(),
        format!("doctown {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let output = doctown(&["frobnicate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("unrecognized subcommand 'frobnicate'")
    );
}

/// What `doctown ARGS` prints, having checked that it succeeded.
fn succeeded(args: &[&str]) -> String {
    let output = doctown(args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../doctown-intel/tests/fixtures")
}

fn json_lines(args: &[&str]) -> Vec<serde_json::Value> {
    succeeded(args)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn symbols_prints_one_record_per_symbol_with_the_documented_fields() {
    let dir = fixtures();
    let records = json_lines(&["symbols", dir.to_str().unwrap()]);
    let paths: std::collections::BTreeSet<&str> = records
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths.into_iter().collect::<Vec<_>>(),
        [
            "sample.go",
            "sample.jsx",
            "sample.py",
            "sample.rs",
            "sample.ts"
        ]
    );
    let method = records
        .iter()
        .find(|r| r["qualified_name"] == "Parser::step")
        .expect("Parser::step is listed");
    for field in [
        "path",
        "name",
        "qualified_name",
        "kind",
        "start_line",
        "end_line",
        "start_byte",
        "end_byte",
        "parent",
        "signature",
    ] {
        assert!(method.get(field).is_some(), "{field} missing from {method}");
    }
    assert_eq!(method["kind"], "method");
    assert_eq!(method["parent"], "Parser");
    assert_eq!(
        (method["start_line"].as_u64(), method["end_line"].as_u64()),
        (Some(73), Some(75))
    );
}

#[test]
fn symbols_prints_chunks_calls_and_imports_on_request() {
    let file = fixtures().join("sample.py");
    let file = file.to_str().unwrap();
    let chunks = json_lines(&["symbols", "--chunks", file]);
    assert!(
        chunks
            .iter()
            .all(|c| c["chunk_id"].as_str().unwrap().len() == 64)
    );
    let calls = json_lines(&["symbols", "--calls", file]);
    let check = calls.iter().find(|c| c["callee"] == "_check").unwrap();
    assert_eq!(check["caller"], "load");
    assert_eq!(check["target"], "load._check");
    let imports = json_lines(&["symbols", "--imports", file]);
    assert!(
        imports
            .iter()
            .any(|i| i["import"] == "..models.User" && i["level"] == 2)
    );
}

#[test]
fn symbols_of_a_missing_path_is_a_clear_error() {
    let output = doctown(&["symbols", "/no/such/dir"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "error: could not read '/no/such/dir': No such file or directory (os error 2); check that \
         the path exists"
    );
}

/// The envelopes `doctown ingest --events` prints, checked for order.
fn ingest_events(
    args: &[&str],
    envs: &[(&str, &str)],
) -> (Option<i32>, Vec<doctown_events::Envelope>) {
    let output = Command::new(env!("CARGO_BIN_EXE_doctown"))
        .arg("ingest")
        .arg("--events")
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .unwrap();
    let mut check = doctown_events::SequenceCheck::new();
    let envelopes: Vec<_> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let envelope = doctown_events::Envelope::from_json(line).unwrap();
            check.observe(&envelope).unwrap();
            envelope
        })
        .collect();
    (output.status.code(), envelopes)
}

#[test]
fn ingest_streams_valid_events_from_started_to_completed() {
    let dir = fixtures();
    let (code, events) = ingest_events(&[dir.to_str().unwrap()], &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        events.first().unwrap().event_type().as_str(),
        "ingest.started.v1"
    );
    let last = events.last().unwrap();
    assert_eq!(last.event_type().as_str(), "ingest.completed.v1");
    assert_eq!(last.status, Some(doctown_events::Status::Success));
    let doctown_events::Payload::IngestCompleted(totals) = &last.payload else {
        panic!()
    };
    assert_eq!(totals.files, 5);
    let chunks = events
        .iter()
        .filter(|e| e.event_type().as_str() == "ingest.chunk_created.v1")
        .count();
    assert_eq!(totals.chunks, chunks as u64);
}

#[test]
fn ingest_reads_an_archive_and_prints_a_summary() {
    let temp = tempfile::tempdir().unwrap();
    let archive = temp.path().join("repo.tar.gz");
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&archive).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    for (name, content) in [
        ("repo/app.py", &b"def main():\n    pass\n"[..]),
        ("repo/Cargo.lock", b"# lock\n"),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, name, content).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    let summary = succeeded(&["ingest", archive.to_str().unwrap()]);
    assert!(summary.starts_with("Ingested 1 file ("), "{summary}");
    assert!(summary.contains("lock_file"), "{summary}");
}

#[test]
fn an_unreachable_github_ends_with_a_failed_completion() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let base = format!("http://{closed}");
    let (code, events) = ingest_events(
        &["https://github.com/octo/hello"],
        &[
            ("DOCTOWN_GITHUB_API_URL", &base),
            ("DOCTOWN_GITHUB_ARCHIVE_URL", &base),
        ],
    );
    assert_eq!(code, Some(1));
    let last = events.last().unwrap();
    assert_eq!(last.status, Some(doctown_events::Status::Failed));
    let error = last.error.as_ref().unwrap();
    assert_eq!(error.code, "http");
    assert!(
        error.message.contains("could not connect"),
        "{}",
        error.message
    );
}

/// A docpack made from real code, written to a temporary folder.
fn sample_docpack() -> (tempfile::TempDir, std::path::PathBuf) {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("samples.docpack");
    let contents = doctown_testkit::docpack::sample_contents(true, true);
    std::fs::write(&path, doctown_testkit::docpack::written(contents)).unwrap();
    (temp, path)
}

#[test]
fn verify_passes_a_sound_docpack_and_names_the_failed_check() {
    let (temp, path) = sample_docpack();
    let report = succeeded(&["verify", path.to_str().unwrap()]);
    assert!(report.contains(": ok, docpack/1.1 "), "{report}");
    assert_eq!(report.matches("  passed  ").count(), 9, "{report}");

    // One byte changed inside nodes.json, re-packed with valid tar and gzip framing.
    let bytes = std::fs::read(&path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut repacked = tar::Builder::new(gzip);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().into_owned();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut body).unwrap();
        if name.to_str() == Some("nodes.json") {
            let at = body.iter().position(|b| *b == b'(').unwrap();
            body[at] = b'[';
        }
        let mut header = entry.header().clone();
        repacked.append_data(&mut header, &name, &body[..]).unwrap();
    }
    let damaged = temp.path().join("damaged.docpack");
    std::fs::write(&damaged, repacked.into_inner().unwrap().finish().unwrap()).unwrap();
    let output = doctown(&["verify", damaged.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.contains("failed check \"checksums\""), "{error}");
    assert!(error.contains("nodes.json's sha256 is"), "{error}");

    let output = doctown(&[
        "verify",
        temp.path().join("missing.docpack").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn inspect_shows_the_manifest_clusters_and_central_symbols() {
    let (_temp, path) = sample_docpack();
    let text = succeeded(&["inspect", path.to_str().unwrap()]);
    for expected in [
        "format     docpack/1.1",
        "Pages: ",
        "    At a glance",
        "Modules at the top",
        "commit     6e1735597bb21c5d979a077395df85e1d633e077",
        "3 files, ",
        "languages: ",
        "Largest clusters",
        "parsing config",
        "Most central symbols",
        "1.000  ",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}

#[test]
fn export_writes_the_pages_as_a_folder_of_linked_markdown_files() {
    let (temp, path) = sample_docpack();
    let folder = temp.path().join("docs");
    let output = doctown(&[
        "export",
        path.to_str().unwrap(),
        "--format",
        "markdown",
        "-o",
        folder.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let index = std::fs::read_to_string(folder.join("index.md")).unwrap();
    assert!(index.starts_with("# doctown/samples\n"), "{index}");
    assert!(index.contains("## Layout"), "{index}");
    assert!(
        !index.contains("doctown:"),
        "every link is rewritten:\n{index}"
    );
    // Symbols and lines link to GitHub at the commit; pages link to each other's files.
    assert!(
        index.contains(
            "(https://github.com/doctown/samples/blob/6e1735597bb21c5d979a077395df85e1d633e077/src/"
        ),
        "{index}"
    );
    let mut checked = 0;
    for link in index.split("](").skip(1) {
        let target = link.split(')').next().unwrap();
        if !target.starts_with("https://") {
            assert!(
                folder.join(target).is_file(),
                "index.md links {target}, a missing file"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "{index}");
    assert!(folder.join("modules/src.md").is_file() || folder.join("modules/@root.md").is_file());

    // The folder is not written over once it holds something.
    let again = doctown(&[
        "export",
        path.to_str().unwrap(),
        "-o",
        folder.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1));
    let error = String::from_utf8(again.stderr).unwrap();
    assert!(error.contains("already exists and is not empty"), "{error}");
    assert_eq!(
        std::fs::read_dir(temp.path()).unwrap().count(),
        2,
        "no staging folder left beside it"
    );
}

#[test]
fn export_writes_the_pages_as_a_static_site_with_search() {
    let (temp, path) = sample_docpack();
    let site = temp.path().join("site");
    let mermaid = temp.path().join("mermaid.min.js");
    std::fs::write(&mermaid, "window.mermaid = null;\n").unwrap();
    succeeded(&[
        "export",
        path.to_str().unwrap(),
        "--format",
        "html",
        "-o",
        site.to_str().unwrap(),
        "--mermaid-js",
        mermaid.to_str().unwrap(),
    ]);
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.starts_with("<!doctype html>"), "{index}");
    assert!(index.contains("<title>doctown/samples</title>"), "{index}");
    assert!(index.contains("<nav aria-label=\"Pages\">"), "{index}");
    assert!(index.contains("<h2>Layout</h2>"), "{index}");
    assert!(
        !index.contains("doctown:"),
        "every link is rewritten:\n{index}"
    );
    // Every link inside the site leads to a file of the site.
    let mut checked = 0;
    for link in index.split("href=\"").skip(1) {
        let target = link.split('"').next().unwrap();
        if !target.starts_with("https://") {
            let file = target.split('#').next().unwrap();
            assert!(
                site.join(file).is_file(),
                "index.html links {target}, a missing file"
            );
            checked += 1;
        }
    }
    assert!(checked > 3, "{index}");
    let search = std::fs::read_to_string(site.join("assets/search-index.js")).unwrap();
    let json = search
        .strip_prefix("window.DOCTOWN_SEARCH = ")
        .and_then(|rest| rest.trim_end().strip_suffix(';'))
        .unwrap();
    let index: serde_json::Value = serde_json::from_str(json).unwrap();
    assert!(!index["pages"].as_array().unwrap().is_empty());
    assert!(!index["symbols"].as_array().unwrap().is_empty());
    for asset in ["assets/site.css", "assets/site.js", "assets/mermaid.min.js"] {
        assert!(site.join(asset).is_file(), "{asset}");
    }

    // A site is a folder: without -o, a clear error.
    let output = doctown(&["export", path.to_str().unwrap(), "--format", "html"]);
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.contains("name one with -o DIR"), "{error}");
}

#[test]
fn export_writes_markdown_and_json() {
    let (temp, path) = sample_docpack();
    let markdown = succeeded(&["export", path.to_str().unwrap(), "--format", "markdown"]);
    assert!(
        markdown.starts_with("# https://github.com/doctown/samples\n"),
        "{markdown}"
    );
    assert!(markdown.contains("## `src/sample.py`"), "{markdown}");
    assert!(
        markdown.contains("#### `Config.__init__` (method)"),
        "{markdown}"
    );
    assert!(markdown.contains("```python\ndef __init__(self, name: str) -> None\n```"));
    assert!(markdown.contains("Summarises Config.__init__."));

    let json_path = temp.path().join("out.json");
    let output = doctown(&[
        "export",
        path.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        json_path.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let document: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(document["manifest"]["schema_version"], "docpack/1.1");
    assert_eq!(document["pages"][0]["id"], "overview");
    assert!(document["nodes"].as_array().unwrap().len() > 20);
    assert_eq!(
        std::fs::read_dir(temp.path()).unwrap().count(),
        2,
        "no temporary file left"
    );
}

#[test]
fn settings_come_from_the_flag_then_the_variable_then_the_config_file() {
    let temp = tempfile::tempdir().unwrap();
    let config = temp.path().join("doctown.toml");
    std::fs::write(
        &config,
        "max_files = 1\nllm_model = \"for-generate-only\"\n",
    )
    .unwrap();
    let dir = fixtures();
    let ingested = |args: &[&str], envs: &[(&str, &str)]| {
        let output = Command::new(env!("CARGO_BIN_EXE_doctown"))
            .arg("ingest")
            .arg(&dir)
            .args(args)
            .env("DOCTOWN_CONFIG", &config)
            .envs(envs.iter().copied())
            .output()
            .unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(output.status.success(), "{stderr}");
        // A key of another subcommand is a setting, not a typo.
        assert!(!stderr.contains("warning"), "{stderr}");
        stdout.split(" (").next().unwrap().to_owned()
    };
    assert_eq!(ingested(&[], &[]), "Ingested 1 file");
    assert_eq!(
        ingested(&[], &[("DOCTOWN_MAX_FILES", "2")]),
        "Ingested 2 files"
    );
    assert_eq!(
        ingested(&["--max-files", "3"], &[("DOCTOWN_MAX_FILES", "2")]),
        "Ingested 3 files"
    );

    std::fs::write(&config, "max-files = 1\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_doctown"))
        .args(["ingest", dir.to_str().unwrap()])
        .env("DOCTOWN_CONFIG", &config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("`max-files` is not a setting"), "{stderr}");
}

#[test]
fn inspect_escapes_control_characters_from_the_docpack() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("hostile.docpack");
    let mut contents = doctown_testkit::docpack::sample_contents(false, false);
    // Set the window title, then clear the screen.
    contents.clusters[0].label = "\u{1b}]0;pwned\u{7}\u{1b}[2J".into();
    contents.source.repo_url = "https://github.com/o/r\u{9b}31m".into();
    std::fs::write(&path, doctown_testkit::docpack::written(contents)).unwrap();
    let text = succeeded(&["inspect", path.to_str().unwrap()]);
    assert!(!text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{7}'));
    assert!(text.contains("\\u{1b}]0;pwned\\u{7}\\u{1b}[2J"), "{text}");
    assert!(text.contains("https://github.com/o/r\\u{9b}31m"), "{text}");
}

/// `doctown generate` with the model, offline summaries, no caches and a temporary folder of
/// its own.
fn generate_command(tmpdir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_doctown"));
    command
        .env("DOCTOWN_MODEL_DIR", doctown_embedding::default_model_dir())
        .env("DOCTOWN_OFFLINE", "true")
        .env("DOCTOWN_NO_CACHE", "true")
        .env("TMPDIR", tmpdir);
    if let Ok(library) = std::env::var("ORT_DYLIB_PATH") {
        command.env("ORT_DYLIB_PATH", library);
    }
    command
}

#[test]
fn generate_checks_its_output_first_and_writes_a_file_as_the_umask_says() {
    let temp = tempfile::tempdir().unwrap();
    let tmpdir = temp.path().join("tmp");
    std::fs::create_dir(&tmpdir).unwrap();
    let fixtures = fixtures();

    // A folder that does not exist is refused at once, before any work.
    let started = std::time::Instant::now();
    let output = generate_command(&tmpdir)
        .args(["generate", fixtures.to_str().unwrap(), "-o"])
        .arg(temp.path().join("missing/out.docpack"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("does not exist"), "{error}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // A folder receives the docpack under its default name, made 0666 less the umask.
    let folder = temp.path().join("out");
    std::fs::create_dir(&folder).unwrap();
    // The umask is set by a shell, which then runs the binary in its place.
    let output = Command::new("sh")
        .arg("-c")
        .arg("umask 022; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_doctown"))
        .args(["generate", fixtures.to_str().unwrap(), "-o"])
        .arg(&folder)
        .envs(
            generate_command(&tmpdir)
                .get_envs()
                .filter_map(|(k, v)| Some((k, v?))),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written = folder.join("fixtures.docpack");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&written).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "{mode:o}");
}

#[test]
fn sigterm_during_generate_removes_its_temporary_folder() {
    let temp = tempfile::tempdir().unwrap();
    let tmpdir = temp.path().join("tmp");
    std::fs::create_dir(&tmpdir).unwrap();
    // An archive, which is unpacked into a temporary folder, big enough to be stopped midway.
    let archive = temp.path().join("big.tar.gz");
    let gzip = flate2::write::GzEncoder::new(
        std::fs::File::create(&archive).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gzip);
    for file in 0..400 {
        let text: String = (0..30)
            .map(|f| format!("def f_{file}_{f}(x):\n    return x + {f}\n\n\n"))
            .collect();
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, format!("pkg/m_{file}.py"), text.as_bytes())
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    let out = temp.path().join("big.docpack");
    let child = generate_command(&tmpdir)
        .args([
            "generate",
            archive.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_dir(&tmpdir).unwrap().next().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no temporary folder appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(error.contains("interrupted"), "{error}");
    let left: Vec<_> = std::fs::read_dir(&tmpdir).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    assert!(!out.exists());
}
