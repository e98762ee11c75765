//! The reader: a `.docpack` in, its members out, every checksum verified on the way.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Seek, SeekFrom, Write};

use flate2::read::GzDecoder;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::embeddings::Embeddings;
use crate::model::{
    Clusters, Graph, Manifest, Member, Nodes, SourceMap, Statistics, SymbolContexts,
};
use crate::write::{docpack_id, hex, manifest_checksum};
use crate::{DocpackError, MANIFEST, SCHEMA_VERSION, member};

/// How much a reader accepts, so that a hostile archive cannot exhaust memory or disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// The largest manifest (default 1 MiB).
    pub max_manifest_bytes: u64,
    /// The largest JSON member, parsed in memory (default 1 GiB).
    pub max_json_bytes: u64,
    /// The largest `embeddings.bin`, copied to the spool (default 8 GiB).
    pub max_embeddings_bytes: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_manifest_bytes: 1 << 20,
            max_json_bytes: 1 << 30,
            max_embeddings_bytes: 8 << 30,
        }
    }
}

/// A docpack that was read and verified.
#[derive(Debug)]
pub struct Docpack<S> {
    /// The manifest.
    pub manifest: Manifest,
    /// `nodes.json`.
    pub nodes: Nodes,
    /// `graph.json`.
    pub graph: Graph,
    /// `clusters.json`.
    pub clusters: Clusters,
    /// `source_map.json`.
    pub source_map: SourceMap,
    /// `symbol_contexts.json`, when present.
    pub symbol_contexts: Option<SymbolContexts>,
    /// `embeddings.bin`, when present, read from the spool row by row.
    pub embeddings: Option<Embeddings<S>>,
}

/// Reads only the manifest (the first member) and checks its version and checksum; the other
/// members are not verified.
pub fn read_manifest<R: Read>(input: R, limits: &ReadLimits) -> Result<Manifest, DocpackError> {
    let mut archive = tar::Archive::new(GzDecoder::new(input));
    let mut entries = archive.entries().map_err(damaged)?;
    let first = entries
        .next()
        .ok_or_else(|| DocpackError::Malformed("the archive is empty".into()))?
        .map_err(damaged)?;
    manifest(first, limits)
}

/// Reads and verifies a whole docpack. `embeddings.bin`, when present, is copied to `spool`
/// (a temporary file, say) for random access; the JSON members are parsed as they stream by.
pub fn read_docpack<R: Read, S: Read + Write + Seek>(
    input: R,
    spool: S,
    limits: &ReadLimits,
) -> Result<Docpack<S>, DocpackError> {
    let mut archive = tar::Archive::new(GzDecoder::new(input));
    let mut entries = archive.entries().map_err(damaged)?;
    let first = entries
        .next()
        .ok_or_else(|| DocpackError::Malformed("the archive is empty".into()))?
        .map_err(damaged)?;
    let manifest = manifest(first, limits)?;
    let listed = listed_members(&manifest)?;

    let mut spool = Some(spool);
    let mut seen = BTreeSet::new();
    let mut parts = Parts::default();
    for entry in entries {
        let entry = entry.map_err(damaged)?;
        let name = entry_name(&entry)?;
        let Some(member) = listed.get(name.as_str()) else {
            return Err(DocpackError::Malformed(format!(
                "the archive holds {name:?}, which its manifest does not list"
            )));
        };
        if !seen.insert(name.clone()) {
            return Err(DocpackError::Malformed(format!(
                "the archive holds {name} twice"
            )));
        }
        let size = entry.header().size().map_err(damaged)?;
        if size != member.size_bytes {
            return Err(DocpackError::Checksum {
                what: format!(
                    "{name} holds {size} bytes, the manifest says {}",
                    member.size_bytes
                ),
            });
        }
        let limit = if name == member::EMBEDDINGS {
            limits.max_embeddings_bytes
        } else {
            limits.max_json_bytes
        };
        if size > limit {
            return Err(DocpackError::TooLarge {
                member: name,
                size,
                limit,
            });
        }
        let mut body = HashingReader::new(entry.take(size));
        match name.as_str() {
            member::EMBEDDINGS => {
                let mut file = spool.take().ok_or_else(|| {
                    DocpackError::Malformed("embeddings.bin appears twice".into())
                })?;
                file.seek(SeekFrom::Start(0)).map_err(DocpackError::read)?;
                io::copy(&mut body, &mut file).map_err(DocpackError::read)?;
                file.flush().map_err(DocpackError::read)?;
                verify_member(member, body)?;
                parts.embeddings = Some(Embeddings::open(file, size)?);
            }
            member::NODES => parts.nodes = Some(parse(member, body)?),
            member::GRAPH => parts.graph = Some(parse(member, body)?),
            member::CLUSTERS => parts.clusters = Some(parse(member, body)?),
            member::SOURCE_MAP => parts.source_map = Some(parse(member, body)?),
            member::SYMBOL_CONTEXTS => parts.symbol_contexts = Some(parse(member, body)?),
            _ => {
                return Err(DocpackError::Malformed(format!("unknown member {name}")));
            }
        }
    }
    drop(archive);
    if let Some(missing) = listed.keys().find(|name| !seen.contains(**name)) {
        return Err(DocpackError::Malformed(format!(
            "{missing} is listed in the manifest but missing from the archive (truncated?)"
        )));
    }
    let id = docpack_id(&manifest.members);
    if id != manifest.docpack_id {
        return Err(DocpackError::Checksum {
            what: format!(
                "the members give docpack_id {id}, the manifest says {}",
                manifest.docpack_id
            ),
        });
    }
    let docpack = parts.assemble(manifest)?;
    check_statistics(&docpack)?;
    Ok(docpack)
}

/// The members read so far.
struct Parts<S> {
    nodes: Option<Nodes>,
    graph: Option<Graph>,
    clusters: Option<Clusters>,
    source_map: Option<SourceMap>,
    symbol_contexts: Option<SymbolContexts>,
    embeddings: Option<Embeddings<S>>,
}

impl<S> Default for Parts<S> {
    fn default() -> Self {
        Self {
            nodes: None,
            graph: None,
            clusters: None,
            source_map: None,
            symbol_contexts: None,
            embeddings: None,
        }
    }
}

impl<S> Parts<S> {
    fn assemble(self, manifest: Manifest) -> Result<Docpack<S>, DocpackError> {
        let missing = |name: &str| DocpackError::Malformed(format!("{name} is missing"));
        Ok(Docpack {
            manifest,
            nodes: self.nodes.ok_or_else(|| missing(member::NODES))?,
            graph: self.graph.ok_or_else(|| missing(member::GRAPH))?,
            clusters: self.clusters.ok_or_else(|| missing(member::CLUSTERS))?,
            source_map: self.source_map.ok_or_else(|| missing(member::SOURCE_MAP))?,
            symbol_contexts: self.symbol_contexts,
            embeddings: self.embeddings,
        })
    }
}

/// Reads, checks and parses the manifest entry.
fn manifest<R: Read>(
    entry: tar::Entry<'_, R>,
    limits: &ReadLimits,
) -> Result<Manifest, DocpackError> {
    let name = entry_name(&entry)?;
    if name != MANIFEST {
        return Err(DocpackError::Malformed(format!(
            "its first member is {name:?}, not {MANIFEST}; is this a docpack?"
        )));
    }
    let size = entry.header().size().map_err(damaged)?;
    if size > limits.max_manifest_bytes {
        return Err(DocpackError::TooLarge {
            member: MANIFEST.into(),
            size,
            limit: limits.max_manifest_bytes,
        });
    }
    let mut bytes = Vec::new();
    entry.take(size).read_to_end(&mut bytes).map_err(damaged)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|err| DocpackError::Malformed(format!("{MANIFEST} is not JSON: {err}")))?;
    let version = value
        .get("schema_version")
        .and_then(|v| v.as_str())
        .ok_or_else(|| DocpackError::Malformed(format!("{MANIFEST} has no schema_version")))?;
    check_version(version)?;
    let manifest: Manifest = serde_json::from_value(value)
        .map_err(|err| DocpackError::Malformed(format!("{MANIFEST} is not valid: {err}")))?;
    if manifest.checksum.algorithm != "sha256" {
        return Err(DocpackError::Malformed(format!(
            "the manifest's checksum algorithm is {:?}; only sha256 is defined",
            manifest.checksum.algorithm
        )));
    }
    let checksum = manifest_checksum(&manifest)?;
    if checksum != manifest.checksum.value {
        return Err(DocpackError::Checksum {
            what: format!(
                "the manifest's checksum is {checksum}, it records {}",
                manifest.checksum.value
            ),
        });
    }
    Ok(manifest)
}

/// Accepts every `docpack/1.x`.
fn check_version(version: &str) -> Result<(), DocpackError> {
    let supported_major = SCHEMA_VERSION
        .strip_prefix("docpack/")
        .and_then(|v| v.split('.').next());
    let major = version
        .strip_prefix("docpack/")
        .and_then(|v| v.split_once('.'))
        .filter(|(major, minor)| {
            !major.is_empty()
                && major.bytes().all(|b| b.is_ascii_digit())
                && !minor.is_empty()
                && minor.bytes().all(|b| b.is_ascii_digit())
        })
        .map(|(major, _)| major)
        .ok_or_else(|| {
            DocpackError::Malformed(format!(
                "schema_version {version:?} is not of the form docpack/<major>.<minor>"
            ))
        })?;
    if Some(major) != supported_major {
        return Err(DocpackError::UnsupportedVersion {
            found: version.to_owned(),
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// The manifest's members by name, checked: known names, no duplicates, the required ones, and
/// the optional ones as `optional` says.
fn listed_members(manifest: &Manifest) -> Result<BTreeMap<&str, &Member>, DocpackError> {
    let mut listed = BTreeMap::new();
    for entry in &manifest.members {
        let known = member::REQUIRED.contains(&entry.path.as_str())
            || member::OPTIONAL.contains(&entry.path.as_str());
        if !known {
            return Err(DocpackError::Malformed(format!(
                "the manifest lists {:?}, which is not a docpack member",
                entry.path
            )));
        }
        if listed.insert(entry.path.as_str(), entry).is_some() {
            return Err(DocpackError::Malformed(format!(
                "the manifest lists {} twice",
                entry.path
            )));
        }
    }
    if let Some(name) = member::REQUIRED
        .iter()
        .find(|name| !listed.contains_key(*name))
    {
        return Err(DocpackError::Malformed(format!(
            "the manifest does not list {name}, which every docpack has"
        )));
    }
    let flags = [
        (member::EMBEDDINGS, manifest.optional.has_embeddings),
        (
            member::SYMBOL_CONTEXTS,
            manifest.optional.has_symbol_contexts,
        ),
    ];
    for (name, flagged) in flags {
        if listed.contains_key(name) != flagged {
            return Err(DocpackError::Malformed(format!(
                "the manifest's optional flags disagree with its member list about {name}"
            )));
        }
    }
    Ok(listed)
}

/// An entry's name, which must be a plain member name of a regular file.
fn entry_name<R: Read>(entry: &tar::Entry<'_, R>) -> Result<String, DocpackError> {
    let raw = entry.path_bytes();
    let name = std::str::from_utf8(&raw)
        .map_err(|_| DocpackError::Malformed("a member's name is not UTF-8".into()))?
        .to_owned();
    if !entry.header().entry_type().is_file() {
        return Err(DocpackError::Malformed(format!(
            "{name:?} is not a regular file; a docpack holds only regular files"
        )));
    }
    Ok(name)
}

/// Parses a JSON member as it streams, then checks its checksum. A member that does not parse
/// is reported as damaged when its checksum also differs.
fn parse<T: DeserializeOwned, R: Read>(
    member: &Member,
    mut body: HashingReader<R>,
) -> Result<T, DocpackError> {
    let parsed = serde_json::from_reader::<_, T>(&mut body);
    // Hash whatever the parser left (nothing, or the bytes after an error).
    io::copy(&mut body, &mut io::sink()).map_err(damaged)?;
    let (size, sha256) = body.finish();
    check_hash(member, size, &sha256)?;
    parsed.map_err(|err| DocpackError::Malformed(format!("{} is not valid: {err}", member.path)))
}

fn verify_member<R: Read>(member: &Member, body: HashingReader<R>) -> Result<(), DocpackError> {
    let (size, sha256) = body.finish();
    check_hash(member, size, &sha256)
}

fn check_hash(member: &Member, size: u64, sha256: &str) -> Result<(), DocpackError> {
    if size != member.size_bytes {
        return Err(DocpackError::Checksum {
            what: format!(
                "{} ends after {size} bytes, the manifest says {}",
                member.path, member.size_bytes
            ),
        });
    }
    if sha256 != member.sha256 {
        return Err(DocpackError::Checksum {
            what: format!(
                "{}'s sha256 is {sha256}, the manifest records {}",
                member.path, member.sha256
            ),
        });
    }
    Ok(())
}

/// Checks that the statistics agree with the members.
fn check_statistics<S>(docpack: &Docpack<S>) -> Result<(), DocpackError>
where
    S: Read + Seek,
{
    let stats = &docpack.manifest.statistics;
    let actual = Statistics::of(
        &docpack.nodes.nodes,
        &docpack.graph,
        &docpack.clusters.clusters,
        &docpack.source_map.files,
        docpack
            .embeddings
            .as_ref()
            .map_or(0, Embeddings::dimensions),
    );
    let checks = [
        ("symbol_count", stats.symbol_count, actual.symbol_count),
        ("file_count", stats.file_count, actual.file_count),
        ("chunk_count", stats.chunk_count, actual.chunk_count),
        ("edge_count", stats.edge_count, actual.edge_count),
        ("cluster_count", stats.cluster_count, actual.cluster_count),
        (
            "embedding_dimensions",
            u64::from(stats.embedding_dimensions),
            u64::from(actual.embedding_dimensions),
        ),
    ];
    for (name, recorded, actual) in checks {
        if recorded != actual {
            return Err(DocpackError::Malformed(format!(
                "the manifest's statistics say {name} {recorded}, the members hold {actual}"
            )));
        }
    }
    if actual.languages != stats.languages {
        return Err(DocpackError::Malformed(
            "the manifest's statistics disagree with the source map about languages".into(),
        ));
    }
    Ok(())
}

fn damaged(err: io::Error) -> DocpackError {
    DocpackError::Malformed(format!("the archive is damaged or truncated: {err}"))
}

/// Counts and hashes what is read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            read: 0,
        }
    }

    fn finish(self) -> (u64, String) {
        (self.read, hex(&self.hasher.finalize()))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}
