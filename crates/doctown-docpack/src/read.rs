//! The reader: a `.docpack` in, its members out, every checksum verified on the way.
//!
//! Nothing is trusted before it is checked. The manifest's declared sizes are checked against
//! the limits and against each other before any member is read; each member is copied to the
//! spool as it streams (hashed on the way, never past its declared size) and parsed only once
//! its size and checksum are right; the archive is read to its very end, so a damaged gzip
//! trailer, bytes after it, or anything hidden after the tar's end-of-archive is refused; and
//! the decompressed stream may not outgrow the compressed one beyond [`ReadLimits`]' ratio.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};

use flate2::bufread::GzDecoder;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::embeddings::{Embeddings, embeddings_size};
use crate::model::{
    Clusters, Graph, Manifest, Member, Nodes, Pages, SourceMap, Statistics, SymbolContexts,
};
use crate::model::{check_pages, check_references};
use crate::write::{docpack_id, hex, signed_checksum};
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
    /// How many times the compressed bytes read so far the archive may inflate to, past its
    /// first 16 MiB (default 50: the website's sample docpack inflates 1.7 times, the synthetic
    /// benchmark's 17.9 times; a bomb, up to a thousand).
    pub max_inflation: u64,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_manifest_bytes: 1 << 20,
            max_json_bytes: 1 << 30,
            max_embeddings_bytes: 8 << 30,
            max_inflation: 50,
        }
    }
}

/// What any archive may inflate to before the ratio applies.
const INFLATION_ALLOWANCE: u64 = 16 << 20;

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
    /// `pages.json`, when present (`docpack/1.1` and later).
    pub pages: Option<Pages>,
    /// `embeddings.bin`, when present, read from the spool row by row.
    pub embeddings: Option<Embeddings<S>>,
}

/// Reads only the manifest (the first member) and checks its version and checksum; the other
/// members are not verified.
pub fn read_manifest<R: Read>(input: R, limits: &ReadLimits) -> Result<Manifest, DocpackError> {
    let mut archive = tar::Archive::new(Inflating::new(input, limits));
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
    mut spool: S,
    limits: &ReadLimits,
) -> Result<Docpack<S>, DocpackError> {
    let mut archive = tar::Archive::new(Inflating::new(input, limits));
    let mut entries = archive.entries().map_err(damaged)?;
    let first = entries
        .next()
        .ok_or_else(|| DocpackError::Malformed("the archive is empty".into()))?
        .map_err(damaged)?;
    let manifest = manifest(first, limits)?;
    let listed = listed_members(&manifest)?;
    check_declared_sizes(&manifest, &listed, limits)?;

    // `embeddings.bin` is kept at the start of the spool; each JSON member is copied after it,
    // checked, then parsed from there.
    let mut embeddings_size = None;
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
        let at = if name == member::EMBEDDINGS {
            embeddings_size = Some(size);
            0
        } else {
            embeddings_size.unwrap_or(0)
        };
        spool_member(member, entry, &mut spool, at)?;
        if name == member::EMBEDDINGS {
            continue;
        }
        spool
            .seek(SeekFrom::Start(at))
            .map_err(DocpackError::read)?;
        let body = BufReader::new((&mut spool).take(size));
        match name.as_str() {
            member::NODES => parts.nodes = Some(parse(member, body)?),
            member::GRAPH => parts.graph = Some(parse(member, body)?),
            member::CLUSTERS => parts.clusters = Some(parse(member, body)?),
            member::SOURCE_MAP => parts.source_map = Some(parse(member, body)?),
            member::SYMBOL_CONTEXTS => parts.symbol_contexts = Some(parse(member, body)?),
            member::PAGES => parts.pages = Some(parse(member, body)?),
            _ => {
                return Err(DocpackError::Malformed(format!("unknown member {name}")));
            }
        }
    }
    archive.into_inner().finish()?;
    if let Some(size) = embeddings_size {
        parts.embeddings = Some(Embeddings::open(spool, size)?);
    }
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
    check_references(&docpack.graph, &docpack.source_map.files).map_err(DocpackError::Malformed)?;
    if let Some(pages) = &docpack.pages {
        check_pages(
            &pages.pages,
            &docpack.nodes.nodes,
            &docpack.source_map.files,
        )
        .map_err(DocpackError::Malformed)?;
    }
    Ok(docpack)
}

/// Checks what the manifest declares before any member is read: each member within its limit,
/// and `embeddings.bin` exactly the size its statistics imply (the members are checked against
/// those statistics at the end), so nothing larger is ever spooled.
fn check_declared_sizes(
    manifest: &Manifest,
    listed: &BTreeMap<&str, &Member>,
    limits: &ReadLimits,
) -> Result<(), DocpackError> {
    for (name, member) in listed {
        let limit = if *name == member::EMBEDDINGS {
            limits.max_embeddings_bytes
        } else {
            limits.max_json_bytes
        };
        if member.size_bytes > limit {
            return Err(DocpackError::TooLarge {
                member: (*name).to_owned(),
                size: member.size_bytes,
                limit,
            });
        }
    }
    if let Some(embeddings) = listed.get(member::EMBEDDINGS) {
        let stats = &manifest.statistics;
        let expected = embeddings_size(stats.chunk_count, u64::from(stats.embedding_dimensions));
        if expected != Some(embeddings.size_bytes) {
            return Err(DocpackError::Malformed(format!(
                "the manifest declares embeddings.bin of {} bytes, but {} chunks of {} \
                 dimensions take {}",
                embeddings.size_bytes,
                stats.chunk_count,
                stats.embedding_dimensions,
                expected.map_or_else(|| "more than can be stored".to_owned(), |n| n.to_string())
            )));
        }
    }
    Ok(())
}

/// Copies `member`'s body into `spool` at `at`, hashing it on the way, and checks its size and
/// checksum.
fn spool_member<R: Read, S: Write + Seek>(
    member: &Member,
    entry: R,
    spool: &mut S,
    at: u64,
) -> Result<(), DocpackError> {
    spool
        .seek(SeekFrom::Start(at))
        .map_err(DocpackError::read)?;
    let mut body = HashingReader::new(entry.take(member.size_bytes));
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        // The archive's failures (a cut stream, a bomb) apart from the spool's.
        let n = body.read(&mut buffer).map_err(damaged)?;
        if n == 0 {
            break;
        }
        spool.write_all(&buffer[..n]).map_err(DocpackError::read)?;
    }
    spool.flush().map_err(DocpackError::read)?;
    let (size, sha256) = body.finish();
    check_hash(member, size, &sha256)
}

/// The members read so far.
struct Parts<S> {
    nodes: Option<Nodes>,
    graph: Option<Graph>,
    clusters: Option<Clusters>,
    source_map: Option<SourceMap>,
    symbol_contexts: Option<SymbolContexts>,
    pages: Option<Pages>,
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
            pages: None,
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
            pages: self.pages,
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
    // Signed as written: fields of later minors that this reader does not know included.
    let checksum = signed_checksum(value.clone())?;
    let manifest: Manifest = serde_json::from_value(value)
        .map_err(|err| DocpackError::Malformed(format!("{MANIFEST} is not valid: {err}")))?;
    if manifest.checksum.algorithm != "sha256" {
        return Err(DocpackError::Malformed(format!(
            "the manifest's checksum algorithm is {:?}; only sha256 is defined",
            manifest.checksum.algorithm
        )));
    }
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
        (member::PAGES, manifest.optional.has_pages),
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

/// Parses a JSON member whose checksum was checked.
fn parse<T: DeserializeOwned, R: Read>(member: &Member, body: R) -> Result<T, DocpackError> {
    serde_json::from_reader::<_, T>(body)
        .map_err(|err| DocpackError::Malformed(format!("{} is not valid: {err}", member.path)))
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
        docpack.pages.as_ref().map_or(&[][..], |pages| &pages.pages),
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

/// The archive's bytes inflated: one gzip member, never more than [`ReadLimits::max_inflation`]
/// times what was read of the compressed input (past [`INFLATION_ALLOWANCE`]).
struct Inflating<R> {
    gzip: GzDecoder<Counting<BufReader<R>>>,
    inflated: u64,
    ratio: u64,
}

/// Counts the bytes consumed from a buffered reader.
struct Counting<R> {
    inner: R,
    consumed: u64,
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.consumed += amount as u64;
        self.inner.consume(amount);
    }
}

impl<R: Read> Inflating<R> {
    fn new(input: R, limits: &ReadLimits) -> Self {
        Self {
            gzip: GzDecoder::new(Counting {
                inner: BufReader::with_capacity(1 << 16, input),
                consumed: 0,
            }),
            inflated: 0,
            ratio: limits.max_inflation.max(1),
        }
    }

    /// Reads what is left after the tar's end: zeros only (the tar's padding), then the gzip
    /// trailer (its CRC and length checked), then nothing at all.
    fn finish(mut self) -> Result<(), DocpackError> {
        let mut rest = [0u8; 1 << 13];
        loop {
            let n = self.read(&mut rest).map_err(damaged)?;
            if n == 0 {
                break;
            }
            if rest[..n].iter().any(|&b| b != 0) {
                return Err(DocpackError::Malformed(
                    "the archive holds data after its end-of-archive marker".into(),
                ));
            }
        }
        let input = self.gzip.get_mut();
        if !input.inner.fill_buf().map_err(damaged)?.is_empty() {
            return Err(DocpackError::Malformed(
                "the file goes on after its gzip stream ends (a second stream, or other data)"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl<R: Read> Read for Inflating<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.gzip.read(buf)?;
        self.inflated += n as u64;
        let allowed = self
            .gzip
            .get_ref()
            .consumed
            .saturating_mul(self.ratio)
            .saturating_add(INFLATION_ALLOWANCE);
        if self.inflated > allowed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "it inflates more than {} times its compressed size, as no docpack does (a \
                     decompression bomb?)",
                    self.ratio
                ),
            ));
        }
        Ok(n)
    }
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
