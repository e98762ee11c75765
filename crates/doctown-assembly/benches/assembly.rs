//! Clustering and related-pair search on N synthetic 384-dimension vectors (grouped around
//! random centres, as code embeddings are), for wall time and peak RSS (run it under
//! `/usr/bin/time -v`):
//!
//! ```text
//! cargo bench -p doctown-assembly --bench assembly -- N [related|cluster|both]
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use doctown_assembly::{ClusterOptions, cluster, related};
use ndarray::Array2;

/// A deterministic pseudo-random number in [-1, 1).
fn noise(state: &mut u64) -> f32 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    ((*state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let n: usize = args.first().map_or(10_000, |v| v.parse().unwrap());
    let what = args.get(1).map_or("both", String::as_str);
    let dims = 384;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let centres: Vec<Vec<f32>> = (0..(n / 100).max(2))
        .map(|_| (0..dims).map(|_| noise(&mut state)).collect())
        .collect();
    let vectors: Vec<Vec<f32>> = (0..n)
        .map(|i| {
            let centre = &centres[i % centres.len()];
            let v: Vec<f32> = centre.iter().map(|c| c + 0.6 * noise(&mut state)).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / norm).collect()
        })
        .collect();
    if what == "related" || what == "both" {
        let matrix =
            Array2::from_shape_vec((n, dims), vectors.iter().flatten().copied().collect()).unwrap();
        let started = Instant::now();
        let pairs = related(matrix.view(), 0.7, 5);
        println!(
            "related: {n} vectors, {} pairs ≥ 0.7 (top 5 per row) in {:.2} s",
            pairs.len(),
            started.elapsed().as_secs_f64()
        );
    }
    if what == "cluster" || what == "both" {
        let started = Instant::now();
        let clustering = cluster(&vectors, &ClusterOptions::default()).unwrap();
        println!(
            "cluster: {n} vectors, k = {} (silhouette {:.3}) in {:.2} s",
            clustering.k,
            clustering.silhouette,
            started.elapsed().as_secs_f64()
        );
    }
}
