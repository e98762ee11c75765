//! What the user asked to ingest: a GitHub repository (in any of the URL forms GitHub shows), a
//! local folder, a local git checkout, or a local `.zip` / `.tar.gz` archive.

use std::fmt;
use std::path::{Path, PathBuf};

use doctown_common::Error;
use doctown_events::SourceKind;

/// The URL forms that are accepted, for error messages.
pub const ACCEPTED_FORMS: &str = "https://github.com/OWNER/REPO (optionally ending in .git, \
     /tree/REF, /commit/SHA, /blob/REF/PATH or /releases/tag/TAG), git@github.com:OWNER/REPO.git, \
     a local folder, or a local .zip / .tar.gz archive";

/// What a reference may be, for error messages.
const GIT_REF_FORMS: &str = "a branch, tag or commit as git names them (see `git check-ref-format`: \
     no `..`, no component starting with `.`, no spaces, control characters or any of `~^:?*[\\`), \
     at most 255 bytes";

/// What a service (which never reads local paths) accepts, for error messages.
const SERVICE_FORMS: &str = "a GitHub repository URL: https://github.com/OWNER/REPO (optionally \
     ending in .git, /tree/REF, /commit/SHA, /blob/REF/PATH or /releases/tag/TAG) or \
     git@github.com:OWNER/REPO.git; folders and archives are read by the `doctown` command";

/// A branch, tag or commit, checked by git's own rules for reference names (`git
/// check-ref-format --allow-onelevel`, which every commit SHA also passes). Only such a value is
/// ever put into a forge's URL, and then one percent-encoded path segment per component
/// ([`GitRef::components`]), so a reference cannot name another API path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GitRef(String);

impl GitRef {
    /// The longest reference accepted, in bytes (git's own limit on a ref's file name).
    pub const MAX_LEN: usize = 255;

    /// `text` as a reference, or an error naming what git allows.
    pub fn parse(text: &str) -> Result<GitRef, Error> {
        let invalid = || Error::invalid("git reference", text, GIT_REF_FORMS);
        if text.len() > Self::MAX_LEN {
            return Err(invalid());
        }
        gix_validate::reference::name_partial(text.as_bytes().into()).map_err(|_| invalid())?;
        Ok(GitRef(text.to_owned()))
    }

    /// The reference as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its `/`-separated components, each a valid path segment on its own (never empty, `.`
    /// or `..`).
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A GitHub repository and, optionally, the branch, tag or commit to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubRepo {
    /// The user or organisation.
    pub owner: String,
    /// The repository's name, without `.git`.
    pub name: String,
    /// The branch, tag or commit; `None` for the default branch.
    pub git_ref: Option<GitRef>,
}

impl GitHubRepo {
    /// `https://github.com/OWNER/NAME`, the canonical URL.
    pub fn url(&self) -> String {
        format!("https://github.com/{}/{}", self.owner, self.name)
    }
}

/// The archive formats that can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    /// A `.zip` file.
    Zip,
    /// A gzip-compressed tar file (`.tar.gz`, `.tgz`).
    TarGz,
}

/// A source to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A repository on GitHub.
    GitHub(GitHubRepo),
    /// A folder on this machine.
    Directory(PathBuf),
    /// A git checkout on this machine, read as its working tree.
    GitCheckout(PathBuf),
    /// An archive on this machine.
    Archive(PathBuf, ArchiveFormat),
}

impl Source {
    /// Reads `input` as a GitHub URL when it looks like one, else as a local path (which must
    /// exist). `git_ref`, when given, overrides the reference in the URL.
    pub fn parse(input: &str, git_ref: Option<&str>) -> Result<Source, Error> {
        let input = input.trim();
        if let Some(remote) = Self::github(input, git_ref, ACCEPTED_FORMS) {
            return remote;
        }
        let path = Path::new(input);
        let metadata = std::fs::metadata(path).map_err(|err| {
            if err.kind() == std::io::ErrorKind::NotFound {
                Error::invalid("source", input, ACCEPTED_FORMS)
            } else {
                Error::io("read", path, err)
            }
        })?;
        if metadata.is_dir() {
            return Ok(if path.join(".git").exists() {
                Source::GitCheckout(path.to_path_buf())
            } else {
                Source::Directory(path.to_path_buf())
            });
        }
        match archive_format(input) {
            Some(format) => Ok(Source::Archive(path.to_path_buf(), format)),
            None => Err(Error::invalid("source", input, ACCEPTED_FORMS)),
        }
    }

    /// Reads `input` as a GitHub URL, for services, which never read local paths: anything else
    /// is refused without looking at the file system.
    pub fn parse_github(input: &str, git_ref: Option<&str>) -> Result<Source, Error> {
        Self::github(input.trim(), git_ref, SERVICE_FORMS)
            .unwrap_or_else(|| Err(Error::invalid("repository URL", input, SERVICE_FORMS)))
    }

    /// `input` read as a GitHub URL, when it looks like one; `forms` is what the caller
    /// accepts, for the error.
    fn github(input: &str, git_ref: Option<&str>, forms: &str) -> Option<Result<Source, Error>> {
        if !looks_remote(input) {
            return None;
        }
        let git_ref = git_ref.map(str::trim).filter(|r| !r.is_empty());
        Some(parse_github(input, forms).and_then(|mut repo| {
            if let Some(git_ref) = git_ref {
                repo.git_ref = Some(GitRef::parse(git_ref)?);
            }
            Ok(Source::GitHub(repo))
        }))
    }

    /// The kind of source, as events report it.
    pub fn kind(&self) -> SourceKind {
        match self {
            Source::GitHub(_) => SourceKind::Github,
            Source::Directory(_) => SourceKind::Directory,
            Source::GitCheckout(_) => SourceKind::GitCheckout,
            Source::Archive(..) => SourceKind::Archive,
        }
    }
}

impl Source {
    /// The repository's name for people: `owner/name` on GitHub, else the folder's or the
    /// archive's name (without its extensions).
    pub fn name(&self) -> String {
        let path = match self {
            Source::GitHub(repo) => return format!("{}/{}", repo.owner, repo.name),
            Source::Directory(path) | Source::GitCheckout(path) | Source::Archive(path, _) => path,
        };
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
        let name = absolute
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| absolute.display().to_string());
        match self {
            Source::Archive(..) => [".tar.gz", ".tgz", ".tar", ".zip"]
                .iter()
                .find_map(|extension| name.strip_suffix(extension))
                .unwrap_or(&name)
                .to_owned(),
            _ => name,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::GitHub(repo) => f.write_str(&repo.url()),
            Source::Directory(path) | Source::GitCheckout(path) | Source::Archive(path, _) => {
                write!(f, "{}", path.display())
            }
        }
    }
}

/// The commit a git checkout has checked out, read from `.git/HEAD` (and the ref it names, loose
/// or packed); `None` when it cannot be told.
pub fn checkout_commit(checkout: &Path) -> Option<String> {
    let git = checkout.join(".git");
    let head = std::fs::read_to_string(git.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref: ") else {
        return is_sha(head).then(|| head.to_owned());
    };
    if let Ok(sha) = std::fs::read_to_string(git.join(reference)) {
        let sha = sha.trim();
        return is_sha(sha).then(|| sha.to_owned());
    }
    let packed = std::fs::read_to_string(git.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (sha, name) = line.split_once(' ')?;
        (name == reference && is_sha(sha)).then(|| sha.to_owned())
    })
}

/// Whether `text` is a full commit SHA-1: 40 hex digits.
pub(crate) fn is_sha(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The archive format a file name says, if any.
pub fn archive_format(name: &str) -> Option<ArchiveFormat> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        Some(ArchiveFormat::Zip)
    } else if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
        Some(ArchiveFormat::TarGz)
    } else {
        None
    }
}

fn looks_remote(input: &str) -> bool {
    input.contains("://") || input.starts_with("git@") || input.starts_with("github.com/")
}

/// Parses the GitHub URL forms of [`ACCEPTED_FORMS`]; `forms` is what the error offers.
fn parse_github(input: &str, forms: &str) -> Result<GitHubRepo, Error> {
    let invalid = || Error::invalid("repository URL", input, forms);
    let rest = if let Some(ssh) = input.strip_prefix("git@github.com:") {
        ssh
    } else {
        let without_scheme = input
            .strip_prefix("https://")
            .or_else(|| input.strip_prefix("http://"))
            .unwrap_or(input);
        let without_www = without_scheme
            .strip_prefix("www.")
            .unwrap_or(without_scheme);
        without_www
            .strip_prefix("github.com/")
            .ok_or_else(invalid)?
    };
    // Query strings and fragments are not part of the repository.
    let rest = rest
        .split(['?', '#'])
        .next()
        .unwrap_or(rest)
        .trim_end_matches('/');
    let mut parts = rest.split('/');
    let owner = parts.next().filter(|s| is_name(s)).ok_or_else(invalid)?;
    let name = parts
        .next()
        .map(|n| n.strip_suffix(".git").unwrap_or(n))
        .filter(|s| is_name(s));
    let name = name.ok_or_else(invalid)?;
    let remainder: Vec<&str> = parts.collect();
    let git_ref = match remainder.as_slice() {
        [] => None,
        ["tree", reference @ ..] if !reference.is_empty() => Some(reference.join("/")),
        ["commit" | "commits", sha] => Some((*sha).to_owned()),
        ["blob", reference, ..] => Some((*reference).to_owned()),
        ["releases", "tag", tag] => Some((*tag).to_owned()),
        _ => return Err(invalid()),
    };
    let git_ref = git_ref.as_deref().map(GitRef::parse).transpose()?;
    Ok(GitHubRepo {
        owner: owner.to_owned(),
        name: name.to_owned(),
        git_ref,
    })
}

/// GitHub owner and repository names: letters, digits, `-`, `_` and `.`.
fn is_name(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github(input: &str) -> GitHubRepo {
        match Source::parse(input, None).unwrap() {
            Source::GitHub(repo) => repo,
            other => panic!("{input} parsed as {other:?}"),
        }
    }

    fn repo(owner: &str, name: &str, git_ref: Option<&str>) -> GitHubRepo {
        GitHubRepo {
            owner: owner.into(),
            name: name.into(),
            git_ref: git_ref.map(|r| GitRef::parse(r).unwrap()),
        }
    }

    #[test]
    fn every_github_form_is_understood() {
        let cases = [
            (
                "https://github.com/rust-lang/log",
                repo("rust-lang", "log", None),
            ),
            (
                "https://github.com/rust-lang/log/",
                repo("rust-lang", "log", None),
            ),
            (
                "https://github.com/rust-lang/log.git",
                repo("rust-lang", "log", None),
            ),
            (
                "http://www.github.com/rust-lang/log",
                repo("rust-lang", "log", None),
            ),
            ("github.com/rust-lang/log", repo("rust-lang", "log", None)),
            (
                "git@github.com:rust-lang/log.git",
                repo("rust-lang", "log", None),
            ),
            (
                "https://github.com/a/b/tree/main",
                repo("a", "b", Some("main")),
            ),
            (
                "https://github.com/a/b/tree/feature/x",
                repo("a", "b", Some("feature/x")),
            ),
            (
                "https://github.com/a/b/commit/6e17355",
                repo("a", "b", Some("6e17355")),
            ),
            (
                "https://github.com/a/b/blob/v1.2/src/lib.rs",
                repo("a", "b", Some("v1.2")),
            ),
            (
                "https://github.com/a/b/releases/tag/v2.0.0",
                repo("a", "b", Some("v2.0.0")),
            ),
            (
                "https://github.com/a/b?tab=readme#top",
                repo("a", "b", None),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(github(input), expected, "{input}");
        }
    }

    #[test]
    fn an_explicit_ref_overrides_the_url() {
        let Source::GitHub(parsed) =
            Source::parse("https://github.com/a/b/tree/main", Some("v1")).unwrap()
        else {
            panic!()
        };
        assert_eq!(parsed.git_ref.unwrap().as_str(), "v1");
    }

    #[test]
    fn references_follow_gits_rules() {
        for good in [
            "main",
            "feature/x",
            "v1.2.3",
            "release-2024_01",
            "6e17355",
            "0123456789abcdef0123456789abcdef01234567",
            "refs/heads/main",
        ] {
            assert_eq!(GitRef::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "../../../../user",
            "..",
            "a/../b",
            "a/./b",
            ".hidden",
            "a/.b",
            "/main",
            "main/",
            "a//b",
            "a.lock",
            "a b",
            "a\tb",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[b",
            "a\\b",
            "a@{1}",
            // `@` alone means HEAD to git.
            "@",
            "main.",
            "a%2F..%2Fb",
            "",
        ] {
            let bad = bad.replace("\\t", "\t");
            let err = GitRef::parse(&bad).unwrap_err().to_string();
            assert!(err.contains("check-ref-format"), "{bad:?}: {err}");
        }
        assert!(GitRef::parse(&"a".repeat(256)).is_err());
        let git_ref = GitRef::parse("feature/x").unwrap();
        let components: Vec<&str> = git_ref.components().collect();
        assert_eq!(components, ["feature", "x"]);
    }

    #[test]
    fn a_reference_git_refuses_is_refused_in_the_url_and_beside_it() {
        for (url, git_ref) in [
            ("https://github.com/a/b/tree/..%2F..%2Fuser", None),
            ("https://github.com/a/b/commit/a..b", None),
            ("https://github.com/a/b", Some("../../../../user")),
            ("https://github.com/a/b", Some("main\nHost: x")),
        ] {
            let err = Source::parse_github(url, git_ref).unwrap_err().to_string();
            assert!(err.contains("git reference"), "{url} {git_ref:?}: {err}");
        }
    }

    #[test]
    fn other_urls_are_refused_with_the_accepted_forms() {
        for input in [
            "https://gitlab.com/a/b",
            "https://github.com/a",
            "https://github.com/a/b/issues/3",
            "https://github.com/../b",
            "ftp://github.com/a/b",
        ] {
            let err = Source::parse(input, None).unwrap_err().to_string();
            assert!(
                err.contains("expected https://github.com/OWNER/REPO"),
                "{input}: {err}"
            );
        }
    }

    #[test]
    fn a_service_offers_only_what_it_takes() {
        for input in ["https://gitlab.com/a/b", "/etc", "https://github.com/a"] {
            let err = Source::parse_github(input, None).unwrap_err().to_string();
            assert!(err.contains("a GitHub repository URL"), "{input}: {err}");
            assert!(!err.contains("a local folder"), "{input}: {err}");
        }
    }

    #[test]
    fn local_paths_are_folders_checkouts_or_archives() {
        let dir = std::env::temp_dir().join(format!("doctown-source-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("checkout/.git")).unwrap();
        std::fs::write(dir.join("repo.tar.gz"), b"").unwrap();
        std::fs::write(dir.join("notes.txt"), b"").unwrap();
        let path = |p: &str| dir.join(p).to_string_lossy().into_owned();
        assert_eq!(
            Source::parse(&path(""), None).unwrap(),
            Source::Directory(dir.join(""))
        );
        assert!(matches!(
            Source::parse(&path("checkout"), None).unwrap(),
            Source::GitCheckout(_)
        ));
        assert!(matches!(
            Source::parse(&path("repo.tar.gz"), None).unwrap(),
            Source::Archive(_, ArchiveFormat::TarGz)
        ));
        assert!(Source::parse(&path("notes.txt"), None).is_err());
        assert!(
            Source::parse(&path("missing"), None)
                .unwrap_err()
                .to_string()
                .contains("a local folder")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
