//! The whole stage in one call: embedded chunks and the files' analyses in; clusters with
//! labels, the code graph and every symbol's context out.

use std::collections::{BTreeMap, HashMap, HashSet};

use doctown_common::{ChunkId, FileAnalysis, SymbolId};
use doctown_contracts::assemble::EmbeddedChunk;
use doctown_docpack::{Cluster, Graph, SymbolContextEntry};
use doctown_events::{AssemblyCompleted, ClusterCreated, GraphCompleted};
use doctown_intel::resolve_calls;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::{
    AssemblyError, ClusterOptions, LabelSource, cluster, code_graph, label_clusters, related,
    symbol_contexts,
};

/// How assembly runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AssemblyOptions {
    /// How clusters are found.
    pub clusters: ClusterOptions,
    /// Cosine similarity from which two symbols are `related`.
    pub related_threshold: f32,
    /// `related` edges kept per symbol at most.
    pub related_top_k: usize,
    /// Words per cluster label at most.
    pub label_words: usize,
}

impl Default for AssemblyOptions {
    fn default() -> Self {
        Self {
            clusters: ClusterOptions::default(),
            related_threshold: 0.7,
            related_top_k: 5,
            label_words: 3,
        }
    }
}

/// What assembly makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assembly {
    /// The files it was given, with their calls resolved.
    pub files: Vec<FileAnalysis>,
    /// The clusters of chunks, numbered from 0, with their labels.
    pub clusters: Vec<Cluster>,
    /// The cluster of each symbol that has chunks: the one most of its chunks are in.
    pub symbol_clusters: BTreeMap<SymbolId, u32>,
    /// The code graph.
    pub graph: Graph,
    /// Every symbol's context, in file and source order.
    pub symbol_contexts: Vec<SymbolContextEntry>,
    /// The silhouette score of the clustering (-1..=1).
    pub silhouette: f32,
}

impl Assembly {
    /// The progress events of this result, in the order they are sent: one
    /// `assembly.cluster_created` per cluster, then `assembly.graph_completed`.
    pub fn progress(&self) -> (Vec<ClusterCreated>, GraphCompleted) {
        progress(&self.clusters, &self.graph)
    }

    /// The completion payload's counts, the stage having taken `duration_ms` (the result
    /// itself left out, for callers that keep it).
    pub fn summary(&self, duration_ms: u64) -> AssemblyCompleted {
        AssemblyCompleted {
            cluster_count: self.clusters.len() as u64,
            node_count: self.graph.nodes.len() as u64,
            edge_count: self.graph.edges.len() as u64,
            duration_ms,
            ..AssemblyCompleted::default()
        }
    }

    /// The completion payload carrying this result, the stage having taken `duration_ms`.
    pub fn into_completed(self, duration_ms: u64) -> AssemblyCompleted {
        let counts = self.summary(duration_ms);
        AssemblyCompleted {
            clusters: self.clusters,
            symbol_clusters: self.symbol_clusters,
            graph: Some(self.graph),
            symbol_contexts: self.symbol_contexts,
            ..counts
        }
    }
}

/// The progress events of an assembly's `clusters` and `graph`, in the order they are sent:
/// one `assembly.cluster_created` per cluster, then `assembly.graph_completed`.
pub fn progress(clusters: &[Cluster], graph: &Graph) -> (Vec<ClusterCreated>, GraphCompleted) {
    let created = clusters
        .iter()
        .map(|cluster| ClusterCreated {
            cluster_id: cluster.cluster_id,
            label: cluster.label.clone(),
            member_count: cluster.member_count,
        })
        .collect();
    let completed = GraphCompleted {
        node_count: graph.nodes.len() as u64,
        edge_count: graph.edges.len() as u64,
        edges_by_kind: graph.edges_by_kind(),
        density: graph.density,
    };
    (created, completed)
}

/// How many representatives a cluster names.
const REPRESENTATIVES: usize = 3;

/// Assembles `chunks` (with their vectors) and the `files` they came from, resolving the
/// files' calls across the repository first. Refuses vectors of different dimensions or holding
/// non-numbers, repeated chunk ids, and chunks naming symbols that no file has. The same input
/// gives the same output, in whatever order its files and chunks come (a parallel ingest sends
/// them as they are parsed): both are put in path order first.
pub fn assemble(
    mut files: Vec<FileAnalysis>,
    chunks: &[EmbeddedChunk],
    options: &AssemblyOptions,
) -> Result<Assembly, AssemblyError> {
    validate(&files, chunks)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    resolve_calls(&mut files);
    let files = files;
    let mut chunks: Vec<&EmbeddedChunk> = chunks.iter().collect();
    chunks.sort_by(|a, b| a.path.cmp(&b.path).then(a.chunk_id.cmp(&b.chunk_id)));
    let chunks = chunks.as_slice();
    let vectors: Vec<&[f32]> = chunks.iter().map(|c| c.vector.as_slice()).collect();
    let clustering = cluster(&vectors, &options.clusters)?;

    // Symbols, in file and source order, with their chunks' vectors summed.
    let names: HashMap<SymbolId, &str> = files
        .iter()
        .flat_map(|f| f.symbols.iter().map(|s| (s.id, s.name.as_str())))
        .collect();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); clustering.k];
    let mut votes: HashMap<SymbolId, BTreeMap<u32, usize>> = HashMap::new();
    for (index, (chunk, &c)) in chunks.iter().zip(&clustering.assignments).enumerate() {
        members[c as usize].push(index);
        for id in &chunk.symbol_ids {
            *votes.entry(*id).or_default().entry(c).or_default() += 1;
        }
    }
    let symbol_clusters: BTreeMap<SymbolId, u32> = votes
        .iter()
        .filter_map(|(id, counts)| {
            // Most chunks, then the lowest cluster number.
            let best = counts
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
            Some((*id, *best.0))
        })
        .collect();

    let sources: Vec<Vec<LabelSource>> = members
        .iter()
        .map(|indices| {
            indices
                .iter()
                .map(|&i| LabelSource {
                    identifiers: chunks[i]
                        .symbol_ids
                        .iter()
                        .filter_map(|id| names.get(id).map(|n| (*n).to_owned()))
                        .collect(),
                    path: chunks[i].path.clone(),
                })
                .collect()
        })
        .collect();
    let labels = label_clusters(&sources, options.label_words);
    let clusters: Vec<Cluster> = members
        .iter()
        .zip(&labels)
        .enumerate()
        .map(|(c, (indices, label))| {
            let mut member_ids: Vec<ChunkId> =
                indices.iter().map(|&i| chunks[i].chunk_id).collect();
            member_ids.sort();
            Cluster {
                cluster_id: c as u32,
                label: label.clone(),
                member_count: indices.len() as u64,
                member_ids,
                representative_ids: representatives(&vectors, indices)
                    .into_iter()
                    .map(|i| chunks[i].chunk_id)
                    .collect(),
            }
        })
        .collect();

    let pairs = related_symbols(&files, chunks, options);
    let graph = code_graph(&files, &pairs);
    let cluster_labels: HashMap<SymbolId, String> = symbol_clusters
        .iter()
        .map(|(id, c)| (*id, labels[*c as usize].clone()))
        .collect();
    let symbol_contexts = symbol_contexts(&files, &graph, &cluster_labels)
        .into_iter()
        .map(|(symbol_id, context)| SymbolContextEntry {
            context,
            prompt: None,
            symbol_id,
        })
        .collect();
    Ok(Assembly {
        files,
        clusters,
        symbol_clusters,
        graph,
        symbol_contexts,
        silhouette: clustering.silhouette,
    })
}

/// Checks what [`assemble`] refuses, without assembling: repeated chunk ids, chunks naming
/// symbols that no file has, vectors of different dimensions or holding non-numbers.
pub fn validate(files: &[FileAnalysis], chunks: &[EmbeddedChunk]) -> Result<(), AssemblyError> {
    let symbols: HashSet<SymbolId> = files
        .iter()
        .flat_map(|f| f.symbols.iter().map(|s| s.id))
        .collect();
    let mut seen = HashSet::new();
    let dims = chunks.first().map_or(0, |c| c.vector.len());
    for (index, chunk) in chunks.iter().enumerate() {
        if !seen.insert(chunk.chunk_id) {
            return Err(AssemblyError::DuplicateChunk {
                index,
                chunk: chunk.chunk_id,
            });
        }
        if let Some(unknown) = chunk.symbol_ids.iter().find(|id| !symbols.contains(id)) {
            return Err(AssemblyError::UnknownSymbol {
                index,
                chunk: chunk.chunk_id,
                symbol: *unknown,
            });
        }
        if chunk.vector.len() != dims {
            return Err(AssemblyError::Dimensions {
                index,
                found: chunk.vector.len(),
                expected: dims,
            });
        }
        if chunk.vector.iter().any(|v| !v.is_finite()) {
            return Err(AssemblyError::NotFinite { index });
        }
    }
    Ok(())
}

/// The members nearest the cluster's mean direction, nearest first (ties by input order).
fn representatives(vectors: &[&[f32]], indices: &[usize]) -> Vec<usize> {
    let Some(&first) = indices.first() else {
        return Vec::new();
    };
    let mut centre = vec![0f32; vectors[first].len()];
    for &i in indices {
        centre.iter_mut().zip(vectors[i]).for_each(|(c, v)| *c += v);
    }
    let mut scored: Vec<(f32, usize)> = indices
        .iter()
        .map(|&i| (dot(vectors[i], &centre), i))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored
        .into_iter()
        .take(REPRESENTATIVES)
        .map(|(_, i)| i)
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Pairs of symbols whose embeddings (the normalised sum of their chunks') are similar.
fn related_symbols(
    files: &[FileAnalysis],
    chunks: &[&EmbeddedChunk],
    options: &AssemblyOptions,
) -> Vec<(SymbolId, SymbolId, f32)> {
    let Some(dims) = chunks.first().map(|c| c.vector.len()) else {
        return Vec::new();
    };
    let order: Vec<SymbolId> = files
        .iter()
        .flat_map(|f| f.symbols.iter().map(|s| s.id))
        .collect();
    let row: HashMap<SymbolId, usize> = order.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut sums = Array2::<f32>::zeros((order.len(), dims));
    let mut embedded = vec![false; order.len()];
    for chunk in chunks {
        for id in &chunk.symbol_ids {
            let r = row[id];
            embedded[r] = true;
            sums.row_mut(r)
                .iter_mut()
                .zip(&chunk.vector)
                .for_each(|(s, v)| *s += v);
        }
    }
    // Only symbols with chunks take part.
    let kept: Vec<usize> = (0..order.len()).filter(|&r| embedded[r]).collect();
    let mut matrix = sums.select(ndarray::Axis(0), &kept);
    for mut r in matrix.rows_mut() {
        let norm = r.dot(&r).sqrt().max(1e-12);
        r.mapv_inplace(|v| v / norm);
    }
    related(
        matrix.view(),
        options.related_threshold,
        options.related_top_k,
    )
    .into_iter()
    .map(|pair| (order[kept[pair.a]], order[kept[pair.b]], pair.score))
    .collect()
}
