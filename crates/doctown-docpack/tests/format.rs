//! The writer and the reader together: round trips, reproducibility, and every check the reader
//! makes, on docpacks built from real code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Cursor, Read, Write};

use doctown_docpack::*;
use doctown_testkit::docpack::{sample_contents, written};

fn read(bytes: &[u8]) -> Result<Docpack<Cursor<Vec<u8>>>, DocpackError> {
    read_docpack(bytes, Cursor::new(Vec::new()), &ReadLimits::default())
}

/// The archive's members, in order, as (name, bytes).
fn members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut body = Vec::new();
            entry.read_to_end(&mut body).unwrap();
            (name, body)
        })
        .collect()
}

/// A docpack with these members, in this order, written without the writer's care.
fn pack(members: &[(&str, &[u8])]) -> Vec<u8> {
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut archive = tar::Builder::new(gzip);
    for (name, body) in members {
        let mut header = tar::Header::new_gnu();
        // Written raw: the tar crate refuses to write `..`, as a hostile archive would not.
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        archive.append(&header, *body).unwrap();
    }
    archive.into_inner().unwrap().finish().unwrap()
}

#[test]
fn a_docpack_round_trips_with_every_member() {
    let contents = sample_contents(true, true);
    let bytes = written(contents.clone());
    let mut docpack = read(&bytes).unwrap();
    let manifest = &docpack.manifest;
    assert_eq!(manifest.schema_version, "docpack/1.1");
    assert!(manifest.optional.has_embeddings && manifest.optional.has_symbol_contexts);
    assert!(manifest.optional.has_pages);
    assert_eq!(
        manifest.statistics.page_count,
        contents.pages.as_ref().unwrap().len() as u64
    );
    let names: Vec<_> = members(&bytes).into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        [
            "manifest.json",
            "clusters.json",
            "embeddings.bin",
            "graph.json",
            "nodes.json",
            "pages.json",
            "source_map.json",
            "symbol_contexts.json"
        ]
    );
    assert_eq!(
        manifest.statistics.symbol_count,
        contents.nodes.len() as u64
    );
    assert_eq!(manifest.statistics.file_count, 3);
    assert_eq!(manifest.statistics.embedding_dimensions, 8);
    assert!(
        manifest.statistics.symbol_count > 20,
        "{}",
        manifest.statistics.symbol_count
    );
    assert_eq!(docpack.nodes.nodes.len(), contents.nodes.len());
    for node in &contents.nodes {
        let read = docpack
            .nodes
            .nodes
            .iter()
            .find(|n| n.id == node.id)
            .unwrap();
        assert_eq!(read, node);
    }
    assert_eq!(docpack.graph.edges.len(), contents.graph.edges.len());
    assert!(
        docpack
            .graph
            .edges
            .iter()
            .any(|e| e.kind == EdgeKind::Calls)
    );

    let embeddings = docpack.embeddings.as_mut().unwrap();
    let chunk = contents.source_map[1].chunks[0].chunk_id;
    let expected: Vec<f32> = chunk.as_bytes()[..8]
        .iter()
        .map(|b| f32::from(*b) / 255.0)
        .collect();
    assert_eq!(embeddings.get(&chunk).unwrap(), Some(expected));
}

#[test]
fn optional_members_may_be_absent() {
    let bytes = written(sample_contents(false, false));
    let docpack = read(&bytes).unwrap();
    assert!(docpack.embeddings.is_none() && docpack.symbol_contexts.is_none());
    assert_eq!(docpack.manifest.statistics.embedding_dimensions, 0);
    assert_eq!(members(&bytes).len(), 5);
}

#[test]
fn the_same_contents_give_the_same_bytes_in_any_order() {
    let contents = sample_contents(true, true);
    let first = written(contents.clone());
    let mut shuffled = contents;
    shuffled.nodes.reverse();
    shuffled.graph.edges.reverse();
    shuffled.graph.nodes.reverse();
    shuffled.source_map.reverse();
    shuffled.clusters.reverse();
    shuffled.symbol_contexts.as_mut().unwrap().reverse();
    let second = written(shuffled);
    assert_eq!(first, second);
    let docpack = read(&first).unwrap();
    assert_eq!(docpack.manifest, read(&second).unwrap().manifest);
}

#[test]
fn archive_entries_have_fixed_metadata() {
    let bytes = written(sample_contents(false, false));
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        let header = entry.header();
        assert_eq!(header.mode().unwrap(), 0o644);
        assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0));
        // 2026-11-27T09:30:00Z, the contents' creation time.
        assert_eq!(header.mtime().unwrap(), 1_795_771_800);
    }
}

#[test]
fn every_json_object_has_sorted_keys() {
    fn check(value: &serde_json::Value, at: &str) {
        match value {
            serde_json::Value::Object(map) => {
                let keys: Vec<_> = map.keys().collect();
                let mut sorted = keys.clone();
                sorted.sort();
                assert_eq!(keys, sorted, "at {at}");
                for (key, value) in map {
                    check(value, &format!("{at}.{key}"));
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| check(v, at)),
            _ => {}
        }
    }
    for (name, body) in members(&written(sample_contents(true, true))) {
        if name.ends_with(".json") {
            check(&serde_json::from_slice(&body).unwrap(), &name);
        }
    }
}

#[test]
fn a_changed_byte_anywhere_is_caught() {
    let bytes = written(sample_contents(true, true));
    let mut members = members(&bytes);
    for index in 0..members.len() {
        let mut changed = members.clone();
        let body = &mut changed[index].1;
        let middle = body.len() / 2;
        body[middle] ^= 0x01;
        let borrowed: Vec<(&str, &[u8])> = changed
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let err = read(&pack(&borrowed)).unwrap_err();
        assert!(
            matches!(
                err,
                DocpackError::Checksum { .. } | DocpackError::Malformed(_)
            ),
            "{}: {err}",
            changed[index].0
        );
        if index > 0 {
            assert!(err.to_string().contains(&changed[index].0), "{err}");
        }
    }
    // A member dropped.
    members.remove(3);
    let borrowed: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let err = read(&pack(&borrowed)).unwrap_err();
    assert!(
        err.to_string().contains("missing from the archive"),
        "{err}"
    );
}

#[test]
fn truncated_and_damaged_archives_are_errors_not_panics() {
    let bytes = written(sample_contents(true, false));
    for cut in (0..bytes.len()).step_by(97) {
        assert!(read(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    for at in (0..bytes.len()).step_by(131) {
        let mut damaged = bytes.clone();
        damaged[at] = damaged[at].wrapping_add(1);
        // Either caught or, for bytes gzip ignores (header flags), read intact.
        if let Ok(docpack) = read(&damaged) {
            assert_eq!(docpack.manifest, read(&bytes).unwrap().manifest);
        }
    }
    assert!(read(b"not a docpack at all").is_err());
}

#[test]
fn an_unknown_major_version_names_both_versions() {
    let bytes = written(sample_contents(false, false));
    let members = members(&bytes);
    let manifest = String::from_utf8(members[0].1.clone())
        .unwrap()
        .replace("docpack/1.1", "docpack/2.0");
    let mut borrowed: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    borrowed[0].1 = manifest.as_bytes();
    let err = read(&pack(&borrowed)).unwrap_err();
    assert!(matches!(err, DocpackError::UnsupportedVersion { .. }));
    assert_eq!(
        err.to_string(),
        "the docpack is docpack/2.0, and this reader reads docpack/1.1; use a Doctown version \
         that reads docpack/2.0, or regenerate the docpack"
    );
}

#[test]
fn hostile_members_are_refused() {
    let bytes = written(sample_contents(false, false));
    let members = members(&bytes);
    let borrowed: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();

    // A path that escapes, an extra member, a manifest that is not first.
    let mut escaping = borrowed.clone();
    escaping.push(("../../etc/passwd", b"root"));
    assert!(
        read(&pack(&escaping))
            .unwrap_err()
            .to_string()
            .contains("does not list")
    );
    let mut reordered = borrowed.clone();
    reordered.swap(0, 1);
    assert!(
        read(&pack(&reordered))
            .unwrap_err()
            .to_string()
            .contains("first member")
    );
    let mut twice = borrowed.clone();
    twice.push(borrowed[1]);
    assert!(
        read(&pack(&twice))
            .unwrap_err()
            .to_string()
            .contains("twice")
    );

    // A member over the reader's limit is refused before it is read.
    let limits = ReadLimits {
        max_json_bytes: 64,
        ..ReadLimits::default()
    };
    let err = read_docpack(&bytes[..], Cursor::new(Vec::new()), &limits).unwrap_err();
    assert!(matches!(err, DocpackError::TooLarge { .. }), "{err}");

    // A link instead of a file.
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut archive = tar::Builder::new(gzip);
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    archive
        .append_link(&mut header, "manifest.json", "/etc/passwd")
        .unwrap();
    let linked = archive.into_inner().unwrap().finish().unwrap();
    assert!(
        read(&linked)
            .unwrap_err()
            .to_string()
            .contains("not a regular file")
    );
}

#[test]
fn the_writer_refuses_what_the_format_cannot_hold() {
    let mut contents = sample_contents(false, false);
    contents.nodes[0].centrality = f64::NAN;
    let err = write_docpack(contents, Vec::new()).unwrap_err();
    assert!(err.to_string().contains("not a finite number"), "{err}");

    let mut contents = sample_contents(false, false);
    let copy = contents.nodes[0].clone();
    contents.nodes.push(copy);
    let err = write_docpack(contents, Vec::new()).unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");
}

#[test]
fn the_manifest_alone_can_be_read() {
    let bytes = written(sample_contents(true, true));
    let manifest = read_manifest(&bytes[..], &ReadLimits::default()).unwrap();
    assert_eq!(manifest, read(&bytes).unwrap().manifest);
    let mut sink = Vec::new();
    sink.write_all(&bytes[..40]).unwrap();
    assert!(read_manifest(&sink[..], &ReadLimits::default()).is_err());
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Packs `members` after a manifest made to agree with them, as someone crafting a docpack
/// would: each member's size and sha256, the docpack id and the manifest's checksum recomputed,
/// so that only the reader's other checks can refuse it. `edit` changes the manifest first.
fn signed(members: &[(String, Vec<u8>)], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut manifest: serde_json::Value = serde_json::from_slice(&members[0].1).unwrap();
    let mut id_lines = String::new();
    for (entry, (name, body)) in manifest["members"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(&members[1..])
    {
        assert_eq!(entry["path"], name.as_str());
        entry["sha256"] = sha256_hex(body).into();
        entry["size_bytes"] = body.len().into();
        id_lines.push_str(&format!("{}  {}  {name}\n", sha256_hex(body), body.len()));
    }
    manifest["docpack_id"] = sha256_hex(id_lines.as_bytes()).into();
    edit(&mut manifest);
    manifest["checksum"]["value"] = "".into();
    let render = |value: &serde_json::Value| {
        let mut text = serde_json::to_vec_pretty(value).unwrap();
        text.push(b'\n');
        text
    };
    manifest["checksum"]["value"] = sha256_hex(&render(&manifest)).into();
    let manifest = render(&manifest);
    let mut all: Vec<(&str, &[u8])> = vec![("manifest.json", &manifest)];
    all.extend(members[1..].iter().map(|(n, b)| (n.as_str(), b.as_slice())));
    pack(&all)
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut raw)
        .unwrap();
    raw
}

fn gzip(raw: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(raw).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_crafted_docpack_that_agrees_with_itself_is_read() {
    // The helper above makes docpacks the reader accepts: the tests below change one thing.
    let bytes = written(sample_contents(true, true));
    let members = members(&bytes);
    let docpack = read(&signed(&members, |_| {})).unwrap();
    assert_eq!(docpack.manifest, read(&bytes).unwrap().manifest);
}

#[test]
fn an_archive_damaged_after_its_members_is_refused() {
    let bytes = written(sample_contents(true, false));
    read(&bytes).unwrap();
    // The gzip trailer (CRC-32, then the length) cut by 1 to 8 bytes.
    for cut in 1..=8 {
        let err = read(&bytes[..bytes.len() - cut]).unwrap_err();
        assert!(err.to_string().contains("damaged"), "cut {cut}: {err}");
    }
    // A flipped bit in the CRC, and in the length.
    for at in [bytes.len() - 8, bytes.len() - 1] {
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x10;
        assert!(read(&flipped).is_err(), "flipped byte {at}");
    }
    // Bytes after the gzip stream: garbage, or a second gzip member.
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(b"garbage");
    let err = read(&trailing).unwrap_err();
    assert!(err.to_string().contains("goes on after"), "{err}");
    let mut second = bytes.clone();
    second.extend_from_slice(&gzip(b"more"));
    let err = read(&second).unwrap_err();
    assert!(err.to_string().contains("goes on after"), "{err}");
    // A tar entry hidden after the end-of-archive marker.
    let mut raw = gunzip(&bytes);
    let mut hidden = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o644);
    hidden
        .append_data(&mut header, "nodes.json", &b"evil"[..])
        .unwrap();
    raw.extend_from_slice(&hidden.into_inner().unwrap());
    let err = read(&gzip(&raw)).unwrap_err();
    assert!(
        err.to_string().contains("after its end-of-archive"),
        "{err}"
    );
}

#[test]
fn a_member_is_checked_before_it_is_parsed_and_spooled_only_as_declared() {
    let bytes = written(sample_contents(true, true));
    let members = members(&bytes);
    // graph.json replaced by text that is not JSON, its manifest entry left as it was: the
    // checksum is what the reader reports, not a parse error.
    let mut changed = members.clone();
    let graph = changed.iter().position(|(n, _)| n == "graph.json").unwrap();
    let length = changed[graph].1.len();
    changed[graph].1 = vec![b'['; length];
    let borrowed: Vec<(&str, &[u8])> = changed
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let err = read(&pack(&borrowed)).unwrap_err();
    assert!(matches!(err, DocpackError::Checksum { .. }), "{err}");

    // A bomb: graph.json declared (and signed) as 64 MiB of spaces, a few hundred KiB
    // compressed: refused while it inflates, long before its 64 MiB are spooled.
    let mut bomb = members.clone();
    bomb[graph].1 = vec![b' '; 64 << 20];
    let mut best = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    best.write_all(&gunzip(&signed(&bomb, |_| {}))).unwrap();
    let crafted = best.finish().unwrap();
    assert!(crafted.len() < 1 << 20, "{} bytes", crafted.len());
    let mut spool = Cursor::new(Vec::new());
    let err = read_docpack(&crafted[..], &mut spool, &ReadLimits::default()).unwrap_err();
    assert!(err.to_string().contains("decompression bomb"), "{err}");
    assert!(
        spool.get_ref().len() < 32 << 20,
        "{} bytes spooled",
        spool.get_ref().len()
    );

    // embeddings.bin declared larger than its statistics allow is refused before it is read.
    let embeddings = members
        .iter()
        .position(|(n, _)| n == "embeddings.bin")
        .unwrap();
    let mut larger = members.clone();
    larger[embeddings].1.extend_from_slice(&[0; 4096]);
    let mut spool = Cursor::new(Vec::new());
    let err = read_docpack(
        &signed(&larger, |_| {})[..],
        &mut spool,
        &ReadLimits::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("declares embeddings.bin"), "{err}");
    assert!(spool.get_ref().is_empty());
}

#[test]
fn edges_to_missing_nodes_and_escaping_paths_are_refused_by_reader_and_writer() {
    let bytes = written(sample_contents(false, false));
    let members = members(&bytes);
    let at = |name: &str| members.iter().position(|(n, _)| n == name).unwrap();

    // An edge whose target is no node.
    let mut graph: serde_json::Value =
        serde_json::from_slice(&members[at("graph.json")].1).unwrap();
    graph["edges"][0]["target"] = "file:nowhere.rs".into();
    let mut changed = members.clone();
    changed[at("graph.json")].1 = serde_json::to_vec(&graph).unwrap();
    let err = read(&signed(&changed, |_| {})).unwrap_err();
    assert!(err.to_string().contains("does not hold"), "{err}");

    // Source-map paths that leave the repository.
    for path in ["../../etc/passwd", "/etc/passwd", "a/./b.rs", "a//b.rs", ""] {
        let mut map: serde_json::Value =
            serde_json::from_slice(&members[at("source_map.json")].1).unwrap();
        map["files"][0]["path"] = path.into();
        let mut changed = members.clone();
        changed[at("source_map.json")].1 = serde_json::to_vec(&map).unwrap();
        let err = read(&signed(&changed, |_| {})).unwrap_err();
        assert!(
            err.to_string().contains("not a relative path"),
            "{path:?}: {err}"
        );
    }

    // The writer refuses both.
    let mut contents = sample_contents(false, false);
    contents.graph.edges[0].target = "file:nowhere.rs".into();
    let err = write_docpack(contents, Vec::new()).unwrap_err();
    assert!(err.to_string().contains("does not hold"), "{err}");
    let mut contents = sample_contents(false, false);
    contents.source_map[0].path = "../../etc/passwd".into();
    let err = write_docpack(contents, Vec::new()).unwrap_err();
    assert!(err.to_string().contains("not a relative path"), "{err}");
}

/// `manifest` (JSON as written) edited by `edit` and signed again, in the canonical form a
/// writer would have written it in.
fn resigned(manifest: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    fn sort(value: &mut serde_json::Value) {
        if let serde_json::Value::Object(map) = value {
            map.sort_keys();
            map.values_mut().for_each(sort);
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(manifest).unwrap();
    edit(&mut value);
    sort(&mut value);
    value["checksum"]["value"] = serde_json::json!("");
    let unsigned = serde_json::to_string_pretty(&value).unwrap() + "\n";
    let checksum: String = Sha256::digest(unsigned.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    value["checksum"]["value"] = serde_json::json!(checksum);
    (serde_json::to_string_pretty(&value).unwrap() + "\n").into_bytes()
}

#[test]
fn a_docpack_1_0_without_pages_still_reads() {
    let bytes = written(sample_contents(true, false));
    let members = members(&bytes);
    let manifest = resigned(&members[0].1, |value| {
        value["schema_version"] = serde_json::json!("docpack/1.0");
        value["optional"]
            .as_object_mut()
            .unwrap()
            .remove("has_pages");
        value["statistics"]
            .as_object_mut()
            .unwrap()
            .remove("page_count");
    });
    let mut borrowed: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    borrowed[0].1 = &manifest;
    let docpack = read(&pack(&borrowed)).unwrap();
    assert_eq!(docpack.manifest.schema_version, "docpack/1.0");
    assert!(docpack.pages.is_none() && !docpack.manifest.optional.has_pages);
    assert_eq!(docpack.manifest.statistics.page_count, 0);
}

#[test]
fn pages_that_name_what_the_docpack_lacks_are_refused() {
    let mut contents = sample_contents(false, true);
    let pages = contents.pages.as_mut().unwrap();
    pages[1].parent = Some("module/nowhere".to_owned());
    let err = write_docpack(contents, Vec::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("sits under module/nowhere, which is not a page"),
        "{err}"
    );

    let mut contents = sample_contents(false, true);
    let pages = contents.pages.as_mut().unwrap();
    pages[0].citations.push(Citation {
        line_range: doctown_common::LineRange::clamped(1, 2),
        path: "src/missing.rs".to_owned(),
        symbol_id: None,
    });
    let err = write_docpack(contents, Vec::new()).unwrap_err();
    assert!(
        err.to_string()
            .contains("names file \"src/missing.rs\", which the source map does not hold"),
        "{err}"
    );
}

#[test]
fn a_later_minor_with_fields_this_reader_does_not_know_still_reads() {
    let bytes = written(sample_contents(false, false));
    let members = members(&bytes);
    let manifest = resigned(&members[0].1, |value| {
        value["schema_version"] = serde_json::json!("docpack/1.9");
        value["statistics"]["future_count"] = serde_json::json!(7);
    });
    let mut borrowed: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    borrowed[0].1 = &manifest;
    let docpack = read(&pack(&borrowed)).unwrap();
    assert_eq!(docpack.manifest.schema_version, "docpack/1.9");
}
