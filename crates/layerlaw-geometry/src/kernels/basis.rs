//! The between-class basis Q (p×r) packed for the pass-2 kernel of one level.

use super::project::CentreProject;
use super::{Isa, TILE};
use crate::scalar::Scalar;

/// Column groups `(first column, size)` with sizes at most `max`: $\lceil r/\max\rceil$ groups
/// of sizes as equal as possible (r = 9, max = 4 gives 3+3+3 rather than 4+4+1).
pub(crate) fn column_groups(r: usize, max: usize) -> Vec<(usize, usize)> {
    let count = r.div_ceil(max);
    let mut out = Vec::with_capacity(count);
    let mut c0 = 0;
    for i in 0..count {
        let size = (r - c0).div_ceil(count - i);
        out.push((c0, size));
        c0 += size;
    }
    out
}

/// Q packed for the projection kernel of one [`Isa`] with L lanes: the columns are cut into
/// groups of at most [`Isa::max_group`] (one kernel call each); group `(c0, g)` occupies
/// `data[c0 * padded..(c0 + g) * padded]`, laid out as `[block of L rows of Q][column in
/// group][lane]` and zero-padded to `padded` (p rounded up to L) rows, so each kernel step
/// reads one contiguous run and any range of whole blocks is one contiguous slice.
pub(crate) struct PackedBasis {
    pub(super) isa: Isa,
    pub(super) lanes: usize,
    pub(super) data: Vec<f64>,
    pub(super) groups: Vec<(usize, usize)>,
    pub(super) padded: usize,
    pub(super) p: usize,
    pub(super) r: usize,
}

impl PackedBasis {
    /// Packs `q` for `isa`.
    pub(crate) fn new(q: faer::MatRef<'_, f64>, isa: Isa) -> PackedBasis {
        let (p, r) = (q.nrows(), q.ncols());
        let lanes = isa.lanes();
        let padded = p.div_ceil(lanes) * lanes;
        let groups = column_groups(r, isa.max_group());
        let mut data = Vec::with_capacity(padded * r);
        for &(c0, g) in &groups {
            for block in 0..padded / lanes {
                for gg in 0..g {
                    for l in 0..lanes {
                        let j = block * lanes + l;
                        data.push(if j < p { q[(j, c0 + gg)] } else { 0.0 });
                    }
                }
            }
        }
        PackedBasis {
            isa,
            lanes,
            data,
            groups,
            padded,
            p,
            r,
        }
    }

    /// Row length of the scatter [`PackedBasis::centre_project_rows`] accumulates into: r
    /// rounded up to the lanes of a vector.
    pub(crate) fn scatter_width(&self) -> usize {
        self.r.div_ceil(self.lanes) * self.lanes
    }

    /// Fused centring and projection of up to [`TILE`] raw rows (length p each, widened to f64
    /// in registers): with $z_t = x_t - \mu_t$, adds $\|z_t\|^2$ to `sum_squares` and the lower
    /// triangle of $(Q^\top z_t)(Q^\top z_t)^\top$ to `scatter` (r rows of
    /// [`PackedBasis::scatter_width`] values; entry (a, b), b ≤ a, at `a * width + b`; entries
    /// above the diagonal are left to the kernel), rows in order.
    ///
    /// Rows are taken in pairs (a lone last row is paired with itself and counted once), the
    /// columns in blocks of 256, and within a block the column groups one by one, so the
    /// block of Q in use (at most 12 × 256 f64 = 24 KiB) stays in L1 for the whole tile
    /// instead of being streamed from L2 for every pair. `ahead` are the rows of the next
    /// tile: their cache lines are prefetched, one per line of this tile read, so they arrive
    /// while this tile is computed. Each row's r projections and squared norm are also written
    /// to `rows_out` (r + 1 values per row, in order), for the per-class statistics.
    /// `scratch` is reused between calls.
    // The kernel's inputs and its three outputs, kept apart so the hot loop sees plain slices.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn centre_project_rows<T: Scalar>(
        &self,
        rows: &[&[T]],
        means: &[&[f64]],
        ahead: &[&[T]],
        scatter: &mut [f64],
        sum_squares: &mut f64,
        rows_out: &mut [f64],
        scratch: &mut Vec<f64>,
    ) {
        assert!(rows.len() == means.len() && rows.len() <= TILE && !rows.is_empty());
        assert!(rows.iter().chain(ahead).all(|x| x.len() == self.p));
        assert!(means.iter().all(|m| m.len() == self.p));
        assert!(scatter.len() >= self.r * self.scatter_width());
        assert!(rows_out.len() >= rows.len() * (self.r + 1));
        self.isa.dispatch(CentreProject {
            basis: self,
            rows,
            means,
            ahead,
            scatter,
            sum_squares,
            rows_out,
            scratch,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_balanced_and_cover() {
        assert_eq!(column_groups(9, 4), vec![(0, 3), (3, 3), (6, 3)]);
        assert_eq!(column_groups(9, 5), vec![(0, 5), (5, 4)]);
        assert_eq!(column_groups(9, 12), vec![(0, 9)]);
        assert_eq!(column_groups(4, 4), vec![(0, 4)]);
        assert_eq!(column_groups(5, 4), vec![(0, 3), (3, 2)]);
        assert_eq!(column_groups(25, 12), vec![(0, 9), (9, 8), (17, 8)]);
        assert!(column_groups(0, 4).is_empty());
    }
}
