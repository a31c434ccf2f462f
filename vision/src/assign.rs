//! Optimal assignment of tracks to detections: the Hungarian method (Kuhn–Munkres with
//! potentials, O(n²·m)) on a rectangular cost matrix, with gating.
//!
//! A pair whose cost is `None` (outside the gate) is never assigned. The method minimises the
//! total cost over pairs inside the gate, so two tracks competing for one detection are
//! resolved globally instead of in the order they happen to be visited.

/// A cost matrix, `rows × cols`, row-major; `None` means the pair is gated out.
#[derive(Debug, Clone)]
pub struct CostMatrix {
    rows: usize,
    cols: usize,
    cost: Vec<Option<f64>>,
}

impl CostMatrix {
    /// A matrix with every pair gated out.
    pub fn new(rows: usize, cols: usize) -> Self {
        CostMatrix {
            rows,
            cols,
            cost: vec![None; rows * cols],
        }
    }

    /// Sets the cost of pairing row `r` with column `c` (`None`: never).
    pub fn set(&mut self, r: usize, c: usize, cost: Option<f64>) {
        self.cost[r * self.cols + c] = cost.filter(|v| v.is_finite());
    }

    /// The cost of a pair.
    pub fn get(&self, r: usize, c: usize) -> Option<f64> {
        self.cost[r * self.cols + c]
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }
}

/// The minimum-cost assignment: `result[r] = Some(c)` when row `r` is paired with column `c`.
/// Pairs outside the gate are never returned; a row may stay unpaired even when a column is
/// free, when every free column is outside its gate.
pub fn solve(m: &CostMatrix) -> Vec<Option<usize>> {
    if m.rows == 0 || m.cols == 0 {
        return vec![None; m.rows];
    }
    // A gated pair costs more than any assignment of allowed pairs, so the optimum uses as many
    // allowed pairs as it can, then the cheapest; gated pairs chosen are dropped afterwards.
    let max = m.cost.iter().flatten().fold(0.0f64, |a, &b| a.max(b.abs()));
    let forbidden = (2.0 * max + 1.0) * (m.rows.max(m.cols) as f64 + 1.0);
    let transpose = m.rows > m.cols;
    let (n, k) = if transpose {
        (m.cols, m.rows)
    } else {
        (m.rows, m.cols)
    };
    let at = |i: usize, j: usize| -> f64 {
        let (r, c) = if transpose { (j, i) } else { (i, j) };
        m.get(r, c).unwrap_or(forbidden)
    };
    let pairs = hungarian(n, k, at);
    let mut result = vec![None; m.rows];
    for (i, j) in pairs.into_iter().enumerate() {
        let (r, c) = if transpose { (j, i) } else { (i, j) };
        if m.get(r, c).is_some() {
            result[r] = Some(c);
        }
    }
    result
}

/// Hungarian method for `n ≤ k`: returns, for each of the `n` rows, its column.
fn hungarian(n: usize, k: usize, a: impl Fn(usize, usize) -> f64) -> Vec<usize> {
    // 1-based arrays as in the classic formulation; p[j] is the row matched to column j.
    let mut u = vec![0.0; n + 1];
    let mut v = vec![0.0; k + 1];
    let mut p = vec![0usize; k + 1];
    let mut way = vec![0usize; k + 1];
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0usize;
        let mut minv = vec![f64::INFINITY; k + 1];
        let mut used = vec![false; k + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0usize;
            for j in 1..=k {
                if !used[j] {
                    let cur = a(i0 - 1, j - 1) - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=k {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut row_to_col = vec![0usize; n];
    for j in 1..=k {
        if p[j] != 0 {
            row_to_col[p[j] - 1] = j - 1;
        }
    }
    row_to_col
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn total(m: &CostMatrix, a: &[Option<usize>]) -> (usize, f64) {
        a.iter()
            .enumerate()
            .filter_map(|(r, c)| c.map(|c| m.get(r, c).unwrap()))
            .fold((0, 0.0), |(n, s), c| (n + 1, s + c))
    }

    /// Brute force: the most pairs inside the gate, then the least cost.
    fn brute(m: &CostMatrix) -> (usize, f64) {
        fn go(
            m: &CostMatrix,
            r: usize,
            used: &mut Vec<bool>,
            n: usize,
            s: f64,
            best: &mut (usize, f64),
        ) {
            if r == m.rows() {
                if n > best.0 || (n == best.0 && s < best.1 - 1e-9) {
                    *best = (n, s);
                }
                return;
            }
            go(m, r + 1, used, n, s, best);
            for c in 0..m.cols() {
                if !used[c] {
                    if let Some(v) = m.get(r, c) {
                        used[c] = true;
                        go(m, r + 1, used, n + 1, s + v, best);
                        used[c] = false;
                    }
                }
            }
        }
        let mut best = (0, f64::INFINITY);
        go(m, 0, &mut vec![false; m.cols()], 0, 0.0, &mut best);
        if best.0 == 0 {
            best.1 = 0.0;
        }
        best
    }

    #[test]
    fn prefers_the_global_optimum_over_greedy() {
        // Greedy would give row 0 column 0 (cost 1), leaving row 1 with column 1 (cost 10).
        let mut m = CostMatrix::new(2, 2);
        m.set(0, 0, Some(1.0));
        m.set(0, 1, Some(2.0));
        m.set(1, 0, Some(2.0));
        m.set(1, 1, Some(10.0));
        assert_eq!(solve(&m), vec![Some(1), Some(0)]);
    }

    #[test]
    fn gated_pairs_are_never_assigned() {
        let mut m = CostMatrix::new(2, 1);
        m.set(0, 0, None);
        m.set(1, 0, Some(5.0));
        assert_eq!(solve(&m), vec![None, Some(0)]);
        assert_eq!(solve(&CostMatrix::new(3, 0)), vec![None, None, None]);
        assert_eq!(solve(&CostMatrix::new(0, 3)), Vec::<Option<usize>>::new());
    }

    #[test]
    fn matches_brute_force_on_random_matrices() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..400 {
            let rows = rng.gen_range(1..6);
            let cols = rng.gen_range(1..6);
            let mut m = CostMatrix::new(rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    if rng.gen_bool(0.7) {
                        m.set(r, c, Some(rng.gen_range(0.0..10.0)));
                    }
                }
            }
            let a = solve(&m);
            let mut seen = vec![false; cols];
            for c in a.iter().flatten() {
                assert!(!seen[*c], "column assigned twice");
                seen[*c] = true;
            }
            let got = total(&m, &a);
            let want = brute(&m);
            assert_eq!(got.0, want.0, "pairs, matrix {m:?}");
            assert!((got.1 - want.1).abs() < 1e-6, "cost {got:?} vs {want:?}");
        }
    }
}
