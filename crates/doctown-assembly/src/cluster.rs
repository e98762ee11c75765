//! k-means over chunk embeddings, with k chosen by a cheap quality score.

use std::collections::HashSet;

use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_clustering::{KMeans, KMeansInit};
use linfa_nn::distance::Distance;
use ndarray::{Array2, ArrayView, Dimension};
use rand_xoshiro::Xoshiro256Plus;
use rand_xoshiro::rand_core::SeedableRng;

/// How clusters are found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClusterOptions {
    /// The most clusters considered.
    pub max_k: usize,
    /// Points each candidate k is fitted on (a fixed, evenly spaced sample).
    pub fit_sample: usize,
    /// Points of that sample the silhouette score is computed on.
    pub silhouette_sample: usize,
    /// k-means iterations at most, for each candidate k on the sample.
    pub max_iterations: u64,
    /// Iterations at most of the final fit on every vector, which starts from the chosen
    /// candidate's centroids. Its cost grows with every vector (n × k per iteration); on 10,000
    /// chunks of Go, 20 iterations left the mean squared distance 0.02% above that of running to
    /// convergence, at 55% of the time.
    pub refine_iterations: u64,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            max_k: 64,
            fit_sample: 2000,
            silhouette_sample: 400,
            max_iterations: 100,
            refine_iterations: 20,
        }
    }
}

/// Which cluster each vector is in.
#[derive(Debug, Clone, PartialEq)]
pub struct Clustering {
    /// The cluster of each vector, in input order; clusters are numbered from 0 in order of
    /// their first member.
    pub assignments: Vec<u32>,
    /// How many clusters.
    pub k: usize,
    /// The silhouette score of the choice (-1..=1; 0 when it cannot be computed).
    pub silhouette: f32,
}

/// Why assembly refused its input.
#[derive(Debug, thiserror::Error)]
pub enum AssemblyError {
    /// Vectors of different dimensions.
    #[error(
        "vector {index} has {found} dimensions, the first has {expected}; all vectors must come from one model"
    )]
    Dimensions {
        /// The vector at fault.
        index: usize,
        /// Its dimensions.
        found: usize,
        /// The first vector's.
        expected: usize,
    },
    /// A value that is not a finite number.
    #[error("vector {index} holds a value that is not a finite number")]
    NotFinite {
        /// The vector at fault.
        index: usize,
    },
    /// k-means failed.
    #[error("clustering failed: {0}")]
    KMeans(String),
    /// The same chunk twice.
    #[error("chunk {chunk} is given twice (again at {index}); send each chunk once")]
    DuplicateChunk {
        /// Where it comes again.
        index: usize,
        /// The chunk.
        chunk: doctown_common::ChunkId,
    },
    /// A chunk naming a symbol that none of the files has.
    #[error(
        "chunk {chunk} belongs to symbol {symbol}, which none of the files has; send the analyses of every file the chunks come from"
    )]
    UnknownSymbol {
        /// The chunk's place in the input.
        index: usize,
        /// The chunk.
        chunk: doctown_common::ChunkId,
        /// The symbol it names.
        symbol: doctown_common::SymbolId,
    },
}

/// Clusters `vectors`. k starts near √(n/2) and the candidates around it are scored by their
/// silhouette on a sample, less a penalty for singleton and giant clusters; the same input
/// always gives the same clusters. Empty input, fewer vectors than clusters and duplicate
/// vectors are all handled.
pub fn cluster<V: AsRef<[f32]>>(
    vectors: &[V],
    options: &ClusterOptions,
) -> Result<Clustering, AssemblyError> {
    let n = vectors.len();
    let Some(first) = vectors.first() else {
        return Ok(Clustering {
            assignments: Vec::new(),
            k: 0,
            silhouette: 0.0,
        });
    };
    let dims = first.as_ref().len();
    for (index, vector) in vectors.iter().map(AsRef::as_ref).enumerate() {
        if vector.len() != dims {
            return Err(AssemblyError::Dimensions {
                index,
                found: vector.len(),
                expected: dims,
            });
        }
        if vector.iter().any(|v| !v.is_finite()) {
            return Err(AssemblyError::NotFinite { index });
        }
    }
    let distinct: HashSet<Vec<u32>> = vectors
        .iter()
        .map(|v| v.as_ref().iter().map(|x| x.to_bits()).collect())
        .collect();
    let most = distinct.len().min(options.max_k).max(1);
    if most < 2 {
        return Ok(Clustering {
            assignments: vec![0; n],
            k: 1,
            silhouette: 0.0,
        });
    }
    let data = Array2::from_shape_vec(
        (n, dims),
        vectors.iter().flat_map(AsRef::as_ref).copied().collect(),
    )
    .map_err(|err| AssemblyError::KMeans(err.to_string()))?;
    // Candidates from a third of √(n/2) to twice it, each about a quarter above the last.
    let start = ((n as f64 / 2.0).sqrt().round() as usize).clamp(2, most);
    let (lower, upper) = ((start / 3).max(2), (start * 2).min(most));
    let mut candidates = Vec::new();
    let mut k = lower;
    while k <= upper {
        candidates.push(k);
        k = (k + 1).max(k * 5 / 4);
    }
    if candidates.is_empty() {
        candidates.push(upper);
    }

    // Each candidate k is fitted (k-means++) and scored on an evenly spaced sample; the chosen
    // one's centroids then start the fit on every vector, which so needs few iterations.
    let fit_rows = sample_indices(n, options.fit_sample);
    let fit_dataset = DatasetBase::from(data.select(ndarray::Axis(0), &fit_rows));
    let scored = sample_indices(fit_rows.len(), options.silhouette_sample);
    let mut best: Option<(f32, f32, Array2<f32>)> = None;
    for k in candidates.into_iter().filter(|&k| k <= fit_rows.len()) {
        let model = fit(
            &fit_dataset,
            k,
            KMeansInit::KMeansPlusPlus,
            options.max_iterations,
        )?;
        let assignments = renumber(&model.predict(fit_dataset.records()).to_vec());
        let k_found = assignments
            .iter()
            .map(|&a| a as usize + 1)
            .max()
            .unwrap_or(1);
        let silhouette = silhouette(fit_dataset.records(), &assignments, &scored);
        let score = silhouette - balance_penalty(&assignments, k_found);
        if best
            .as_ref()
            .is_none_or(|(best_score, _, _)| score > *best_score)
        {
            best = Some((score, silhouette, model.centroids().clone()));
        }
    }
    let (_, silhouette, centroids) =
        best.ok_or_else(|| AssemblyError::KMeans("no candidate k".into()))?;
    drop(fit_dataset);
    let dataset = DatasetBase::from(data);
    let model = fit(
        &dataset,
        centroids.nrows(),
        KMeansInit::Precomputed(centroids),
        options.refine_iterations,
    )?;
    let assignments = renumber(&model.predict(dataset.records()).to_vec());
    let k = assignments
        .iter()
        .map(|&a| a as usize + 1)
        .max()
        .unwrap_or(1);
    Ok(Clustering {
        assignments,
        k,
        silhouette,
    })
}

/// k-means with `k` clusters, started by `init`, with a fixed seed, for `iterations` at most.
fn fit(
    dataset: &DatasetBase<Array2<f32>, ndarray::Array1<()>>,
    k: usize,
    init: KMeansInit<f32>,
    iterations: u64,
) -> Result<KMeans<f32, Euclidean>, AssemblyError> {
    KMeans::params_with(k, Xoshiro256Plus::seed_from_u64(42), Euclidean)
        .init_method(init)
        .n_runs(1)
        .max_n_iterations(iterations)
        .tolerance(1e-4)
        .fit(dataset)
        .map_err(|err| AssemblyError::KMeans(err.to_string()))
}

/// Euclidean distance over f32 with independent partial sums, which the compiler turns into
/// vector instructions (a plain fold cannot be reordered, so it stays scalar). Nearly all of
/// k-means' time is spent here.
#[derive(Debug, Clone, Copy)]
struct Euclidean;

impl Distance<f32> for Euclidean {
    fn distance<D: Dimension>(&self, a: ArrayView<f32, D>, b: ArrayView<f32, D>) -> f32 {
        self.rdistance(a, b).sqrt()
    }

    fn rdistance<D: Dimension>(&self, a: ArrayView<f32, D>, b: ArrayView<f32, D>) -> f32 {
        match (a.as_slice_memory_order(), b.as_slice_memory_order()) {
            (Some(a), Some(b)) if a.len() == b.len() => squared_distance(a, b),
            _ => a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum(),
        }
    }

    fn rdist_to_dist(&self, rdist: f32) -> f32 {
        rdist.sqrt()
    }

    fn dist_to_rdist(&self, dist: f32) -> f32 {
        dist * dist
    }
}

/// The squared Euclidean distance of two equally long slices.
fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut sums = [0f32; LANES];
    let (a_blocks, a_rest) = a.as_chunks::<LANES>();
    let (b_blocks, b_rest) = b.as_chunks::<LANES>();
    for (x, y) in a_blocks.iter().zip(b_blocks) {
        for lane in 0..LANES {
            let d = x[lane] - y[lane];
            sums[lane] += d * d;
        }
    }
    let rest: f32 = a_rest
        .iter()
        .zip(b_rest)
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    sums.iter().sum::<f32>() + rest
}

/// Numbers clusters from 0 in order of their first member, dropping empty ones.
fn renumber(raw: &[usize]) -> Vec<u32> {
    let mut map = std::collections::HashMap::new();
    raw.iter()
        .map(|label| {
            let next = map.len() as u32;
            *map.entry(*label).or_insert(next)
        })
        .collect()
}

/// Evenly spaced indices, at most `size` of them.
fn sample_indices(n: usize, size: usize) -> Vec<usize> {
    let size = size.clamp(2, n.max(2)).min(n);
    (0..size).map(|i| i * n / size).collect()
}

/// The mean silhouette of the sampled points, among the sampled points.
fn silhouette(data: &Array2<f32>, assignments: &[u32], sample: &[usize]) -> f32 {
    let mut total = 0.0;
    let mut counted = 0usize;
    for &i in sample {
        let mut sums: std::collections::HashMap<u32, (f64, usize)> =
            std::collections::HashMap::new();
        for &j in sample {
            if i == j {
                continue;
            }
            let distance = f64::from(Euclidean.distance(data.row(i), data.row(j)));
            let entry = sums.entry(assignments[j]).or_insert((0.0, 0));
            entry.0 += distance;
            entry.1 += 1;
        }
        let own = assignments[i];
        let Some(&(own_sum, own_count)) = sums.get(&own) else {
            continue; // alone in its cluster within the sample
        };
        let a = own_sum / own_count as f64;
        let b = sums
            .iter()
            .filter(|(cluster, _)| **cluster != own)
            .map(|(_, (sum, count))| sum / *count as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() && a.max(b) > 0.0 {
            total += (b - a) / a.max(b);
            counted += 1;
        }
    }
    if counted == 0 {
        0.0
    } else {
        (total / counted as f64) as f32
    }
}

/// A penalty for clusterings with many singletons or one cluster holding most points.
fn balance_penalty(assignments: &[u32], k: usize) -> f32 {
    let n = assignments.len();
    let mut sizes = vec![0usize; k];
    for &a in assignments {
        sizes[a as usize] += 1;
    }
    let singletons = sizes.iter().filter(|&&s| s == 1).count() as f32 / k as f32;
    let largest = sizes.iter().copied().max().unwrap_or(0) as f32 / n as f32;
    let giant = if k > 2 { (largest - 0.5).max(0.0) } else { 0.0 };
    0.5 * singletons + giant
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `groups` tight blobs of `per` points around well-separated centres, in `dims` dimensions.
    fn blobs(groups: usize, per: usize, dims: usize) -> Vec<Vec<f32>> {
        let mut vectors = Vec::new();
        for g in 0..groups {
            for p in 0..per {
                let mut v = vec![0.0; dims];
                v[g % dims] = 10.0 + g as f32;
                v[(g + 1) % dims] += (p as f32 * 0.37).sin() * 0.1;
                vectors.push(v);
            }
        }
        vectors
    }

    #[test]
    fn separated_groups_are_found() {
        let vectors = blobs(5, 30, 8);
        let clustering = cluster(&vectors, &ClusterOptions::default()).unwrap();
        assert_eq!(clustering.k, 5, "{clustering:?}");
        for group in vectors.chunks(30).enumerate().map(|(g, _)| g) {
            let members = &clustering.assignments[group * 30..(group + 1) * 30];
            assert!(
                members.iter().all(|&a| a == members[0]),
                "group {group} split"
            );
        }
        assert!(clustering.silhouette > 0.9);
    }

    #[test]
    fn the_same_input_gives_the_same_clusters() {
        let vectors = blobs(4, 25, 6);
        let options = ClusterOptions::default();
        assert_eq!(
            cluster(&vectors, &options).unwrap(),
            cluster(&vectors, &options).unwrap()
        );
    }

    #[test]
    fn small_empty_and_duplicate_inputs() {
        let options = ClusterOptions::default();
        assert_eq!(cluster::<Vec<f32>>(&[], &options).unwrap().k, 0);
        assert_eq!(
            cluster(&[vec![1.0, 0.0]], &options).unwrap().assignments,
            [0]
        );
        let same = vec![vec![0.5, 0.5]; 40];
        let clustering = cluster(&same, &options).unwrap();
        assert_eq!((clustering.k, clustering.assignments.len()), (1, 40));
        let two = [vec![vec![1.0, 0.0]; 10], vec![vec![0.0, 1.0]; 10]].concat();
        let clustering = cluster(&two, &options).unwrap();
        assert_eq!(clustering.k, 2);
        assert_ne!(clustering.assignments[0], clustering.assignments[19]);
    }

    #[test]
    fn bad_vectors_are_refused() {
        let options = ClusterOptions::default();
        let err = cluster(&[vec![1.0, 2.0], vec![1.0]], &options).unwrap_err();
        assert!(
            err.to_string().contains("vector 1 has 1 dimensions"),
            "{err}"
        );
        assert!(cluster(&[vec![f32::NAN]], &options).is_err());
    }
}
