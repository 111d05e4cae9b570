//! Streaming, mergeable, serialisable accumulation of separation statistics over many layers.
//!
//! # Memory
//!
//! An exact one-pass D needs the within-class scatter projected on the between-class basis,
//! and that basis is only known once all data has been seen. The accumulator therefore keeps,
//! per layer of dimension $p$: the class counts $n_k$ (K integers), the class means (K×p f64)
//! and the pooled within-class scatter $S = \sum_i (x_i-\bar x_{y_i})(x_i-\bar x_{y_i})^\top$
//! (p×p f64): $8(Kp + p^2)$ bytes, e.g. 8.5 MB for $p = 1024$, 32 GB for $p = 65536$. The
//! default limit [`DEFAULT_MAX_DIM`] refuses layers above $p = 4096$ (128 MiB each); raise it
//! with [`MultiLayerAccumulator::with_max_dim`]. For wide layers prefer the batch
//! [`crate::separation`], which is exact in $O(pK)$ extra memory but needs all rows at once.
//! Each [`MultiLayerAccumulator::update`] costs $O(bp^2)$ for a batch of $b$ rows (one GEMM).
//!
//! # Merging
//!
//! Batches and accumulators are combined with the pairwise update of Chan, Golub & LeVeque
//! (1979), per class: with $\delta_k = \bar x_k^{(b)} - \bar x_k^{(a)}$,
//! $\bar x_k = \bar x_k^{(a)} + \delta_k\,n_k^{(b)}/n_k$ and
//! $S = S^{(a)} + S^{(b)} + \sum_k \frac{n_k^{(a)} n_k^{(b)}}{n_k}\delta_k\delta_k^\top$. This is
//! exact in exact arithmetic, so merging is associative up to rounding (~1e-13 relative).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

use crate::between::between_basis;
use crate::blocks::{first_non_finite, load_rows};
use crate::error::{GeometryError, Result};
use crate::scalar::Scalar;
use crate::separation::{assemble, Separation, SeparationOptions};

/// Default largest feature dimension a layer may have (the p×p scatter then takes 128 MiB).
pub const DEFAULT_MAX_DIM: usize = 4096;

/// Sufficient statistics of one layer (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LayerState {
    pub dim: usize,
    /// $n_k$.
    pub counts: Vec<u64>,
    /// Class means, K×p.
    pub means: Mat<f64>,
    /// Pooled within-class scatter, p×p, kept exactly symmetric.
    pub scatter: Mat<f64>,
}

/// Accumulates, batch by batch, the statistics needed for [`Separation`] of several layers.
///
/// `update` feeds a batch of one layer's features; `merge` combines accumulators built on
/// disjoint data (e.g. by different threads or processes); `result` gives one [`Separation`]
/// per layer, equal (to ~1e-12 relative) to [`crate::separation`] on all the data;
/// `to_bytes`/`from_bytes` checkpoint it. Memory: $O(p^2)$ per layer, see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiLayerAccumulator {
    pub(crate) num_classes: usize,
    pub(crate) max_dim: usize,
    pub(crate) layers: Vec<Option<LayerState>>,
}

impl MultiLayerAccumulator {
    /// An empty accumulator for `num_layers` layers and `num_classes` classes ($K\ge2$).
    pub fn new(num_classes: usize, num_layers: usize) -> Result<Self> {
        if num_classes < 2 {
            return Err(GeometryError::TooFewClasses { num_classes });
        }
        Ok(MultiLayerAccumulator {
            num_classes,
            max_dim: DEFAULT_MAX_DIM,
            layers: vec![None; num_layers],
        })
    }

    /// Sets the largest accepted feature dimension (memory $8p^2$ bytes per layer).
    pub fn with_max_dim(mut self, max_dim: usize) -> Self {
        self.max_dim = max_dim;
        self
    }

    /// Number of classes $K$.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Number of layers tracked.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Samples seen so far for `layer` (0 if none or out of range).
    pub fn num_samples(&self, layer: usize) -> u64 {
        self.layers
            .get(layer)
            .and_then(Option::as_ref)
            .map_or(0, |s| s.counts.iter().sum())
    }

    /// Adds a batch of `layer`'s features `x` (b×p, any strides) with labels in `0..K`.
    ///
    /// On error the accumulator is unchanged. Errors: layer out of range, label count ≠ b,
    /// label ≥ K, p = 0, p above the limit, p different from earlier batches, and a NaN/Inf
    /// ([`GeometryError::NonFiniteFeature`], row relative to the batch).
    pub fn update<T: Scalar>(
        &mut self,
        layer: usize,
        x: MatRef<'_, T>,
        labels: &[usize],
    ) -> Result<()> {
        let num_layers = self.layers.len();
        let k = self.num_classes;
        let slot = self
            .layers
            .get(layer)
            .ok_or(GeometryError::LayerOutOfRange { layer, num_layers })?;
        let (b, p) = (x.nrows(), x.ncols());
        if labels.len() != b {
            return Err(GeometryError::LengthMismatch {
                rows: b,
                labels: labels.len(),
            });
        }
        if p == 0 {
            return Err(GeometryError::ZeroDimension);
        }
        if p > self.max_dim {
            return Err(GeometryError::DimensionTooLarge {
                layer,
                dim: p,
                max_dim: self.max_dim,
            });
        }
        if let Some(state) = slot {
            if state.dim != p {
                return Err(GeometryError::DimensionChanged {
                    layer,
                    expected: state.dim,
                    got: p,
                });
            }
        }
        if let Some((row, &value)) = labels.iter().enumerate().find(|(_, &y)| y >= k) {
            return Err(GeometryError::BatchLabelOutOfRange {
                layer,
                row,
                value,
                num_classes: k,
            });
        }
        if let Some(err) = first_non_finite(x, 0..b) {
            return Err(err);
        }
        if b == 0 {
            return Ok(());
        }
        let batch = batch_state(x, labels, k);
        match &mut self.layers[layer] {
            Some(state) => merge_state(state, &batch),
            empty => *empty = Some(batch),
        }
        Ok(())
    }

    /// Adds everything `other` has seen, as if this accumulator had received its batches.
    ///
    /// Errors ([`GeometryError::IncompatibleMerge`]) when the class or layer counts differ or a
    /// layer's dimension differs; then `self` is unchanged.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if self.num_classes != other.num_classes || self.layers.len() != other.layers.len() {
            return Err(GeometryError::IncompatibleMerge {
                reason: format!(
                    "{} classes x {} layers vs {} classes x {} layers",
                    self.num_classes,
                    self.layers.len(),
                    other.num_classes,
                    other.layers.len()
                ),
            });
        }
        for (l, (a, b)) in self.layers.iter().zip(&other.layers).enumerate() {
            if let (Some(a), Some(b)) = (a, b) {
                if a.dim != b.dim {
                    return Err(GeometryError::IncompatibleMerge {
                        reason: format!("layer {l} has dimension {} vs {}", a.dim, b.dim),
                    });
                }
            }
        }
        for (a, b) in self.layers.iter_mut().zip(&other.layers) {
            match (a.as_mut(), b) {
                (Some(a), Some(b)) => merge_state(a, b),
                (None, Some(b)) => *a = Some(b.clone()),
                _ => {}
            }
        }
        Ok(())
    }

    /// One [`Separation`] per layer, with default [`SeparationOptions`].
    pub fn result(&self) -> Result<Vec<Separation>> {
        self.result_with(&SeparationOptions::default())
    }

    /// One [`Separation`] per layer. Errors: a layer without data
    /// ([`GeometryError::EmptyLayer`]), a class without samples in a layer
    /// ([`GeometryError::EmptyClass`]), equal class means, invalid options.
    pub fn result_with(&self, opts: &SeparationOptions) -> Result<Vec<Separation>> {
        (0..self.layers.len())
            .map(|l| self.layer_result(l, opts))
            .collect()
    }

    /// [`Separation`] of one layer (see [`MultiLayerAccumulator::result_with`]).
    pub fn layer_result(&self, layer: usize, opts: &SeparationOptions) -> Result<Separation> {
        opts.validate()?;
        let num_layers = self.layers.len();
        let state = self
            .layers
            .get(layer)
            .ok_or(GeometryError::LayerOutOfRange { layer, num_layers })?
            .as_ref()
            .ok_or(GeometryError::EmptyLayer { layer })?;
        let k = self.num_classes;
        if let Some(class) = state.counts.iter().position(|&c| c == 0) {
            return Err(GeometryError::EmptyClass {
                class,
                num_classes: k,
            });
        }
        let counts: Vec<usize> = state.counts.iter().map(|&c| c as usize).collect();
        let q = between_basis(state.means.as_ref(), &counts, opts.rank_tolerance)?;
        let sq = &state.scatter * &q;
        let projected = q.transpose() * &sq;
        let trace = (0..state.dim).map(|j| state.scatter[(j, j)]).sum::<f64>();
        assemble(
            state.means.clone(),
            &counts,
            q.as_ref(),
            projected.as_ref(),
            trace,
            None,
            opts,
        )
    }
}

/// Counts, means and pooled scatter of one batch (all rows finite, labels < K).
fn batch_state<T: Scalar>(x: MatRef<'_, T>, labels: &[usize], k: usize) -> LayerState {
    let (b, p) = (x.nrows(), x.ncols());
    let mut z = vec![0.0f64; b * p];
    load_rows(x, 0..b, &mut z);
    let mut counts = vec![0u64; k];
    let mut means = Mat::<f64>::zeros(k, p);
    for (i, &y) in labels.iter().enumerate() {
        counts[y] += 1;
        for j in 0..p {
            means[(y, j)] += z[i * p + j];
        }
    }
    for c in 0..k {
        if counts[c] > 0 {
            for j in 0..p {
                means[(c, j)] /= counts[c] as f64;
            }
        }
    }
    for (i, &y) in labels.iter().enumerate() {
        for j in 0..p {
            z[i * p + j] -= means[(y, j)];
        }
    }
    let zm = MatRef::from_row_major_slice(&z, b, p);
    let mut scatter = Mat::<f64>::zeros(p, p);
    matmul(
        scatter.as_mut(),
        Accum::Replace,
        zm.transpose(),
        zm,
        1.0,
        Par::rayon(0),
    );
    symmetrise(&mut scatter);
    LayerState {
        dim: p,
        counts,
        means,
        scatter,
    }
}

/// Chan–Golub–LeVeque merge of `b` into `a` (same dimension and class count).
pub(crate) fn merge_state(a: &mut LayerState, b: &LayerState) {
    let (k, p) = (a.means.nrows(), a.dim);
    let mut correction = Mat::<f64>::zeros(p, k);
    for c in 0..k {
        let (na, nb) = (a.counts[c] as f64, b.counts[c] as f64);
        if nb == 0.0 {
            continue;
        }
        let n = na + nb;
        let weight = (na * nb / n).sqrt();
        for j in 0..p {
            let delta = b.means[(c, j)] - a.means[(c, j)];
            correction[(j, c)] = weight * delta;
            a.means[(c, j)] = if na == 0.0 {
                b.means[(c, j)]
            } else {
                a.means[(c, j)] + delta * (nb / n)
            };
        }
        a.counts[c] += b.counts[c];
    }
    a.scatter += &b.scatter;
    matmul(
        a.scatter.as_mut(),
        Accum::Add,
        correction.as_ref(),
        correction.transpose(),
        1.0,
        Par::Seq,
    );
    symmetrise(&mut a.scatter);
}

/// Copies the lower triangle onto the upper one, so the stored scatter is exactly symmetric.
fn symmetrise(s: &mut Mat<f64>) {
    let p = s.nrows();
    for j in 0..p {
        for i in j + 1..p {
            s[(j, i)] = s[(i, j)];
        }
    }
}
