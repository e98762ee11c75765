//! Any bytes unpacked as an archive (the first byte picks zip or tar.gz): the unpacker must
//! answer with files or an error, never panic, and never write outside its destination nor
//! create a link.

#![no_main]

use std::path::Path;

use doctown_ingest::ArchiveFormat;
use doctown_ingest::archive::{ArchiveLimits, unpack};
use libfuzzer_sys::fuzz_target;

const LIMITS: ArchiveLimits = ArchiveLimits {
    max_file_bytes: 1 << 16,
    max_total_bytes: 1 << 20,
    max_entries: 256,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let format = if selector % 2 == 0 {
        ArchiveFormat::Zip
    } else {
        ArchiveFormat::TarGz
    };
    let root = tempfile::tempdir().expect("a temporary folder");
    let archive = root.path().join("archive");
    std::fs::write(&archive, bytes).expect("the archive is written");
    let destination = root.path().join("out");
    std::fs::create_dir(&destination).expect("the destination is made");
    if let Ok(unpacked) = unpack(&archive, format, &destination, &LIMITS) {
        assert!(unpacked.root.starts_with(&destination));
    }
    // Beside the destination, only the archive; inside it, only files and folders.
    let mut beside: Vec<_> = std::fs::read_dir(root.path())
        .expect("the folder is read")
        .map(|entry| entry.expect("an entry").file_name())
        .collect();
    beside.sort();
    assert_eq!(beside, ["archive", "out"]);
    assert_no_links(&destination);
});

fn assert_no_links(folder: &Path) {
    for entry in std::fs::read_dir(folder).expect("the folder is read") {
        let entry = entry.expect("an entry");
        let kind = entry.file_type().expect("its type");
        assert!(!kind.is_symlink(), "a link was created: {:?}", entry.path());
        if kind.is_dir() {
            assert_no_links(&entry.path());
        }
    }
}
