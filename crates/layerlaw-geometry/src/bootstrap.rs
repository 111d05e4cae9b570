//! Confidence intervals for the law fit: a grouped, class-stratified bootstrap over examples,
//! computed from the pass-2 statistics without reading the rows again.
//!
//! # Method
//!
//! Pass 2 puts every example $i$ in one of $G$ pseudo-random groups ([`crate::bootstrap_group`]
//! of its index, the same in every layer) and keeps, per class $k$ and group $g$, the count,
//! $\sum u_i$ and $\sum u_iu_i^\top$ of the projections $u_i = Q^\top(x_i - \bar x_k)$ on the
//! layer's between-class basis ([`crate::BootstrapGroups`]). One replicate draws, for every
//! class independently (stratified), $G$ of its groups with replacement, and the same draws
//! for every layer (examples are resampled, not layers). For each layer the replicate's
//! statistics are then exact sums over the resampled examples:
//!
//! * class sizes $n_k^*$, mean shifts $\bar u_k^* = \frac1{n_k^*}\sum^* u_i$, class centres
//!   $c_k^* = Q^\top\bar x_k + \bar u_k^*$;
//! * projected within-class scatter $W^* = \sum_k\big(\sum^* u_iu_i^\top - n_k^*\bar u_k^*\bar u_k^{*\top}\big)$;
//! * $D^* = \mathrm{Tr}\big(\tfrac{W^*}{n^*}(B^*)^+\big)$ with
//!   $B^* = \sum_k \frac{n_k^*}{n^*}(c_k^*-\bar c^*)(c_k^*-\bar c^*)^\top$, cut off as
//!   [`crate::separation`] does.
//!
//! The law is refitted on every replicate ($\ln D^*_l$ against $l$ over the fitted layers), and
//! the intervals are percentiles of the $B$ replicates (numpy's default linear interpolation).
//!
//! # What it captures
//!
//! $D$ is a smooth function of the per-class means of $u$ and $uu^\top$. Resampling groups of
//! examples reproduces the covariance of those means (group sums of i.i.d. examples), so the
//! intervals are those of the example bootstrap to first order, as $G$ grows; with $G = 64$ the
//! variance is underestimated by a factor $(G-1)/G$. The between-class subspace $Q$ is held at
//! the full data's: its rotation under resampling, a second-order effect when the class means
//! are well estimated, is not included. No row is read again.

use serde::Serialize;

use crate::between::trace_against_pinv;
use crate::error::{GeometryError, Result};
use crate::separation::Separation;

/// Options of [`bootstrap_law`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapOptions {
    /// Number of replicates $B$ (default 200; at least 10).
    pub replicates: usize,
    /// Seed of the group draws (default 0): same seed, same intervals.
    pub seed: u64,
    /// Coverage of the intervals (default 0.95; strictly between 0 and 1).
    pub level: f64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            replicates: 200,
            seed: 0,
            level: 0.95,
        }
    }
}

/// A percentile interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// Lower end, the $(1-\mathrm{level})/2$ quantile of the replicates.
    pub low: f64,
    /// Upper end, the $(1+\mathrm{level})/2$ quantile.
    pub high: f64,
}

/// Bootstrap intervals of the law fit and of every layer's $D$.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LawIntervals {
    /// Replicates used (those where a class drew only empty groups are left out).
    pub replicates: usize,
    /// Groups per class $G$.
    pub groups: usize,
    /// Coverage of the intervals.
    pub level: f64,
    /// Seed of the group draws.
    pub seed: u64,
    /// Interval of the decay ratio $\rho = e^{\mathrm{slope}}$.
    pub rho: Interval,
    /// Interval of the slope $\ln\rho$.
    pub slope: Interval,
    /// Interval of the Pearson $r$ of $(l, \ln D_l)$; `None` if some replicate had all
    /// fitted $D_l$ equal.
    pub pearson_r: Option<Interval>,
    /// Interval of $D_l$ for every layer given, fitted or not.
    pub fuzziness: Vec<Interval>,
}

/// splitmix64 (Steele, Lea & Flood 2014): a small, fast generator for the group draws.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n as u128) >> 64) as usize
    }
}

/// Bootstrap intervals ([module docs](self)) for the law fitted over layers `fit_layers`
/// (indices into `layers`, at least two, ascending), with $l$ the index in `layers`.
///
/// Errors ([`GeometryError::Bootstrap`]): a layer without bootstrap groups (a one-pass
/// measurement, a state from sums computed elsewhere without them, or $K$ and $r$ too large
/// for the memory budget), layers of different classes or groups, fewer than two fitted
/// layers, invalid options, or fewer than 10 usable replicates.
pub fn bootstrap_law(
    layers: &[&Separation],
    fit_layers: &[usize],
    opts: &BootstrapOptions,
) -> Result<LawIntervals> {
    let fail = |layer: Option<usize>, reason: String| GeometryError::Bootstrap { layer, reason };
    if opts.replicates < 10 || !(opts.level > 0.0 && opts.level < 1.0) {
        return Err(fail(
            None,
            format!(
                "need at least 10 replicates and 0 < level < 1, got {} and {}",
                opts.replicates, opts.level
            ),
        ));
    }
    if fit_layers.len() < 2 || fit_layers.iter().any(|&l| l >= layers.len()) {
        return Err(fail(
            None,
            format!(
                "the law needs at least two fitted layers among 0..{}, got {fit_layers:?}",
                layers.len()
            ),
        ));
    }
    let mut groups = Vec::with_capacity(layers.len());
    for (l, sep) in layers.iter().enumerate() {
        let Some(b) = sep.bootstrap.as_ref() else {
            return Err(fail(
                Some(l),
                "no bootstrap groups were kept for this layer (one-pass measurement, sums \
                 computed without them, or K and r too large for the 64 MiB budget)"
                    .into(),
            ));
        };
        if b.centres.len() != sep.num_classes * b.rank {
            return Err(fail(
                Some(l),
                "the class centres of the groups are missing".into(),
            ));
        }
        groups.push(b);
    }
    let (k, g) = (layers[0].num_classes, groups[0].groups);
    if let Some(l) =
        (0..layers.len()).find(|&l| layers[l].num_classes != k || groups[l].groups != g)
    {
        return Err(fail(
            Some(l),
            format!(
                "{} classes and {} groups, but layer 0 has {k} and {g}",
                layers[l].num_classes, groups[l].groups
            ),
        ));
    }
    let mut rng = SplitMix(opts.seed);
    let mut draws = vec![0usize; k * g];
    let mut d_reps: Vec<Vec<f64>> = vec![Vec::with_capacity(opts.replicates); layers.len()];
    let (mut slopes, mut rs) = (Vec::new(), Vec::new());
    let mut all_r = true;
    for _ in 0..opts.replicates {
        for d in draws.iter_mut() {
            *d = rng.below(g);
        }
        let ds: Option<Vec<f64>> = layers
            .iter()
            .zip(&groups)
            .map(|(sep, b)| replicate_fuzziness(b, k, &draws, sep.rank_tolerance))
            .collect();
        let Some(ds) = ds else { continue };
        let fit: Vec<(f64, f64)> = fit_layers.iter().map(|&l| (l as f64, ds[l].ln())).collect();
        if fit.iter().any(|(_, y)| !y.is_finite()) {
            continue;
        }
        let (slope, r) = ols(&fit);
        slopes.push(slope);
        match r {
            Some(r) => rs.push(r),
            None => all_r = false,
        }
        for (reps, d) in d_reps.iter_mut().zip(ds) {
            reps.push(d);
        }
    }
    if slopes.len() < 10 {
        return Err(fail(
            None,
            format!(
                "only {} of {} replicates were usable (classes with too few examples for {g} groups)",
                slopes.len(),
                opts.replicates
            ),
        ));
    }
    let slope = percentile_interval(&mut slopes, opts.level);
    Ok(LawIntervals {
        replicates: slopes.len(),
        groups: g,
        level: opts.level,
        seed: opts.seed,
        rho: Interval {
            low: slope.low.exp(),
            high: slope.high.exp(),
        },
        slope,
        pearson_r: all_r.then(|| percentile_interval(&mut rs, opts.level)),
        fuzziness: d_reps
            .iter_mut()
            .map(|reps| percentile_interval(reps, opts.level))
            .collect(),
    })
}

/// $D^*$ of one layer for group draws `draws` (G per class); `None` when a class drew only
/// empty groups.
pub(crate) fn replicate_fuzziness(
    b: &crate::BootstrapGroups,
    k: usize,
    draws: &[usize],
    tol: f64,
) -> Option<f64> {
    let (g, r) = (b.groups, b.rank);
    let tri = r * (r + 1) / 2;
    let mut w = faer::Mat::<f64>::zeros(r, r);
    let mut centres = vec![0.0; k * r];
    let mut sizes = vec![0.0; k];
    let mut s1 = vec![0.0; r];
    let mut s2 = vec![0.0; tri];
    for c in 0..k {
        s1.fill(0.0);
        s2.fill(0.0);
        let mut nk = 0u64;
        for &gi in &draws[c * g..(c + 1) * g] {
            let slot = c * g + gi;
            nk += b.counts[slot];
            for (a, v) in s1.iter_mut().zip(&b.sums[slot * r..(slot + 1) * r]) {
                *a += v;
            }
            for (a, v) in s2.iter_mut().zip(&b.scatter[slot * tri..(slot + 1) * tri]) {
                *a += v;
            }
        }
        if nk == 0 {
            return None;
        }
        let nf = nk as f64;
        sizes[c] = nf;
        let mut at = 0;
        for a in 0..r {
            let ua = s1[a] / nf;
            centres[c * r + a] = b.centres[c * r + a] + ua;
            for bb in 0..=a {
                let v = s2[at] - nf * ua * (s1[bb] / nf);
                w[(a, bb)] += v;
                if a != bb {
                    w[(bb, a)] += v;
                }
                at += 1;
            }
        }
    }
    let n: f64 = sizes.iter().sum();
    let mean: Vec<f64> = (0..r)
        .map(|a| (0..k).map(|c| sizes[c] * centres[c * r + a]).sum::<f64>() / n)
        .collect();
    let factor = faer::Mat::from_fn(r, k, |a, c| {
        (sizes[c] / n).sqrt() * (centres[c * r + a] - mean[a])
    });
    let w = faer::Mat::from_fn(r, r, |a, bb| w[(a, bb)] / n);
    trace_against_pinv(w.as_ref(), factor.as_ref(), tol)
        .ok()
        .map(|(d, _, _)| d)
}

/// OLS slope of `(x, y)` points and the Pearson $r$ (`None` when all y are equal).
fn ols(points: &[(f64, f64)]) -> (f64, Option<f64>) {
    let m = points.len() as f64;
    let xm = points.iter().map(|p| p.0).sum::<f64>() / m;
    let ym = points.iter().map(|p| p.1).sum::<f64>() / m;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for &(x, y) in points {
        sxx += (x - xm) * (x - xm);
        sxy += (x - xm) * (y - ym);
        syy += (y - ym) * (y - ym);
    }
    let r = (syy > 0.0).then(|| (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0));
    (sxy / sxx, r)
}

/// The central `level` percentile interval of `values` (sorted in place), with numpy's
/// default linear interpolation between order statistics.
fn percentile_interval(values: &mut [f64], level: f64) -> Interval {
    values.sort_by(f64::total_cmp);
    let q = |p: f64| {
        let pos = p * (values.len() - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        values[lo] + (pos - lo as f64) * (values[hi] - values[lo])
    };
    Interval {
        low: q((1.0 - level) / 2.0),
        high: q((1.0 + level) / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy.percentile([1, 2, 3, 4, 10], [2.5, 97.5]) = [1.1, 9.4] (numpy 2.x).
    #[test]
    fn percentiles_interpolate_as_numpy() {
        let mut v = vec![4.0, 1.0, 10.0, 3.0, 2.0];
        let i = percentile_interval(&mut v, 0.95);
        assert!(
            (i.low - 1.1).abs() < 1e-12 && (i.high - 9.4).abs() < 1e-12,
            "{i:?}"
        );
    }
}

#[cfg(test)]
mod identity_tests {
    use super::*;
    use crate::{separation, Labels, SeparationOptions};

    /// Drawing every group once is the full data: the replicate's D is the layer's D.
    #[test]
    fn drawing_every_group_once_gives_the_full_data() {
        let (n, p, k) = (900usize, 11usize, 5usize);
        let raw: Vec<i64> = (0..n).map(|i| ((i * 7 + i / 13) % k) as i64).collect();
        let labels = Labels::new(&raw, Some(k)).unwrap();
        let x = faer::Mat::from_fn(n, p, |i, j| {
            ((i * p + j) as f64 * 0.61).sin() + (raw[i] as f64 * (j + 1) as f64 * 0.7).cos()
        });
        let sep = separation(x.as_ref(), &labels, &SeparationOptions::default()).unwrap();
        let b = sep.bootstrap_groups().unwrap();
        let g = b.groups();
        assert_eq!(g, 64);
        assert_eq!(b.counts().iter().sum::<u64>(), n as u64);
        let draws: Vec<usize> = (0..k * g).map(|i| i % g).collect();
        let d = replicate_fuzziness(b, k, &draws, sep.rank_tolerance).unwrap();
        assert!(
            (d - sep.fuzziness).abs() <= 1e-10 * sep.fuzziness,
            "{d} vs {}",
            sep.fuzziness
        );
    }
}
