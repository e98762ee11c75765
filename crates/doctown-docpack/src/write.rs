//! The writer: typed contents in, a reproducible `.docpack` out, streamed.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};

use crate::embeddings::EmbeddingSet;
use crate::model::{
    Checksum, Cluster, Clusters, Generator, Graph, Manifest, Member, Node, Nodes, OptionalMembers,
    Page, Pages, SourceFile, SourceInfo, SourceMap, Statistics, SymbolContextEntry, SymbolContexts,
};
use crate::model::{check_pages, check_references};
use crate::{DocpackError, MANIFEST, SCHEMA_VERSION, member};

/// Everything a docpack holds, before it is written. Serialized, it is the body the packer
/// worker's `POST /pack` takes (less the job id).
#[derive(Debug, Clone, serde::Serialize)]
pub struct DocpackContents {
    /// When it was made; also the archive entries' modification time. Pass the source commit's
    /// time (or any fixed time) for reproducible output.
    pub created_at: DateTime<Utc>,
    /// What made it.
    pub generator: Generator,
    /// The repository documented.
    pub source: SourceInfo,
    /// Every symbol.
    pub nodes: Vec<Node>,
    /// The code graph.
    pub graph: Graph,
    /// The clusters.
    pub clusters: Vec<Cluster>,
    /// Every file read, with its chunks.
    pub source_map: Vec<SourceFile>,
    /// The chunk embeddings, when kept.
    pub embeddings: Option<EmbeddingSet>,
    /// What each summary was made from, when kept.
    pub symbol_contexts: Option<Vec<SymbolContextEntry>>,
    /// The pages of documentation, when made.
    pub pages: Option<Vec<Page>>,
}

/// A member ready to be written, as typed data: it is serialized straight into the archive.
enum Body {
    Clusters(Clusters),
    Embeddings(EmbeddingSet),
    Graph(Graph),
    Manifest(Box<Manifest>),
    Nodes(Nodes),
    Pages(Pages),
    SourceMap(SourceMap),
    SymbolContexts(SymbolContexts),
}

impl Body {
    /// Writes the member in its one canonical form: every object's keys sorted; the manifest
    /// indented for people; the other members as one object whose lists hold one record per
    /// line, so that they can be read (and grepped) line by line.
    fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        match self {
            Body::Manifest(manifest) => {
                serde_json::to_writer_pretty(&mut *out, &sorted(manifest.as_ref())?)?;
                out.write_all(b"\n")
            }
            Body::Embeddings(set) => set.write_to(out),
            Body::Clusters(value) => object(out, &[("clusters", &records(&value.clusters))]),
            Body::Graph(value) => object(
                out,
                &[
                    ("density", &scalar(&value.density)),
                    ("edges", &records(&value.edges)),
                    ("nodes", &records(&value.nodes)),
                ],
            ),
            Body::Nodes(value) => object(out, &[("nodes", &records(&value.nodes))]),
            Body::Pages(value) => object(out, &[("pages", &records(&value.pages))]),
            Body::SourceMap(value) => object(out, &[("files", &records(&value.files))]),
            Body::SymbolContexts(value) => object(out, &[("contexts", &records(&value.contexts))]),
        }
    }
}

/// Writes part of a member.
type Part<'a> = dyn Fn(&mut dyn Write) -> io::Result<()> + 'a;

/// `{"key": part, …}` and a newline; `fields` come in key order.
fn object(out: &mut dyn Write, fields: &[(&str, &Part<'_>)]) -> io::Result<()> {
    debug_assert!(fields.windows(2).all(|pair| pair[0].0 < pair[1].0));
    out.write_all(b"{")?;
    for (index, (key, part)) in fields.iter().enumerate() {
        if index > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b":")?;
        part(out)?;
    }
    out.write_all(b"}\n")
}

/// A list, one compact record per line.
fn records<T: serde::Serialize>(items: &[T]) -> impl Fn(&mut dyn Write) -> io::Result<()> + '_ {
    move |out| {
        out.write_all(b"[")?;
        for (index, item) in items.iter().enumerate() {
            out.write_all(if index == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut *out, &sorted(item)?)?;
        }
        out.write_all(if items.is_empty() { b"]" } else { b"\n]" })
    }
}

/// One value, compact.
fn scalar<T: serde::Serialize>(value: &T) -> impl Fn(&mut dyn Write) -> io::Result<()> + '_ {
    move |out| Ok(serde_json::to_writer(&mut *out, &sorted(value)?)?)
}

/// `value` as JSON with every object's keys sorted.
fn sorted<T: serde::Serialize + ?Sized>(value: &T) -> io::Result<serde_json::Value> {
    let mut value = serde_json::to_value(value)?;
    sort_keys(&mut value);
    Ok(value)
}

/// Sorts every object's keys, at every depth.
fn sort_keys(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// Writes `contents` as a docpack to `out` and gives its manifest. Lists are put in their
/// canonical order first, so the same contents always give the same bytes.
///
/// Each member is serialized twice, once to measure and hash it and once into the archive, so
/// no member is ever held whole as bytes.
pub fn write_docpack<W: Write>(
    mut contents: DocpackContents,
    out: W,
) -> Result<Manifest, DocpackError> {
    canonicalize(&mut contents);
    validate(&contents)?;
    let statistics = Statistics::of(
        &contents.nodes,
        &contents.graph,
        &contents.clusters,
        &contents.source_map,
        contents.pages.as_deref().unwrap_or_default(),
        contents
            .embeddings
            .as_ref()
            .map_or(0, EmbeddingSet::dimensions),
    );
    let optional = OptionalMembers {
        has_embeddings: contents.embeddings.is_some(),
        has_symbol_contexts: contents.symbol_contexts.is_some(),
        has_pages: contents.pages.is_some(),
    };
    let mut bodies: Vec<(&'static str, Body)> = vec![
        (
            member::CLUSTERS,
            Body::Clusters(Clusters {
                clusters: contents.clusters,
            }),
        ),
        (member::GRAPH, Body::Graph(contents.graph)),
        (
            member::NODES,
            Body::Nodes(Nodes {
                nodes: contents.nodes,
            }),
        ),
        (
            member::SOURCE_MAP,
            Body::SourceMap(SourceMap {
                files: contents.source_map,
            }),
        ),
    ];
    if let Some(set) = contents.embeddings {
        bodies.push((member::EMBEDDINGS, Body::Embeddings(set)));
    }
    if let Some(entries) = contents.symbol_contexts {
        bodies.push((
            member::SYMBOL_CONTEXTS,
            Body::SymbolContexts(SymbolContexts { contexts: entries }),
        ));
    }
    if let Some(pages) = contents.pages {
        bodies.push((member::PAGES, Body::Pages(Pages { pages })));
    }
    bodies.sort_by_key(|(name, _)| *name);

    let mut members = Vec::with_capacity(bodies.len());
    for (name, body) in &bodies {
        let mut sink = HashingWriter::new(io::sink());
        body.write_to(&mut sink).map_err(DocpackError::write)?;
        let (size_bytes, sha256) = sink.finish();
        members.push(Member {
            path: (*name).to_owned(),
            sha256,
            size_bytes,
        });
    }
    let mut manifest = Manifest {
        checksum: Checksum {
            algorithm: "sha256".to_owned(),
            value: String::new(),
        },
        created_at: contents.created_at,
        docpack_id: docpack_id(&members),
        generator: contents.generator,
        members,
        optional,
        schema_version: SCHEMA_VERSION.to_owned(),
        source: contents.source,
        statistics,
    };
    manifest.checksum.value = manifest_checksum(&manifest)?;
    let manifest_body = Body::Manifest(Box::new(manifest.clone()));

    let mtime = u64::try_from(contents.created_at.timestamp()).unwrap_or(0);
    let gzip = GzBuilder::new().mtime(0).write(out, Compression::default());
    // flate2 pays per write call: hand it large blocks.
    let mut archive = TarStream {
        out: io::BufWriter::with_capacity(1 << 16, gzip),
        mtime,
    };
    archive.append(MANIFEST, &manifest_body)?;
    for (name, body) in &bodies {
        archive.append(name, body)?;
    }
    archive.finish()?;
    Ok(manifest)
}

/// The content identity: sha256 of one `<sha256>  <size>  <path>\n` line per member, in order.
pub(crate) fn docpack_id(members: &[Member]) -> String {
    let mut hasher = Sha256::new();
    for member in members {
        hasher.update(format!(
            "{}  {}  {}\n",
            member.sha256, member.size_bytes, member.path
        ));
    }
    hex(&hasher.finalize())
}

/// The manifest's checksum: sha256 of the manifest as written, with `checksum.value` empty.
pub(crate) fn manifest_checksum(manifest: &Manifest) -> Result<String, DocpackError> {
    let value = sorted(manifest).map_err(|err| DocpackError::InvalidContents(err.to_string()))?;
    signed_checksum(value)
}

/// The checksum of a manifest read as JSON: `value` (every field it has, known to this reader or
/// not) written in the canonical form with `checksum.value` empty.
pub(crate) fn signed_checksum(mut value: serde_json::Value) -> Result<String, DocpackError> {
    let blank = value
        .get_mut("checksum")
        .and_then(|checksum| checksum.get_mut("value"))
        .ok_or_else(|| DocpackError::Malformed(format!("{MANIFEST} has no checksum.value")))?;
    *blank = serde_json::Value::String(String::new());
    let mut sink = HashingWriter::new(io::sink());
    let mut sorted_value = value;
    sort_keys(&mut sorted_value);
    serde_json::to_writer_pretty(&mut sink, &sorted_value)
        .and_then(|()| sink.write_all(b"\n").map_err(serde_json::Error::io))
        .map_err(|err| DocpackError::InvalidContents(err.to_string()))?;
    Ok(sink.finish().1)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Puts every list in its documented order.
fn canonicalize(contents: &mut DocpackContents) {
    contents.nodes.sort_by(|a, b| {
        (&a.path, a.byte_range.start(), a.id).cmp(&(&b.path, b.byte_range.start(), b.id))
    });
    contents.graph.nodes.sort_by(|a, b| a.id.cmp(&b.id));
    contents
        .graph
        .edges
        .sort_by(|a, b| (&a.source, &a.target, a.kind).cmp(&(&b.source, &b.target, b.kind)));
    contents.clusters.sort_by_key(|c| c.cluster_id);
    for cluster in &mut contents.clusters {
        cluster.member_ids.sort();
    }
    contents.source_map.sort_by(|a, b| a.path.cmp(&b.path));
    for file in &mut contents.source_map {
        file.chunks.sort_by(|a, b| {
            (a.byte_range.start(), a.chunk_id).cmp(&(b.byte_range.start(), b.chunk_id))
        });
    }
    if let Some(entries) = &mut contents.symbol_contexts {
        entries.sort_by_key(|e| e.symbol_id);
    }
    if let Some(pages) = &mut contents.pages {
        pages.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
        for page in pages {
            page.files.sort();
            page.files.dedup();
            page.symbols.sort();
            page.symbols.dedup();
        }
    }
}

/// Refuses what the format cannot hold: numbers that are not finite, duplicate ids.
fn validate(contents: &DocpackContents) -> Result<(), DocpackError> {
    let invalid = |what: String| Err(DocpackError::InvalidContents(what));
    let mut floats = contents
        .nodes
        .iter()
        .map(|n| (n.centrality, format!("the centrality of symbol {}", n.id)))
        .chain(contents.graph.nodes.iter().map(|n| {
            (
                n.centrality,
                format!("the centrality of graph node {}", n.id),
            )
        }))
        .chain(contents.graph.edges.iter().filter_map(|e| {
            e.score
                .map(|s| (s, format!("the score of edge {} → {}", e.source, e.target)))
        }))
        .chain(std::iter::once((
            contents.graph.density,
            "the graph density".to_owned(),
        )));
    if let Some((_, what)) = floats.find(|(value, _)| !value.is_finite()) {
        return invalid(format!("{what} is not a finite number"));
    }
    let mut ids = std::collections::BTreeSet::new();
    if let Some(node) = contents.nodes.iter().find(|node| !ids.insert(node.id)) {
        return invalid(format!("symbol {} appears twice", node.id));
    }
    for pair in contents.graph.nodes.windows(2) {
        if pair[0].id == pair[1].id {
            return invalid(format!("graph node {} appears twice", pair[0].id));
        }
    }
    for pair in contents.source_map.windows(2) {
        if pair[0].path == pair[1].path {
            return invalid(format!(
                "file {} appears twice in the source map",
                pair[0].path
            ));
        }
    }
    for pair in contents.clusters.windows(2) {
        if pair[0].cluster_id == pair[1].cluster_id {
            return invalid(format!("cluster {} appears twice", pair[0].cluster_id));
        }
    }
    if let Some(pages) = &contents.pages {
        for pair in pages.windows(2) {
            if pair[0].id == pair[1].id {
                return invalid(format!("page {} appears twice", pair[0].id));
            }
        }
        check_pages(pages, &contents.nodes, &contents.source_map)
            .map_err(DocpackError::InvalidContents)?;
    }
    check_references(&contents.graph, &contents.source_map).map_err(DocpackError::InvalidContents)
}

/// A writer that counts and hashes (sha256) what passes through to `inner`: the packer uses it
/// to get the archive's checksum as it writes it.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    /// A writer into `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    /// The bytes written and their sha256 (lowercase hex). Flush first when `inner` buffers.
    pub fn finish(self) -> (u64, String) {
        (self.written, hex(&self.hasher.finalize()))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A tar stream written entry by entry without seeking: each entry's size is known before its
/// body is streamed.
struct TarStream<W: Write> {
    out: io::BufWriter<flate2::write::GzEncoder<W>>,
    mtime: u64,
}

impl<W: Write> TarStream<W> {
    fn append(&mut self, name: &str, body: &Body) -> Result<(), DocpackError> {
        let mut sizer = HashingWriter::new(io::sink());
        body.write_to(&mut sizer).map_err(DocpackError::write)?;
        let (size, expected) = sizer.finish();
        let mut header = tar::Header::new_ustar();
        header
            .set_path(name)
            .map_err(|err| DocpackError::InvalidContents(err.to_string()))?;
        header.set_size(size);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(self.mtime);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        self.out
            .write_all(header.as_bytes())
            .map_err(DocpackError::write)?;
        let mut counted = HashingWriter::new(&mut self.out);
        body.write_to(&mut counted).map_err(DocpackError::write)?;
        let (written, sha256) = counted.finish();
        if (written, &sha256) != (size, &expected) {
            return Err(DocpackError::InvalidContents(format!(
                "{name} serialized differently twice"
            )));
        }
        let padding = (512 - size % 512) % 512;
        self.out
            .write_all(&vec![0u8; padding as usize])
            .map_err(DocpackError::write)
    }

    fn finish(mut self) -> Result<(), DocpackError> {
        // Two zero blocks end a tar archive.
        self.out
            .write_all(&[0u8; 1024])
            .map_err(DocpackError::write)?;
        let gzip = self
            .out
            .into_inner()
            .map_err(|err| DocpackError::write(err.into_error()))?;
        gzip.finish()
            .and_then(|mut out| out.flush())
            .map_err(DocpackError::write)
    }
}
