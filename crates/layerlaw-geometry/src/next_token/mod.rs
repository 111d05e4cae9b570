//! The law of next-token prediction (He & Su, "A Law of Next-Token Prediction in Large
//! Language Models", arXiv:2408.13442): how well each layer's hidden states predict the next
//! token by a linear map.
//!
//! # Prediction residual
//!
//! Take one layer's features $x_j \in \mathbb R^p$ at the token positions $j$ of a corpus (the
//! last position of each sequence dropped) and the next token $y_j$ of each position. With the
//! regression target $t_j$ (see [`PredictionTarget`]) stacked in $Y$ ($n\times m$) and the
//! features in $X$ ($n\times p$), the **prediction residual** is the in-sample residual of the
//! least-squares fit with intercept, relative to the target's total variation:
//! $$\mathrm{PR} = \frac{\min_{W,b}\|Y - XW - \mathbf 1 b^\top\|_F^2}{\|Y-\mathbf 1\bar y^\top\|_F^2}
//! = 1 - \frac{\mathrm{Tr}(S_{xy}^\top S_{xx}^+ S_{xy})}{S_{yy}},$$
//! with the centred sums $S_{xx} = \sum_j(x_j-\bar x)(x_j-\bar x)^\top$ (p×p),
//! $S_{xy} = \sum_j(x_j-\bar x)(t_j-\bar t)^\top$ (p×m) and $S_{yy} = \sum_j\|t_j-\bar t\|^2$.
//! $0 \le \mathrm{PR} \le 1$; the law says $\mathrm{PR}_l \approx \rho^l\,\mathrm{PR}_0$.
//!
//! # Streaming sums
//!
//! [`PredictionResidual`] keeps, for a shift $c$ (the mean of the first non-empty batch), the
//! count $n$, $s = \sum_j (x_j-c)$, $A = \sum_j (x_j-c)(x_j-c)^\top$, the cross sums $G$ and
//! the token counts $n_v$, all in f64 (counts in u64). Then exactly
//! $S_{xx} = A - s s^\top/n$ and $S_{xy} = G - s\,\tau^\top/n$ with $\tau = \sum_j t_j$:
//!
//! * one-hot: $G$ has a row per token, $G_v = \sum_{j:\,y_j=v}(x_j-c)$ (the one-hot matrix is
//!   never formed; a position adds its features to its token's row), $\tau_v = n_v$ and
//!   $S_{yy} = n - \sum_v n_v^2/n$, computed from the integer counts exactly;
//! * token id: $G = \sum_j y_j(x_j-c)$ (p values), $\tau = \sum_v v\,n_v$ and
//!   $S_{yy} = \sum_v n_v (v-\bar y)^2$.
//!
//! The shift keeps $s$ small, so the subtractions lose little (the textbook pitfall of
//! $\sum x^2 - (\sum x)^2/n$). States with different shifts merge by moving one to the other's
//! shift: with $d = c_b - c_a$, $s_b \mapsto s_b + n_b d$,
//! $A_b \mapsto A_b + s_b d^\top + d s_b^\top + n_b d d^\top$ and $G_b \mapsto G_b + d\,\tau_b^\top$
//! (row-wise), then the sums add. Each batch costs one $b\times p$ by $p\times b$ product
//! ($O(bp^2)$) plus $O(bp)$ for $G$; rows are taken in fixed blocks, so results do not depend on
//! the number of threads.
//!
//! # Finishing
//!
//! $S_{xx} = U\Lambda U^\top$ (symmetric eigendecomposition); the pseudo-inverse keeps the
//! eigenvalues $\lambda_k > \mathrm{tol}^2\,\lambda_{\max}$, i.e. the directions whose singular
//! value in the centred $X$ exceeds $\mathrm{tol}$ times the largest, with
//! $\mathrm{tol}$ = [`DEFAULT_RANK_TOLERANCE`] $= 10^{-6}$ unless given (as
//! [`SeparationOptions::rank_tolerance`](crate::SeparationOptions::rank_tolerance)); smaller
//! eigenvalues of a Gram matrix are below what f64 resolves anyway. Then
//! $\mathrm{Tr}(S_{xy}^\top S_{xx}^+S_{xy}) = \sum_{k\ \text{kept}} \|u_k^\top S_{xy}\|^2/\lambda_k$,
//! over the columns of the tokens that occur (the others are zero).
//!
//! # Memory
//!
//! p×p f64 for $A$ plus, for one-hot, a dense V×p f64 $G$: $8(p^2 + Vp + 2p) + 8V$ bytes
//! ([`PredictionResidual::state_bytes`]), e.g. 313 MB for $p = 768$, $V = 50{,}257$. States
//! above [`DEFAULT_MAX_STATE_BYTES`] (4 GiB) are refused with
//! [`GeometryError::PredictionStateTooLarge`]; [`PredictionResidual::with_limit`] sets another
//! limit. The token-id target needs only $8(p^2 + 3p) + 8V$ bytes.

mod report;

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par, Side};
use serde::Serialize;

use crate::blocks::{first_non_finite, load_rows};
use crate::error::{GeometryError, Result};
use crate::layers::LayerFeatures;
use crate::scalar::Scalar;

pub use report::{
    fit_next_token_law, next_token_report, prediction_residual_layers, NextTokenFit, NextTokenLaw,
    NextTokenReport, NEXT_TOKEN_DEFINITION,
};

/// Default largest state of one [`PredictionResidual`], in bytes (4 GiB).
pub const DEFAULT_MAX_STATE_BYTES: u64 = 4 << 30;

/// Default relative cut-off of the pseudo-inverse, on singular values of the centred features
/// (eigenvalues of $S_{xx}$ below $10^{-12}\lambda_{\max}$ are dropped).
pub const DEFAULT_RANK_TOLERANCE: f64 = 1e-6;

/// Rows widened to f64 per block of an update (bounds the update's extra memory to
/// `BLOCK_ROWS * p` f64).
const BLOCK_ROWS: usize = 2048;

/// What the features regress on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PredictionTarget {
    /// $t_j = e_{y_j} \in \mathbb R^V$, the one-hot vector of the next token: the paper's
    /// wording ("how well the embeddings predict the next token", a multivariate regression).
    #[default]
    OneHot,
    /// $t_j = y_j \in \mathbb R$, the integer id of the next token, as the official code
    /// (`sklearn.linear_model.LinearRegression` on the 1-D id array; PR = MSE / `np.var(ids)`).
    TokenId,
}

impl PredictionTarget {
    /// `"one-hot"` or `"token-id"`.
    pub fn name(self) -> &'static str {
        match self {
            PredictionTarget::OneHot => "one-hot",
            PredictionTarget::TokenId => "token-id",
        }
    }

    /// Parses `one-hot`/`one_hot`/`onehot` or `token-id`/`token_id`/`tokenid`
    /// (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "onehot" => Some(PredictionTarget::OneHot),
            "tokenid" => Some(PredictionTarget::TokenId),
            _ => None,
        }
    }

    /// Rows of the cross sums $G$: V (one-hot) or 1 (token id).
    fn cross_rows(self, vocab: usize) -> usize {
        match self {
            PredictionTarget::OneHot => vocab,
            PredictionTarget::TokenId => 1,
        }
    }
}

/// Sufficient statistics of one layer, as formed elsewhere (e.g. by torch on a GPU) and handed
/// to [`PredictionResidual::from_sums`]; the notation is that of the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct PredictionSums {
    /// The shift $c$ (p values).
    pub shift: Vec<f64>,
    /// $s = \sum_j (x_j - c)$ (p values).
    pub sum: Vec<f64>,
    /// $A = \sum_j (x_j-c)(x_j-c)^\top$, p×p row-major.
    pub scatter: Vec<f64>,
    /// $G$: one-hot V×p row-major (row $v$ = $\sum_{j:\,y_j=v}(x_j-c)$); token id
    /// $\sum_j y_j (x_j-c)$ (p values).
    pub cross: Vec<f64>,
    /// Token counts $n_v$ (V values); their sum is $n$.
    pub counts: Vec<u64>,
}

/// The prediction residual of one layer, with what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionResidualReport {
    /// Layer name.
    pub layer: String,
    /// Feature dimension p.
    pub dim: usize,
    /// Vocabulary size V.
    pub vocab: usize,
    /// Regression target.
    pub target: PredictionTarget,
    /// Token positions n.
    pub rows: u64,
    /// Distinct next tokens among them.
    pub distinct_tokens: usize,
    /// Numerical rank of $S_{xx}$ (eigenvalues kept by the pseudo-inverse).
    pub rank: usize,
    /// $S_{yy} = \sum_j\|t_j-\bar t\|^2$.
    pub total_sum_squares: f64,
    /// $\mathrm{Tr}(S_{xy}^\top S_{xx}^+ S_{xy})$, the variation the linear fit explains.
    pub explained_sum_squares: f64,
    /// $\mathrm{PR} = \max(0,\,S_{yy} - \mathrm{explained})/S_{yy}$ (rounding can make the
    /// difference slightly negative for an exact fit; it is then 0).
    pub pr: f64,
}

/// Streaming, mergeable sums for the prediction residual of one layer (see the module docs
/// for the formulas, the memory and the pseudo-inverse cut-off).
///
/// `update` adds a batch of features with the next-token id of each row; `merge` adds another
/// state built on other rows; `finish` gives the [`PredictionResidualReport`]. A failed
/// `update` or `merge` leaves the state unchanged.
/// Its `Debug` form shows the sizes, not the sums.
#[derive(Clone, PartialEq)]
pub struct PredictionResidual {
    layer: String,
    dim: usize,
    vocab: usize,
    target: PredictionTarget,
    rows: u64,
    batches: u64,
    /// $c$; `None` before the first row.
    shift: Option<Vec<f64>>,
    sum: Vec<f64>,
    /// $A$, p×p (only the lower triangle is read).
    scatter: Mat<f64>,
    /// $G$, row-major with p values per row.
    cross: Vec<f64>,
    counts: Vec<u64>,
}

impl std::fmt::Debug for PredictionResidual {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PredictionResidual")
            .field("layer", &self.layer)
            .field("dim", &self.dim)
            .field("vocab", &self.vocab)
            .field("target", &self.target)
            .field("rows", &self.rows)
            .field("batches", &self.batches)
            .finish_non_exhaustive()
    }
}

impl PredictionResidual {
    /// An empty state for the layer named `layer` (used in errors), features of dimension
    /// `dim`, next-token ids in `0..vocab`, within [`DEFAULT_MAX_STATE_BYTES`].
    ///
    /// Errors: `dim == 0`, `vocab < 2` ([`GeometryError::InvalidOption`]), a state above the
    /// limit ([`GeometryError::PredictionStateTooLarge`]).
    pub fn new(
        layer: impl Into<String>,
        dim: usize,
        vocab: usize,
        target: PredictionTarget,
    ) -> Result<Self> {
        Self::with_limit(layer, dim, vocab, target, DEFAULT_MAX_STATE_BYTES)
    }

    /// As [`PredictionResidual::new`] with a memory limit of `max_bytes`.
    pub fn with_limit(
        layer: impl Into<String>,
        dim: usize,
        vocab: usize,
        target: PredictionTarget,
        max_bytes: u64,
    ) -> Result<Self> {
        let layer = layer.into();
        if dim == 0 {
            return Err(GeometryError::ZeroDimension);
        }
        if vocab < 2 {
            return Err(GeometryError::InvalidOption {
                name: "vocab_size",
                value: vocab as f64,
                reason: "the vocabulary must hold at least 2 tokens",
            });
        }
        let bytes = Self::state_bytes(dim, vocab, target);
        if bytes > max_bytes {
            return Err(GeometryError::PredictionStateTooLarge {
                layer: layer.into(),
                dim,
                vocab,
                bytes,
                limit: max_bytes,
            });
        }
        Ok(PredictionResidual {
            layer,
            dim,
            vocab,
            target,
            rows: 0,
            batches: 0,
            shift: None,
            sum: vec![0.0; dim],
            scatter: Mat::zeros(dim, dim),
            cross: vec![0.0; target.cross_rows(vocab) * dim],
            counts: vec![0; vocab],
        })
    }

    /// Bytes of the state for dimension `dim` and vocabulary `vocab`:
    /// $8(p^2 + mp + 2p) + 8V$ with $m = V$ (one-hot) or 1 (token id), saturated at
    /// `u64::MAX`.
    pub fn state_bytes(dim: usize, vocab: usize, target: PredictionTarget) -> u64 {
        let (p, v) = (dim as u128, vocab as u128);
        let m = target.cross_rows(vocab) as u128;
        let bytes = 8 * (p * p + m * p + 2 * p) + 8 * v;
        u64::try_from(bytes).unwrap_or(u64::MAX)
    }

    /// A state holding sums formed elsewhere (see [`PredictionSums`]), within
    /// [`DEFAULT_MAX_STATE_BYTES`].
    ///
    /// Errors ([`GeometryError::InvalidTokenSums`], naming the field): lengths that do not fit
    /// `dim` and `vocab`, a non-finite value, no counts while the sums are not zero.
    pub fn from_sums(
        layer: impl Into<String>,
        dim: usize,
        vocab: usize,
        target: PredictionTarget,
        sums: PredictionSums,
    ) -> Result<Self> {
        let mut state = Self::new(layer, dim, vocab, target)?;
        let layer = state.layer.clone();
        let bad = |field: &'static str, reason: String| GeometryError::InvalidTokenSums {
            layer: layer.as_str().into(),
            field,
            reason: reason.into(),
        };
        let m = target.cross_rows(vocab);
        for (field, len, want) in [
            ("shift", sums.shift.len(), dim),
            ("sum", sums.sum.len(), dim),
            ("scatter", sums.scatter.len(), dim * dim),
            ("cross", sums.cross.len(), m * dim),
            ("counts", sums.counts.len(), vocab),
        ] {
            if len != want {
                return Err(bad(field, format!("{len} values, expected {want}")));
            }
        }
        for (field, values) in [
            ("shift", &sums.shift),
            ("sum", &sums.sum),
            ("scatter", &sums.scatter),
            ("cross", &sums.cross),
        ] {
            if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(bad(field, format!("value {i} is not finite ({v})")));
            }
        }
        let rows = sums
            .counts
            .iter()
            .try_fold(0u64, |a, &c| a.checked_add(c))
            .ok_or_else(|| bad("counts", "their sum overflows u64".into()))?;
        if rows == 0 {
            let nonzero = sums.sum.iter().chain(&sums.scatter).chain(&sums.cross);
            if nonzero.into_iter().any(|&v| v != 0.0) {
                return Err(bad(
                    "counts",
                    "no token counted, but the sums are not zero".into(),
                ));
            }
            return Ok(state);
        }
        state.rows = rows;
        state.batches = 1;
        state.shift = Some(sums.shift);
        state.sum = sums.sum;
        state.scatter = MatRef::from_row_major_slice(&sums.scatter, dim, dim).to_owned();
        state.cross = sums.cross;
        state.counts = sums.counts;
        Ok(state)
    }

    /// The layer name.
    pub fn layer(&self) -> &str {
        &self.layer
    }

    /// Feature dimension p.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Vocabulary size V.
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// The regression target.
    pub fn target(&self) -> PredictionTarget {
        self.target
    }

    /// Token positions added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Batches added so far (a merge adds the other state's).
    pub fn batches(&self) -> u64 {
        self.batches
    }

    /// The sums kept (shift 0 before the first row): [`PredictionResidual::from_sums`] on them
    /// gives this state back (with one batch).
    pub fn sums(&self) -> PredictionSums {
        let p = self.dim;
        PredictionSums {
            shift: self.shift.clone().unwrap_or_else(|| vec![0.0; p]),
            sum: self.sum.clone(),
            scatter: (0..p * p)
                .map(|k| {
                    let (i, j) = (k / p, k % p);
                    let (i, j) = if i >= j { (i, j) } else { (j, i) };
                    self.scatter[(i, j)]
                })
                .collect(),
            cross: self.cross.clone(),
            counts: self.counts.clone(),
        }
    }

    /// Adds a batch: features `x` (b×p, f32 or f64, any strides) and the next-token id of each
    /// row.
    ///
    /// Errors, naming the layer and the batch (rows count from the batch's first row):
    /// [`GeometryError::TokenLengthMismatch`], [`GeometryError::TokenDimensionMismatch`],
    /// [`GeometryError::TokenOutOfRange`], [`GeometryError::TokenFeatureNotFinite`].
    pub fn update(&mut self, x: LayerFeatures<'_>, next_tokens: &[usize]) -> Result<()> {
        match x {
            LayerFeatures::F32(m) => self.update_typed(m, next_tokens),
            LayerFeatures::F64(m) => self.update_typed(m, next_tokens),
        }
    }

    fn update_typed<T: Scalar>(&mut self, x: MatRef<'_, T>, tokens: &[usize]) -> Result<()> {
        let (b, p, batch) = (x.nrows(), x.ncols(), self.batches);
        let layer = || self.layer.clone();
        if tokens.len() != b {
            return Err(GeometryError::TokenLengthMismatch {
                layer: layer(),
                batch,
                rows: b,
                tokens: tokens.len(),
            });
        }
        if p != self.dim {
            return Err(GeometryError::TokenDimensionMismatch {
                layer: layer(),
                batch,
                expected: self.dim,
                got: p,
            });
        }
        if let Some((row, &token)) = tokens.iter().enumerate().find(|(_, &t)| t >= self.vocab) {
            return Err(GeometryError::TokenOutOfRange {
                layer: layer().into(),
                batch,
                row,
                token,
                vocab: self.vocab,
            });
        }
        if let Some(GeometryError::NonFiniteFeature { row, col, value }) = first_non_finite(x, 0..b)
        {
            return Err(GeometryError::TokenFeatureNotFinite {
                layer: layer().into(),
                batch,
                row,
                col,
                value,
            });
        }
        self.batches += 1;
        if b == 0 {
            return Ok(());
        }
        let mut z = vec![0.0f64; BLOCK_ROWS.min(b) * p];
        if self.shift.is_none() {
            let mut mean = vec![0.0f64; p];
            for start in (0..b).step_by(BLOCK_ROWS) {
                let rows = start..(start + BLOCK_ROWS).min(b);
                let len = rows.len();
                load_rows(x, rows, &mut z);
                for row in z[..len * p].chunks_exact(p) {
                    add_to(&mut mean, row);
                }
            }
            mean.iter_mut().for_each(|v| *v /= b as f64);
            self.shift = Some(mean);
        }
        let shift = self.shift.as_deref().unwrap_or_default();
        for start in (0..b).step_by(BLOCK_ROWS) {
            let rows = start..(start + BLOCK_ROWS).min(b);
            let len = rows.len();
            load_rows(x, rows, &mut z);
            let block = &mut z[..len * p];
            for (row, &token) in block.chunks_exact_mut(p).zip(&tokens[start..start + len]) {
                row.iter_mut().zip(shift).for_each(|(v, c)| *v -= c);
                add_to(&mut self.sum, row);
                self.counts[token] += 1;
                match self.target {
                    PredictionTarget::OneHot => {
                        add_to(&mut self.cross[token * p..(token + 1) * p], row);
                    }
                    PredictionTarget::TokenId => {
                        let y = token as f64;
                        self.cross
                            .iter_mut()
                            .zip(&*row)
                            .for_each(|(g, v)| *g += y * v);
                    }
                }
            }
            let zm = MatRef::from_row_major_slice(block, len, p);
            matmul(
                self.scatter.as_mut(),
                Accum::Add,
                zm.transpose(),
                zm,
                1.0,
                Par::rayon(0),
            );
        }
        self.rows += b as u64;
        Ok(())
    }

    /// Adds everything `other` has seen (moving its sums to this state's shift).
    ///
    /// Errors ([`GeometryError::IncompatibleMerge`]): another dimension, vocabulary or target;
    /// then `self` is unchanged. The layer name of `self` is kept.
    pub fn merge(&mut self, other: &Self) -> Result<()> {
        if (self.dim, self.vocab, self.target) != (other.dim, other.vocab, other.target) {
            return Err(GeometryError::IncompatibleMerge {
                reason: format!(
                    "layer {:?} has dimension {}, vocabulary {}, target {} but layer {:?} has {}, {}, {}",
                    self.layer,
                    self.dim,
                    self.vocab,
                    self.target.name(),
                    other.layer,
                    other.dim,
                    other.vocab,
                    other.target.name()
                ),
            });
        }
        self.batches += other.batches;
        let Some(other_shift) = other.shift.as_deref() else {
            return Ok(());
        };
        let Some(shift) = self.shift.as_deref() else {
            let batches = self.batches;
            let layer = std::mem::take(&mut self.layer);
            *self = other.clone();
            self.layer = layer;
            self.batches = batches;
            return Ok(());
        };
        let p = self.dim;
        let nb = other.rows as f64;
        let d: Vec<f64> = other_shift.iter().zip(shift).map(|(b, a)| b - a).collect();
        for i in 0..p {
            for j in 0..=i {
                self.scatter[(i, j)] += other.scatter[(i, j)]
                    + other.sum[i] * d[j]
                    + d[i] * other.sum[j]
                    + nb * d[i] * d[j];
            }
        }
        for (s, (o, di)) in self.sum.iter_mut().zip(other.sum.iter().zip(&d)) {
            *s += o + nb * di;
        }
        match self.target {
            PredictionTarget::OneHot => {
                for (v, &count) in other.counts.iter().enumerate() {
                    if count == 0 {
                        continue;
                    }
                    let t = count as f64;
                    let (g, o) = (&mut self.cross[v * p..(v + 1) * p], &other.cross[v * p..]);
                    for ((g, o), di) in g.iter_mut().zip(o).zip(&d) {
                        *g += o + t * di;
                    }
                }
            }
            PredictionTarget::TokenId => {
                let tau = token_sum(&other.counts);
                for ((g, o), di) in self.cross.iter_mut().zip(&other.cross).zip(&d) {
                    *g += o + tau * di;
                }
            }
        }
        self.counts
            .iter_mut()
            .zip(&other.counts)
            .for_each(|(a, b)| *a += b);
        self.rows += other.rows;
        Ok(())
    }

    /// The prediction residual with the default cut-off [`DEFAULT_RANK_TOLERANCE`].
    pub fn finish(&self) -> Result<PredictionResidualReport> {
        self.finish_with(DEFAULT_RANK_TOLERANCE)
    }

    /// The prediction residual, keeping the eigenvalues of $S_{xx}$ above
    /// $\mathrm{tol}^2\lambda_{\max}$ (see the module docs).
    ///
    /// Errors: fewer than 2 rows ([`GeometryError::TooFewTokenRows`]), one distinct next token
    /// ([`GeometryError::ConstantTarget`]), `rank_tolerance` outside $[0, 1)$
    /// ([`GeometryError::InvalidOption`]), sums that overflowed f64
    /// ([`GeometryError::Overflow`]), an eigendecomposition that does not converge.
    pub fn finish_with(&self, rank_tolerance: f64) -> Result<PredictionResidualReport> {
        if !(rank_tolerance.is_finite() && (0.0..1.0).contains(&rank_tolerance)) {
            return Err(GeometryError::InvalidOption {
                name: "rank_tolerance",
                value: rank_tolerance,
                reason: "must be finite with 0 <= rank_tolerance < 1",
            });
        }
        let (n, p) = (self.rows, self.dim);
        if n < 2 {
            return Err(GeometryError::TooFewTokenRows {
                layer: self.layer.clone(),
                rows: n,
            });
        }
        let seen: Vec<usize> = (0..self.vocab).filter(|&v| self.counts[v] > 0).collect();
        if let [token] = seen[..] {
            return Err(GeometryError::ConstantTarget {
                layer: self.layer.clone(),
                rows: n,
                token,
            });
        }
        let nf = n as f64;
        let syy = match self.target {
            PredictionTarget::OneHot => {
                let squares: u128 = seen
                    .iter()
                    .map(|&v| u128::from(self.counts[v]).pow(2))
                    .sum();
                ((u128::from(n) * u128::from(n) - squares) as f64) / nf
            }
            PredictionTarget::TokenId => {
                let mean = token_sum(&self.counts) / nf;
                seen.iter()
                    .map(|&v| self.counts[v] as f64 * (v as f64 - mean).powi(2))
                    .sum()
            }
        };
        let s = &self.sum;
        let sxx = Mat::from_fn(p, p, |i, j| {
            let (i, j) = if i >= j { (i, j) } else { (j, i) };
            self.scatter[(i, j)] - s[i] * s[j] / nf
        });
        let sxy = match self.target {
            PredictionTarget::OneHot => Mat::from_fn(p, seen.len(), |i, c| {
                let v = seen[c];
                self.cross[v * p + i] - s[i] * self.counts[v] as f64 / nf
            }),
            PredictionTarget::TokenId => {
                let tau = token_sum(&self.counts);
                Mat::from_fn(p, 1, |i, _| self.cross[i] - s[i] * tau / nf)
            }
        };
        if sxx
            .col_iter()
            .flat_map(|c| c.iter())
            .any(|v| !v.is_finite())
        {
            return Err(GeometryError::Overflow {
                quantity: "the feature scatter S_xx",
            });
        }
        let (explained, rank) = explained(sxx.as_ref(), sxy.as_ref(), rank_tolerance)?;
        let pr = ((syy - explained) / syy).max(0.0);
        Ok(PredictionResidualReport {
            layer: self.layer.clone(),
            dim: p,
            vocab: self.vocab,
            target: self.target,
            rows: n,
            distinct_tokens: seen.len(),
            rank,
            total_sum_squares: syy,
            explained_sum_squares: explained,
            pr,
        })
    }
}

/// $\sum_{k\ \text{kept}} \|u_k^\top S_{xy}\|^2/\lambda_k$ and the number of kept eigenpairs.
fn explained(sxx: MatRef<'_, f64>, sxy: MatRef<'_, f64>, tol: f64) -> Result<(f64, usize)> {
    let evd = sxx
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| GeometryError::NoConvergence {
            routine: "eigendecomposition of the feature scatter S_xx",
        })?;
    let lambda = evd.S().column_vector();
    let u = evd.U();
    let p = sxx.nrows();
    let lmax = (0..p).map(|k| lambda[k]).fold(0.0f64, f64::max);
    let kept: Vec<usize> = (0..p)
        .filter(|&k| lambda[k] > 0.0 && lambda[k] > tol * tol * lmax)
        .collect();
    if kept.is_empty() {
        return Ok((0.0, 0));
    }
    let u_kept = Mat::from_fn(p, kept.len(), |i, c| u[(i, kept[c])]);
    let projected = u_kept.transpose() * sxy;
    let total = kept
        .iter()
        .enumerate()
        .map(|(r, &k)| {
            let row: f64 = (0..projected.ncols())
                .map(|c| projected[(r, c)].powi(2))
                .sum();
            row / lambda[k]
        })
        .sum();
    Ok((total, kept.len()))
}

/// $\sum_v v\,n_v$ in f64.
fn token_sum(counts: &[u64]) -> f64 {
    counts
        .iter()
        .enumerate()
        .map(|(v, &c)| v as f64 * c as f64)
        .sum()
}

fn add_to(acc: &mut [f64], row: &[f64]) {
    acc.iter_mut().zip(row).for_each(|(a, v)| *a += v);
}
