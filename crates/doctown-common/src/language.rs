//! The languages Doctown parses, and how a file's language is detected.
//!
//! Detection is by extension first; files without an extension are recognised by their shebang
//! (`#!/usr/bin/env python3`, `#!/usr/bin/env -S deno run`). A file with an unknown extension
//! (`.h`, `.md`) has no language: it is still ingested as text, but not parsed.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// A language with a tree-sitter grammar in Doctown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Rust (`.rs`).
    Rust,
    /// Python (`.py`, `.pyi`, `.pyw`).
    Python,
    /// TypeScript without JSX (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// JavaScript, JSX included (`.js`, `.mjs`, `.cjs`, `.jsx`).
    JavaScript,
    /// Go (`.go`).
    Go,
}

/// Which extensions (lowercase, without the dot) belong to which language.
const EXTENSIONS: &[(&str, Language)] = &[
    ("rs", Language::Rust),
    ("py", Language::Python),
    ("pyi", Language::Python),
    ("pyw", Language::Python),
    ("ts", Language::TypeScript),
    ("mts", Language::TypeScript),
    ("cts", Language::TypeScript),
    ("tsx", Language::Tsx),
    ("js", Language::JavaScript),
    ("mjs", Language::JavaScript),
    ("cjs", Language::JavaScript),
    ("jsx", Language::JavaScript),
    ("go", Language::Go),
];

/// Which interpreters named in a shebang run which language. A name matches exactly, or as a
/// prefix followed by a version (`python3.12`).
const INTERPRETERS: &[(&str, Language)] = &[
    ("python", Language::Python),
    ("pypy", Language::Python),
    ("node", Language::JavaScript),
    ("nodejs", Language::JavaScript),
    ("bun", Language::JavaScript),
    ("deno", Language::TypeScript),
    ("ts-node", Language::TypeScript),
    ("tsx", Language::TypeScript),
    ("rust-script", Language::Rust),
];

impl Language {
    /// Every language, in a fixed order.
    pub const ALL: [Language; 6] = [
        Language::Rust,
        Language::Python,
        Language::TypeScript,
        Language::Tsx,
        Language::JavaScript,
        Language::Go,
    ];

    /// The identifier used on the wire and in configuration: `rust`, `typescript`, `tsx`, ….
    pub fn id(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::TypeScript => "typescript",
            Language::Tsx => "tsx",
            Language::JavaScript => "javascript",
            Language::Go => "go",
        }
    }

    /// The language's usual name, for people: `Rust`, `TypeScript (TSX)`, ….
    pub fn display_name(self) -> &'static str {
        match self {
            Language::Rust => "Rust",
            Language::Python => "Python",
            Language::TypeScript => "TypeScript",
            Language::Tsx => "TypeScript (TSX)",
            Language::JavaScript => "JavaScript",
            Language::Go => "Go",
        }
    }

    /// The language of files with this extension (without the dot; any case).
    pub fn from_extension(extension: &str) -> Option<Language> {
        EXTENSIONS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(extension))
            .map(|&(_, language)| language)
    }

    /// The language a script's first line asks for (`#!/usr/bin/python3`,
    /// `#!/usr/bin/env node`, `#!/usr/bin/env -S deno run --allow-read`), if any.
    pub fn from_shebang(first_line: &str) -> Option<Language> {
        let command = first_line.strip_prefix("#!")?.trim();
        let mut words = command.split_ascii_whitespace();
        let mut program = base_name(words.next()?);
        if program == "env" {
            // `env [-S] [VAR=value ...] program args`: skip env's own options and assignments.
            program = words.find(|word| !word.starts_with('-') && !word.contains('='))?;
            program = base_name(program);
        }
        INTERPRETERS
            .iter()
            .find(|(name, _)| interpreter_matches(program, name))
            .map(|&(_, language)| language)
    }

    /// The language of the file at `path` with content starting `head`: by extension when the
    /// file has one, else by shebang.
    pub fn detect(path: &Path, head: &[u8]) -> Option<Language> {
        match path.extension() {
            Some(extension) => Language::from_extension(extension.to_str()?),
            None => {
                let first_line = head.split(|&b| b == b'\n').next()?;
                Language::from_shebang(std::str::from_utf8(first_line).ok()?)
            }
        }
    }
}

/// The last component of a path-like word: `/usr/bin/python3` → `python3`.
fn base_name(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// `python3`, `python3.12` and `python` match `python`; `pythonista` does not.
fn interpreter_matches(program: &str, name: &str) -> bool {
    program
        .strip_prefix(name)
        .is_some_and(|version| version.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Language {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Language::ALL
            .into_iter()
            .find(|language| language.id() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "language",
                    s,
                    "one of rust, python, typescript, tsx, javascript, go",
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_map_to_languages() {
        assert_eq!(Language::from_extension("rs"), Some(Language::Rust));
        assert_eq!(Language::from_extension("PY"), Some(Language::Python));
        assert_eq!(Language::from_extension("tsx"), Some(Language::Tsx));
        assert_eq!(Language::from_extension("jsx"), Some(Language::JavaScript));
        assert_eq!(Language::from_extension("mjs"), Some(Language::JavaScript));
        assert_eq!(Language::from_extension("h"), None);
        assert_eq!(Language::from_extension("md"), None);
    }

    #[test]
    fn shebangs_name_interpreters() {
        let cases = [
            ("#!/usr/bin/python3", Some(Language::Python)),
            ("#!/usr/bin/env python", Some(Language::Python)),
            ("#! /usr/bin/env python3.12 -u", Some(Language::Python)),
            ("#!/usr/bin/env node", Some(Language::JavaScript)),
            (
                "#!/usr/bin/env -S deno run --allow-net",
                Some(Language::TypeScript),
            ),
            (
                "#!/usr/bin/env -S NODE_ENV=production node --harmony",
                Some(Language::JavaScript),
            ),
            ("#!/bin/sh", None),
            ("#!/usr/bin/env pythonista", None),
            ("#!", None),
            ("import os", None),
        ];
        for (line, expected) in cases {
            assert_eq!(Language::from_shebang(line), expected, "{line}");
        }
    }

    #[test]
    fn detection_prefers_the_extension_and_falls_back_to_the_shebang() {
        let script = b"#!/usr/bin/env python3\nprint('hi')\n";
        assert_eq!(
            Language::detect(Path::new("bin/tool"), script),
            Some(Language::Python)
        );
        assert_eq!(Language::detect(Path::new("tool.sh"), script), None);
        assert_eq!(
            Language::detect(Path::new("lib.rs"), b""),
            Some(Language::Rust)
        );
        assert_eq!(Language::detect(Path::new("include/x.h"), b""), None);
        assert_eq!(Language::detect(Path::new("Makefile"), b"all:\n"), None);
    }

    #[test]
    fn ids_round_trip() {
        for language in Language::ALL {
            assert_eq!(language.id().parse::<Language>().unwrap(), language);
            let json = serde_json::to_string(&language).unwrap();
            assert_eq!(json, format!("\"{}\"", language.id()));
            assert_eq!(serde_json::from_str::<Language>(&json).unwrap(), language);
        }
        assert!(
            "cobol"
                .parse::<Language>()
                .unwrap_err()
                .to_string()
                .contains("one of rust")
        );
    }
}
