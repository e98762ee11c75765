//! Graph measures that scale: top-k similarity computed block by block (never the n × n
//! matrix), and PageRank.

use ndarray::{Array2, ArrayView2, Axis, Slice};

/// A `related` pair: two rows whose cosine similarity passed the threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Related {
    /// The first row (the smaller index).
    pub a: usize,
    /// The second row.
    pub b: usize,
    /// Their cosine similarity.
    pub score: f32,
}

/// Rows compared at once: a block × n slice of the similarity matrix is all that is held.
const BLOCK_ROWS: usize = 256;

/// For each row of `vectors` (L2-normalised, one per row), its `top_k` most similar other rows
/// with cosine similarity ≥ `threshold`; each pair once (no self pairs, no duplicates), sorted
/// by (a, b). Memory is O(block × n), not O(n²); each block of rows is multiplied only with the
/// rows from its own on, since the similarity is symmetric, which halves the work.
pub fn related(vectors: ArrayView2<'_, f32>, threshold: f32, top_k: usize) -> Vec<Related> {
    let n = vectors.nrows();
    if top_k == 0 {
        return Vec::new();
    }
    // Each row's best candidates so far, best first (ties: lower row first).
    let mut best: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n];
    let offer = |list: &mut Vec<(usize, f32)>, row: usize, score: f32| {
        let at = list
            .iter()
            .position(|&(r, s)| score > s || (score == s && row < r))
            .unwrap_or(list.len());
        if at < top_k {
            list.insert(at, (row, score));
            list.truncate(top_k);
        }
    };
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK_ROWS).min(n);
        let rest = vectors.slice_axis(Axis(0), Slice::from(start..));
        let block: Array2<f32> = vectors
            .slice_axis(Axis(0), Slice::from(start..end))
            .dot(&rest.t());
        for (offset, row) in block.outer_iter().enumerate() {
            let i = start + offset;
            for (column, &score) in row.iter().enumerate().skip(offset + 1) {
                if score >= threshold && score.is_finite() {
                    let j = start + column;
                    offer(&mut best[i], j, score);
                    offer(&mut best[j], i, score);
                }
            }
        }
        start = end;
    }
    let mut pairs: Vec<Related> = best
        .into_iter()
        .enumerate()
        .flat_map(|(i, list)| {
            list.into_iter().map(move |(j, score)| Related {
                a: i.min(j),
                b: i.max(j),
                score,
            })
        })
        .collect();
    pairs.sort_by_key(|x| (x.a, x.b));
    pairs.dedup_by(|x, y| (x.a, x.b) == (y.a, y.b));
    pairs
}

/// PageRank of the `n` nodes of a directed graph (damping 0.85; a node with no out-edges shares
/// its rank with every node), normalised so that the highest is 1; deterministic.
pub fn pagerank(n: usize, edges: &[(usize, usize)]) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    const DAMPING: f64 = 0.85;
    let mut out_degree = vec![0usize; n];
    for &(from, _) in edges {
        out_degree[from] += 1;
    }
    let mut rank = vec![1.0 / n as f64; n];
    for _ in 0..200 {
        let dangling: f64 = (0..n)
            .filter(|&i| out_degree[i] == 0)
            .map(|i| rank[i])
            .sum();
        let base = (1.0 - DAMPING) / n as f64 + DAMPING * dangling / n as f64;
        let mut next = vec![base; n];
        for &(from, to) in edges {
            next[to] += DAMPING * rank[from] / out_degree[from] as f64;
        }
        let change: f64 = next.iter().zip(&rank).map(|(a, b)| (a - b).abs()).sum();
        rank = next;
        if change < 1e-10 {
            break;
        }
    }
    let highest = rank.iter().copied().fold(0.0, f64::max);
    rank.iter()
        .map(|r| if highest > 0.0 { r / highest } else { 0.0 })
        .collect()
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn similar_rows_pair_once_above_the_threshold() {
        let s = std::f32::consts::FRAC_1_SQRT_2;
        let vectors = array![[1.0, 0.0], [s, s], [0.0, 1.0], [1.0, 0.0]];
        let pairs = related(vectors.view(), 0.7, 5);
        let found: Vec<(usize, usize)> = pairs.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(found, [(0, 1), (0, 3), (1, 2), (1, 3)]);
        assert!((pairs[1].score - 1.0).abs() < 1e-6);
        assert!(related(vectors.view(), 0.7, 0).is_empty());
    }

    #[test]
    fn blocks_give_the_same_pairs_as_the_whole_matrix() {
        // More rows than a block, so several blocks run.
        let n = BLOCK_ROWS * 2 + 17;
        let vectors = Array2::from_shape_fn((n, 8), |(i, d)| {
            let v = ((i * 7 + d * 13) % 11) as f32 - 5.0;
            v / 10.0
        });
        let norms = vectors.map_axis(ndarray::Axis(1), |row| row.dot(&row).sqrt().max(1e-9));
        let normalised = &vectors / &norms.insert_axis(ndarray::Axis(1));
        let pairs = related(normalised.view(), 0.9, 3);
        let full = normalised.dot(&normalised.t());
        for pair in &pairs {
            assert!((full[[pair.a, pair.b]] - pair.score).abs() < 1e-5);
            assert!(pair.a < pair.b);
        }
        assert!(!pairs.is_empty());
    }

    #[test]
    fn pagerank_favours_what_others_depend_on() {
        // 0, 1 and 2 all call 3; 3 calls nothing.
        let rank = pagerank(4, &[(0, 3), (1, 3), (2, 3)]);
        assert_eq!(rank[3], 1.0);
        assert!(rank[0] < 0.5 && (rank[0] - rank[1]).abs() < 1e-12);
        assert!(pagerank(0, &[]).is_empty());
        assert_eq!(pagerank(2, &[]), [1.0, 1.0]);
    }
}
