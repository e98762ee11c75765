//! Which files are read: default ignore rules (dependency and build folders, lock files, vendored
//! and minified code), binary detection and size limits. Pure: paths and bytes in, verdicts out.

use doctown_events::SkipReason;

/// Folders that hold dependencies, build output or tool state, never the project's own code.
const IGNORED_DIRECTORIES: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "target",
    "__pycache__",
    ".venv",
    "venv",
    "dist",
    "build",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".next",
    ".nuxt",
    ".svelte-kit",
    ".idea",
    ".vscode",
    "coverage",
    ".gradle",
];

/// Folders that hold third-party code copied into the repository.
const VENDORED_DIRECTORIES: &[&str] = &["vendor", "third_party", "third-party", "external", "deps"];

/// Lock files: generated, large, and not code.
const LOCK_FILES: &[&str] = &[
    "Cargo.lock",
    "package-lock.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "poetry.lock",
    "Pipfile.lock",
    "go.sum",
    "composer.lock",
    "Gemfile.lock",
    "bun.lockb",
    "uv.lock",
    "flake.lock",
];

/// How much of a file is looked at to decide whether it is binary.
pub const BINARY_SNIFF_BYTES: usize = 8192;

/// Why a folder is not descended into, if it is not: `None` to read it.
pub fn skip_directory(name: &str) -> Option<(SkipReason, &'static str)> {
    if IGNORED_DIRECTORIES.contains(&name) {
        Some((SkipReason::Ignored, "dependency, build or tool folder"))
    } else if VENDORED_DIRECTORIES.contains(&name) {
        Some((SkipReason::Vendored, "vendored third-party code"))
    } else {
        None
    }
}

/// Why a file is skipped from its path alone (`/`-separated, relative), if it is.
pub fn skip_by_path(path: &str) -> Option<(SkipReason, &'static str)> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if LOCK_FILES.contains(&name) {
        return Some((SkipReason::LockFile, "lock files hold no code"));
    }
    let lower = name.to_ascii_lowercase();
    let minified = [".min.js", ".min.mjs", ".min.css", "-min.js", ".bundle.js"]
        .iter()
        .any(|suffix| lower.ends_with(suffix));
    if minified {
        return Some((SkipReason::Generated, "minified or bundled"));
    }
    let generated = [
        ".pb.go",
        "_pb2.py",
        "_pb2_grpc.py",
        ".generated.ts",
        ".d.ts.map",
        ".js.map",
    ]
    .iter()
    .any(|suffix| lower.ends_with(suffix));
    if generated {
        return Some((SkipReason::Generated, "generated code"));
    }
    None
}

/// Why a file is skipped from its size and first bytes, if it is.
pub fn skip_by_content(
    head: &[u8],
    size: u64,
    max_file_bytes: u64,
) -> Option<(SkipReason, String)> {
    if size > max_file_bytes {
        return Some((
            SkipReason::TooLarge,
            format!("{size} bytes, over the {max_file_bytes}-byte limit per file"),
        ));
    }
    let sniff = &head[..head.len().min(BINARY_SNIFF_BYTES)];
    if sniff.contains(&0) {
        return Some((
            SkipReason::Binary,
            "a NUL byte in the first 8 KiB".to_owned(),
        ));
    }
    if looks_minified(sniff) {
        return Some((
            SkipReason::Generated,
            "minified: lines average over 300 characters".to_owned(),
        ));
    }
    None
}

/// Minified code is a few very long lines.
fn looks_minified(head: &[u8]) -> bool {
    if head.len() < 4096 {
        return false;
    }
    let lines = head.iter().filter(|&&b| b == b'\n').count() + 1;
    head.len() / lines > 300
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_build_and_vendored_folders_are_skipped() {
        for name in [
            "node_modules",
            "target",
            ".git",
            "__pycache__",
            ".venv",
            "dist",
            "build",
        ] {
            assert_eq!(
                skip_directory(name).map(|s| s.0),
                Some(SkipReason::Ignored),
                "{name}"
            );
        }
        assert_eq!(
            skip_directory("vendor").map(|s| s.0),
            Some(SkipReason::Vendored)
        );
        assert_eq!(skip_directory("src"), None);
    }

    #[test]
    fn lock_minified_and_generated_files_are_skipped_by_name() {
        assert_eq!(
            skip_by_path("Cargo.lock").map(|s| s.0),
            Some(SkipReason::LockFile)
        );
        assert_eq!(
            skip_by_path("web/package-lock.json").map(|s| s.0),
            Some(SkipReason::LockFile)
        );
        assert_eq!(
            skip_by_path("go.sum").map(|s| s.0),
            Some(SkipReason::LockFile)
        );
        assert_eq!(
            skip_by_path("static/app.min.js").map(|s| s.0),
            Some(SkipReason::Generated)
        );
        assert_eq!(
            skip_by_path("api/service.pb.go").map(|s| s.0),
            Some(SkipReason::Generated)
        );
        assert_eq!(skip_by_path("src/lock.rs"), None);
    }

    #[test]
    fn binary_large_and_minified_content_is_skipped() {
        let limit = 1024 * 1024;
        assert_eq!(skip_by_content(b"fn main() {}\n", 13, limit), None);
        assert_eq!(
            skip_by_content(b"\x89PNG\r\n\x1a\n\0\0", 10, limit).map(|s| s.0),
            Some(SkipReason::Binary)
        );
        let (reason, detail) = skip_by_content(b"x", limit + 1, limit).unwrap();
        assert_eq!(reason, SkipReason::TooLarge);
        assert_eq!(
            detail,
            "1048577 bytes, over the 1048576-byte limit per file"
        );
        let minified = "var a=1;".repeat(1000);
        assert_eq!(
            skip_by_content(minified.as_bytes(), 8000, limit).map(|s| s.0),
            Some(SkipReason::Generated)
        );
        let normal = "let a = 1;\n".repeat(1000);
        assert_eq!(skip_by_content(normal.as_bytes(), 11000, limit), None);
    }
}
