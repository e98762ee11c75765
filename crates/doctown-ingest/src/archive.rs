//! Unpacking `.zip` and `.tar.gz` archives safely into a job's own directory.
//!
//! Nothing is ever written outside the destination: entries with absolute paths or `..`
//! components, and links, are skipped with a reason; a second entry with the same path, in a
//! zip as in a tar, is skipped as a duplicate (the first is kept), and so is an entry whose path
//! is also a folder of the archive's, or lies under one of its files (`a` and `a/b.rs`); a file
//! over the per-file limit is skipped without being written; and
//! when the bytes written, or the entries read, pass the archive's limits, unpacking stops with an
//! error (a compression bomb never fills the disk). A single top-level folder (GitHub's
//! `REPO-SHA/`) is stripped.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use doctown_common::Error;
use doctown_events::SkipReason;

use crate::source::ArchiveFormat;

/// Bounds on what an archive may unpack to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// A file larger than this is skipped, not written.
    pub max_file_bytes: u64,
    /// Unpacking fails when the files written would exceed this many bytes in all.
    pub max_total_bytes: u64,
    /// Unpacking fails past this many entries.
    pub max_entries: usize,
}

/// An entry that was not unpacked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedEntry {
    /// The entry's path as the archive names it (prefix stripped).
    pub path: String,
    /// Why it was skipped.
    pub reason: SkipReason,
    /// More detail for people.
    pub detail: String,
}

/// What unpacking produced: the folder holding the files, and the entries left out.
#[derive(Debug)]
pub struct Unpacked {
    /// The folder to read (the destination, or the single top-level folder inside it).
    pub root: PathBuf,
    /// Entries that were not unpacked.
    pub skipped: Vec<SkippedEntry>,
}

/// Unpacks `archive` into `destination` (an empty folder owned by the job).
pub fn unpack(
    archive: &Path,
    format: ArchiveFormat,
    destination: &Path,
    limits: &ArchiveLimits,
) -> Result<Unpacked, Error> {
    let file = File::open(archive).map_err(|err| Error::io("open", archive, err))?;
    let mut writer = Writer::new(destination, limits, archive);
    match format {
        ArchiveFormat::Zip => unpack_zip(file, &mut writer)?,
        ArchiveFormat::TarGz => unpack_tar_gz(file, &mut writer)?,
    }
    writer.finish()
}

fn corrupt(archive: &Path, err: impl std::fmt::Display) -> Error {
    Error::io(
        "unpack",
        archive,
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{err}; the archive is damaged or not a {}",
                archive
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or("supported")
            ),
        ),
    )
}

fn unpack_zip(file: File, writer: &mut Writer<'_>) -> Result<(), Error> {
    // `ZipArchive` keys entries by name, keeping the last of a repeated one; the iterable reader
    // walks the central directory in order with every entry, so the first is kept as in a tar.
    // Each entry's local header is checked against the directory (no entry is two things).
    let body = file
        .try_clone()
        .map_err(|err| Error::io("open", writer.archive, err))?;
    let mut zip = zip::unstable::read::ZipIterable::try_new(
        io::BufReader::new(file),
        zip::read::Config::default(),
    )
    .map_err(|e| corrupt(writer.archive, e))?
    .enforce_header_consistency(true);
    let mut entries = zip
        .files_with_reader(io::BufReader::new(body), zip::ZipReadOptions::default())
        .map_err(|e| corrupt(writer.archive, e))?;
    while let Some(entry) = entries.next() {
        writer.count_entry()?;
        let mut entry = entry.map_err(|e| corrupt(writer.archive, e))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() {
            writer.skip_link(&name);
            continue;
        }
        let size = entry.size();
        writer.write(&name, size, &mut entry)?;
    }
    Ok(())
}

fn unpack_tar_gz(file: File, writer: &mut Writer<'_>) -> Result<(), Error> {
    let gzip = flate2::read::GzDecoder::new(io::BufReader::new(file));
    let mut tar = tar::Archive::new(gzip);
    let entries = tar.entries().map_err(|e| corrupt(writer.archive, e))?;
    for entry in entries {
        writer.count_entry()?;
        let mut entry = entry.map_err(|e| corrupt(writer.archive, e))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        if kind.is_dir()
            || kind.is_pax_global_extensions()
            || kind.is_pax_local_extensions()
            || kind.is_gnu_longname()
        {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            writer.skip_link(&name);
            continue;
        }
        if !kind.is_file() {
            writer.skip(&name, SkipReason::Unreadable, "not a regular file");
            continue;
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| corrupt(writer.archive, e))?;
        writer.write(&name, size, &mut entry)?;
    }
    Ok(())
}

/// Writes entries under the destination, enforcing the limits and path rules.
struct Writer<'a> {
    destination: &'a Path,
    limits: &'a ArchiveLimits,
    archive: &'a Path,
    written_bytes: u64,
    entries: usize,
    /// The files' paths, kept or skipped, so that a repeated one is known.
    seen: HashSet<PathBuf>,
    /// The folders the kept files lie in.
    folders: HashSet<PathBuf>,
    top_level: HashSet<String>,
    skipped: Vec<SkippedEntry>,
}

impl<'a> Writer<'a> {
    fn new(destination: &'a Path, limits: &'a ArchiveLimits, archive: &'a Path) -> Self {
        Self {
            destination,
            limits,
            archive,
            written_bytes: 0,
            entries: 0,
            seen: HashSet::new(),
            folders: HashSet::new(),
            top_level: HashSet::new(),
            skipped: Vec::new(),
        }
    }

    fn count_entry(&mut self) -> Result<(), Error> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(Error::invalid(
                "archive",
                &self.archive.display().to_string(),
                format!(
                    "at most {} entries; raise the file-count limit to read it",
                    self.limits.max_entries
                ),
            ));
        }
        Ok(())
    }

    fn skip(&mut self, name: &str, reason: SkipReason, detail: &str) {
        self.skipped.push(SkippedEntry {
            path: name.to_owned(),
            reason,
            detail: detail.to_owned(),
        });
    }

    fn skip_link(&mut self, name: &str) {
        self.skip(
            name,
            SkipReason::UnsafePath,
            "links are not followed out of an archive",
        );
    }

    /// Writes one file entry of `size` declared bytes read from `content`.
    fn write(&mut self, name: &str, size: u64, content: &mut impl Read) -> Result<(), Error> {
        let Some(relative) = safe_relative_path(name) else {
            self.skip(
                name,
                SkipReason::UnsafePath,
                "an absolute path or one that leaves the archive",
            );
            return Ok(());
        };
        if !self.seen.insert(relative.clone()) {
            self.skip(
                name,
                SkipReason::Duplicate,
                "the archive holds this path twice; the first is kept",
            );
            return Ok(());
        }
        let under_a_file = relative
            .ancestors()
            .skip(1)
            .find(|folder| self.seen.contains(*folder));
        if let Some(file) = under_a_file {
            let detail = format!(
                "an earlier entry made {} a file, so nothing can lie under it; the first is kept",
                file.display()
            );
            self.skip(name, SkipReason::Duplicate, &detail);
            return Ok(());
        }
        if self.folders.contains(&relative) {
            self.skip(
                name,
                SkipReason::Duplicate,
                "earlier entries made this path a folder; the first is kept",
            );
            return Ok(());
        }
        if let Some(Component::Normal(first)) = relative.components().next() {
            self.top_level.insert(first.to_string_lossy().into_owned());
        }
        if size > self.limits.max_file_bytes {
            self.skip(
                name,
                SkipReason::TooLarge,
                &format!(
                    "{size} bytes, over the {}-byte limit per file",
                    self.limits.max_file_bytes
                ),
            );
            return Ok(());
        }
        self.folders.extend(
            relative
                .ancestors()
                .skip(1)
                .filter(|folder| !folder.as_os_str().is_empty())
                .map(Path::to_path_buf),
        );
        let target = self.destination.join(&relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|err| Error::io("create directory", parent, err))?;
        }
        let mut file = File::create(&target).map_err(|err| Error::io("create", &target, err))?;
        // Never trust the declared size: read at most one byte past the per-file limit.
        let copied = io::copy(&mut content.take(self.limits.max_file_bytes + 1), &mut file)
            .map_err(|err| corrupt(self.archive, err))?;
        if copied > self.limits.max_file_bytes {
            drop(file);
            let _ = std::fs::remove_file(&target);
            self.skip(
                name,
                SkipReason::TooLarge,
                "larger than its header said, and over the per-file limit",
            );
            return Ok(());
        }
        self.written_bytes += copied;
        if self.written_bytes > self.limits.max_total_bytes {
            return Err(Error::invalid(
                "archive",
                &self.archive.display().to_string(),
                format!(
                    "at most {} bytes of files once unpacked; raise the total size limit to read it",
                    self.limits.max_total_bytes
                ),
            ));
        }
        Ok(())
    }

    fn finish(self) -> Result<Unpacked, Error> {
        let mut root = self.destination.to_path_buf();
        // One top-level folder holding everything (GitHub's REPO-SHA/) is not part of the paths.
        if let [only] = self.top_level.iter().collect::<Vec<_>>().as_slice() {
            let candidate = self.destination.join(only);
            if candidate.is_dir() {
                root = candidate;
            }
        }
        let prefix = root
            .strip_prefix(self.destination)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let skipped = self
            .skipped
            .into_iter()
            .map(|mut entry| {
                if let Ok(stripped) = Path::new(&entry.path).strip_prefix(&prefix) {
                    entry.path = stripped.to_string_lossy().into_owned();
                }
                entry
            })
            .collect();
        Ok(Unpacked { root, skipped })
    }
}

/// The entry's path as a relative path with only normal components, or `None` when it is
/// absolute, has a drive prefix, a `..`, or backslashes that could mean either.
fn safe_relative_path(name: &str) -> Option<PathBuf> {
    if name.contains('\\') || name.contains('\0') {
        return None;
    }
    let path = Path::new(name);
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!clean.as_os_str().is_empty()).then_some(clean)
}
