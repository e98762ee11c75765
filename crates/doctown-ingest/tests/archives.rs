//! Unpacking real and hostile archives: nothing is written outside the destination, every entry
//! left out is reported with its reason, and bombs stop with an error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;

use doctown_events::SkipReason;
use doctown_ingest::ArchiveFormat;
use doctown_ingest::archive::{ArchiveLimits, unpack};

const LIMITS: ArchiveLimits = ArchiveLimits {
    max_file_bytes: 1024 * 1024,
    max_total_bytes: 4 * 1024 * 1024,
    max_entries: 1000,
};

/// A zip with these (name, content) entries, written without compression; names are raw.
fn zip_with(path: &Path, entries: &[(&str, &[u8])]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, content) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
}

/// A tar.gz with these entries; names are written raw into the headers.
fn tar_gz_with(path: &Path, entries: &[(&str, &[u8])], links: &[(&str, &str)]) {
    let gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::fast(),
    );
    let mut tar = tar::Builder::new(gz);
    for (name, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        tar.append(&header, *content).unwrap();
    }
    for (name, target) in links {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        tar.append_link(&mut header, name, target).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

fn reasons(skipped: &[doctown_ingest::archive::SkippedEntry]) -> Vec<(String, SkipReason)> {
    let mut list: Vec<_> = skipped.iter().map(|s| (s.path.clone(), s.reason)).collect();
    list.sort();
    list
}

#[test]
fn a_github_style_zip_is_unpacked_without_its_top_folder() {
    let temp = tempfile::tempdir().unwrap();
    let archive = temp.path().join("repo.zip");
    zip_with(
        &archive,
        &[
            ("log-6e17355/src/lib.rs", b"pub fn f() {}\n"),
            ("log-6e17355/README.md", b"# log\n"),
        ],
    );
    let destination = temp.path().join("out");
    std::fs::create_dir(&destination).unwrap();
    let unpacked = unpack(&archive, ArchiveFormat::Zip, &destination, &LIMITS).unwrap();
    assert_eq!(unpacked.root, destination.join("log-6e17355"));
    assert_eq!(
        std::fs::read(unpacked.root.join("src/lib.rs")).unwrap(),
        b"pub fn f() {}\n"
    );
    assert!(unpacked.skipped.is_empty());
}

#[test]
fn escaping_absolute_duplicate_and_oversized_zip_entries_are_skipped() {
    let temp = tempfile::tempdir().unwrap();
    let archive = temp.path().join("evil.zip");
    let big = vec![b'a'; 2 * 1024 * 1024];
    zip_with(
        &archive,
        &[
            ("ok.txt", b"fine"),
            ("../escape.txt", b"no"),
            ("/etc/absolute.txt", b"no"),
            ("a/../../up.txt", b"no"),
            ("big.txt", &big),
            ("win\\dows.txt", b"no"),
        ],
    );
    let destination = temp.path().join("out");
    std::fs::create_dir(&destination).unwrap();
    let unpacked = unpack(&archive, ArchiveFormat::Zip, &destination, &LIMITS).unwrap();
    assert_eq!(
        reasons(&unpacked.skipped),
        vec![
            ("../escape.txt".into(), SkipReason::UnsafePath),
            ("/etc/absolute.txt".into(), SkipReason::UnsafePath),
            ("a/../../up.txt".into(), SkipReason::UnsafePath),
            ("big.txt".into(), SkipReason::TooLarge),
            ("win\\dows.txt".into(), SkipReason::UnsafePath),
        ]
    );
    assert_eq!(std::fs::read(destination.join("ok.txt")).unwrap(), b"fine");
    assert!(!temp.path().join("escape.txt").exists());
    assert!(!temp.path().join("up.txt").exists());
    assert!(!destination.join("big.txt").exists());
}

#[test]
fn a_repeated_entry_is_skipped_as_a_duplicate() {
    let temp = tempfile::tempdir().unwrap();
    let archive = temp.path().join("dup.tar.gz");
    tar_gz_with(
        &archive,
        &[("src/a.py", b"first = 1\n"), ("src/a.py", b"second = 2\n")],
        &[],
    );
    let destination = temp.path().join("out");
    std::fs::create_dir(&destination).unwrap();
    let unpacked = unpack(&archive, ArchiveFormat::TarGz, &destination, &LIMITS).unwrap();
    assert_eq!(
        reasons(&unpacked.skipped),
        vec![("a.py".into(), SkipReason::Duplicate)]
    );
    assert_eq!(
        std::fs::read(unpacked.root.join("a.py")).unwrap(),
        b"first = 1\n"
    );
}

/// A zip whose entries are named as given, repeats included: written under distinct names of
/// the same length, then renamed in place (`ZipWriter` refuses a repeated name, as a crafted
/// archive would not).
fn zip_with_repeats(path: &Path, entries: &[(&str, &[u8])]) {
    // A repeat gets a stand-in such as `#002` (as long as its name); other names stay.
    let placeholders: Vec<String> = entries
        .iter()
        .enumerate()
        .map(|(index, (name, _))| {
            if entries[..index].iter().any(|(earlier, _)| earlier == name) {
                format!("#{index:0>width$}", width = name.len() - 1)
            } else {
                (*name).to_owned()
            }
        })
        .collect();
    let renamed: Vec<(&str, &[u8])> = placeholders
        .iter()
        .zip(entries)
        .map(|(placeholder, (_, content))| (placeholder.as_str(), *content))
        .collect();
    zip_with(path, &renamed);
    let mut bytes = std::fs::read(path).unwrap();
    for (placeholder, (name, _)) in placeholders.iter().zip(entries) {
        if placeholder == name {
            continue;
        }
        let mut at = 0;
        while let Some(found) = bytes[at..]
            .windows(placeholder.len())
            .position(|window| window == placeholder.as_bytes())
        {
            let start = at + found;
            bytes[start..start + name.len()].copy_from_slice(name.as_bytes());
            at = start + name.len();
        }
    }
    std::fs::write(path, bytes).unwrap();
}

/// Unpacks the same entries as a zip and as a tar.gz; gives each one's skipped entries and
/// root.
fn unpack_both(entries: &[(&str, &[u8])]) -> Vec<(Vec<(String, SkipReason)>, tempfile::TempDir)> {
    [ArchiveFormat::Zip, ArchiveFormat::TarGz]
        .into_iter()
        .map(|format| {
            let temp = tempfile::tempdir().unwrap();
            let archive = temp.path().join("archive");
            match format {
                ArchiveFormat::Zip => zip_with_repeats(&archive, entries),
                ArchiveFormat::TarGz => tar_gz_with(&archive, entries, &[]),
            }
            let destination = temp.path().join("out");
            std::fs::create_dir(&destination).unwrap();
            let unpacked = unpack(&archive, format, &destination, &LIMITS)
                .unwrap_or_else(|err| panic!("{format:?}: {err}"));
            assert_eq!(unpacked.root, destination, "{format:?}");
            (reasons(&unpacked.skipped), temp)
        })
        .collect()
}

#[test]
fn zip_and_tar_keep_the_first_of_a_repeated_path_and_report_the_rest_alike() {
    let results = unpack_both(&[
        ("a.py", b"first = 1\n"),
        ("b.py", b"b = 0\n"),
        ("a.py", b"second = 2\n"),
        ("a.py", b"third = 3\n"),
    ]);
    for (skipped, temp) in results {
        assert_eq!(
            skipped,
            vec![
                ("a.py".into(), SkipReason::Duplicate),
                ("a.py".into(), SkipReason::Duplicate)
            ]
        );
        let out = temp.path().join("out");
        assert_eq!(std::fs::read(out.join("a.py")).unwrap(), b"first = 1\n");
        assert_eq!(std::fs::read(out.join("b.py")).unwrap(), b"b = 0\n");
    }
}

#[test]
fn a_file_and_a_folder_of_the_same_path_skip_the_later_entry_instead_of_failing() {
    for entries in [
        [
            ("a", &b"a file"[..]),
            ("a/b.rs", b"fn b() {}\n"),
            ("c.rs", b"fn c() {}\n"),
        ],
        [
            ("a/b.rs", &b"fn b() {}\n"[..]),
            ("a", b"a file"),
            ("c.rs", b"fn c() {}\n"),
        ],
    ] {
        let later = entries[1].0;
        for (skipped, temp) in unpack_both(&entries) {
            assert_eq!(
                skipped,
                vec![(later.into(), SkipReason::Duplicate)],
                "{entries:?}"
            );
            let out = temp.path().join("out");
            assert!(out.join(entries[0].0).is_file(), "{entries:?}");
            assert!(out.join("c.rs").is_file(), "{entries:?}");
        }
    }
}

#[test]
fn tar_gz_links_and_traversal_are_skipped() {
    let temp = tempfile::tempdir().unwrap();
    let archive = temp.path().join("evil.tar.gz");
    tar_gz_with(
        &archive,
        &[
            ("repo/src/main.py", b"print('hi')\n"),
            ("repo/../../outside.py", b"x = 1\n"),
        ],
        &[("repo/link", "/etc/passwd")],
    );
    let destination = temp.path().join("out");
    std::fs::create_dir(&destination).unwrap();
    let unpacked = unpack(&archive, ArchiveFormat::TarGz, &destination, &LIMITS).unwrap();
    assert_eq!(
        std::fs::read(unpacked.root.join("src/main.py")).unwrap(),
        b"print('hi')\n"
    );
    let skipped = reasons(&unpacked.skipped);
    assert!(
        skipped.contains(&("link".into(), SkipReason::UnsafePath)),
        "{skipped:?}"
    );
    assert!(
        skipped
            .iter()
            .any(|(p, r)| p.ends_with("outside.py") && *r == SkipReason::UnsafePath)
    );
    assert!(!temp.path().join("outside.py").exists());
    assert!(!destination.join("repo/link").exists());
}

#[test]
fn a_compression_bomb_stops_with_an_error() {
    let temp = tempfile::tempdir().unwrap();
    let archive = temp.path().join("bomb.tar.gz");
    let megabyte = vec![0u8; 1024 * 1024];
    let names: Vec<String> = (0..8).map(|i| format!("zeros-{i}.bin")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &megabyte[..])).collect();
    tar_gz_with(&archive, &entries, &[]);
    assert!(
        std::fs::metadata(&archive).unwrap().len() < 100 * 1024,
        "highly compressed"
    );
    let destination = temp.path().join("out");
    std::fs::create_dir(&destination).unwrap();
    let err = unpack(&archive, ArchiveFormat::TarGz, &destination, &LIMITS)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("at most 4194304 bytes of files once unpacked"),
        "{err}"
    );
}

#[test]
fn a_damaged_archive_is_a_clear_error() {
    let temp = tempfile::tempdir().unwrap();
    let archive = temp.path().join("broken.zip");
    std::fs::write(&archive, b"PK\x03\x04 this is not really a zip").unwrap();
    let destination = temp.path().join("out");
    std::fs::create_dir(&destination).unwrap();
    let err = unpack(&archive, ArchiveFormat::Zip, &destination, &LIMITS)
        .unwrap_err()
        .to_string();
    assert!(err.contains("the archive is damaged"), "{err}");
}
