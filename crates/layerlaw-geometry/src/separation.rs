//! Batch separation metrics: He–Su fuzziness D, Papyan NC1 and NC2, in $O(npK)$ time and
//! $O(pK)$ extra memory.

use faer::{Mat, MatRef};
use serde::Serialize;

use crate::between::{
    between_basis, centred_means_unweighted, centred_means_weighted, trace_against_pinv,
};
use crate::class_means::class_means;
use crate::class_stats::{BootstrapGroups, ClassStats};
use crate::error::{GeometryError, Result};
use crate::kernels::Isa;
use crate::labels::Labels;
use crate::nc2::{coefficient_of_variation, equiangularity, etf_distance_of_gram, gram};
use crate::nc_family::{family_metrics, orthogonality_deviation};
use crate::projection::{project_within, ProjectedWithin, RowsOf, WithinPlan};
use crate::scalar::Scalar;

/// Options of [`separation`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SeparationOptions {
    /// Relative cut-off of the pseudo-inverse, on **singular values of the class-mean matrix**.
    ///
    /// $SS_b = M_w M_w^\top$ with $M_w$ the p×K matrix of columns $\sqrt{n_k/n}(\bar x_k-\bar x)$;
    /// a direction is kept when its singular value $s_j > \mathrm{tol}\cdot s_1$, i.e. when the
    /// eigenvalue $\lambda_j = s_j^2$ of $SS_b$ exceeds $\mathrm{tol}^2\lambda_1$. The same rule
    /// (on the unweighted matrix) applies to $\Sigma_B$ for NC1. Default $10^{-6}$, i.e. an
    /// eigenvalue cut-off of $10^{-12}\lambda_1$. For comparison, `scipy.linalg.pinv(Sb)` (as in
    /// the official He–Su code) cuts eigenvalues of the p×p matrix at
    /// $\max(p,p)\,\varepsilon\,\lambda_1 \approx 2.3\times10^{-13}\lambda_1$ for $p = 1024$
    /// (i.e. $s_j \approx 4.8\times10^{-7} s_1$): the two agree unless some class-mean
    /// direction is between those levels, which signals a numerically rank-deficient $SS_b$.
    /// Must satisfy $0 \le \mathrm{tol} < 1$.
    pub rank_tolerance: f64,
    /// Keep the per-class sums of pass 2 (default `true`): CDNV, the per-class fuzziness
    /// $D_k$, the nearest-class-centre accuracy and agreement, and the bootstrap groups of the
    /// law's intervals. `false` skips them ($O(r^2 + Kr)$ per row) and leaves those fields
    /// out, with a note.
    pub per_class: bool,
}

impl Default for SeparationOptions {
    fn default() -> Self {
        SeparationOptions {
            rank_tolerance: 1e-6,
            per_class: true,
        }
    }
}

impl SeparationOptions {
    pub(crate) fn validate(&self) -> Result<()> {
        let t = self.rank_tolerance;
        if !(t.is_finite() && (0.0..1.0).contains(&t)) {
            return Err(GeometryError::InvalidOption {
                name: "rank_tolerance",
                value: t,
                reason: "must be finite with 0 <= rank_tolerance < 1",
            });
        }
        Ok(())
    }
}

/// Separation metrics of one layer's features.
///
/// Notation: $n$ samples, $K$ classes of sizes $n_k$, class means $\bar x_k$ (= $\mu_k$),
/// global mean $\bar x = \frac1n\sum_i x_i$, mean of class means $\mu_G = \frac1K\sum_k \mu_k$.
#[derive(Debug, Clone, Serialize)]
pub struct Separation {
    /// Feature dimension $p$.
    pub dim: usize,
    /// Number of classes $K$.
    pub num_classes: usize,
    /// Number of samples $n$.
    pub num_samples: usize,
    /// He–Su separation fuzziness $D = \mathrm{Tr}(SS_w SS_b^+)$ with the $n_k$-weighted
    /// $SS_b = \frac1n\sum_k n_k(\bar x_k-\bar x)(\bar x_k-\bar x)^\top$ and
    /// $SS_w = \frac1n\sum_i (x_i-\bar x_{y_i})(x_i-\bar x_{y_i})^\top$
    /// (He & Su, "A law of data separation in deep learning", PNAS 120(36) e2221704120, 2023).
    pub fuzziness: f64,
    /// Papyan NC1 $= \frac1K\mathrm{Tr}(\Sigma_W\Sigma_B^+)$ with $\Sigma_W = SS_w$ and the
    /// unweighted $\Sigma_B = \frac1K\sum_k(\mu_k-\mu_G)(\mu_k-\mu_G)^\top$ (Papyan, Han & Donoho,
    /// PNAS 117(40) 24652, 2020). For balanced classes `fuzziness == num_classes * nc1`.
    pub nc1: f64,
    /// Number of singular directions of $SS_b$ kept by the pseudo-inverse (≤ min(p, K−1)).
    pub rank: usize,
    /// Number of singular directions of $\Sigma_B$ kept for NC1.
    pub rank_nc1: usize,
    /// $\mathrm{Tr}\,SS_w = \frac1n\sum_i\|x_i-\bar x_{y_i}\|^2$.
    pub trace_within: f64,
    /// $\mathrm{Tr}\,SS_b = \frac1n\sum_k n_k\|\bar x_k-\bar x\|^2$.
    pub trace_between: f64,
    /// NC2 equinorm: $\mathrm{std}_k\|\mu_k-\mu_G\| / \mathrm{mean}_k\|\mu_k-\mu_G\|$, with the
    /// sample (ddof = 1) standard deviation as in Papyan's notebook (`torch.std`).
    pub equinorm: f64,
    /// NC2 equiangularity: mean over $k\ne k'$ of $|\cos(\mu_k-\mu_G,\mu_{k'}-\mu_G) + \frac1{K-1}|$
    /// (0 for a simplex ETF). `None` (see `notes`) when some $\|\mu_k-\mu_G\|$ is (near) zero.
    pub equiangularity: Option<f64>,
    /// $\|G/\|G\|_F - (I-\mathbf 1\mathbf 1^\top/K)/\sqrt{K-1}\|_F$ with $G$ the K×K Gram matrix of
    /// the centred means $\mu_k-\mu_G$ (Zhu et al., NeurIPS 2021, NC2 form).
    pub etf_distance: f64,
    /// NC1 as a trace quotient (Tirer, Huang & Niles-Weed, ICML 2023; `"quotient"` of the
    /// neural-collapse library): $\mathrm{Tr}\,\Sigma_W / \mathrm{Tr}\,\Sigma_B$ with the
    /// $\Sigma_W$ and unweighted $\Sigma_B$ of [`Separation::nc1`].
    pub nc1_quotient: f64,
    /// Class-distance normalised variance (Galanti, György & Hutter, ICLR 2022): the mean over
    /// class pairs $k<k'$ of $(V_k + V_{k'}) / (2\|\mu_k-\mu_{k'}\|^2)$, $V_k$ =
    /// `class_variance[k]`. `None` (see `notes`) when two class means coincide or the per-class
    /// sums are not available (one-pass accumulator).
    pub cdnv: Option<f64>,
    /// $V_k = \frac1{n_k}\sum_{i:y_i=k}\|x_i-\mu_k\|^2$ per class (empty without per-class sums).
    pub class_variance: Vec<f64>,
    /// Per-class fuzziness $D_k = \mathrm{Tr}(SS_{w,k}SS_b^+)$ with
    /// $SS_{w,k} = \frac1{n_k}\sum_{i:y_i=k}(x_i-\mu_k)(x_i-\mu_k)^\top$, so
    /// $D = \sum_k \frac{n_k}{n} D_k$: which classes are fuzzy (empty without per-class sums).
    pub class_fuzziness: Vec<f64>,
    /// Generalised NC2, hyperspherical uniformity with the **logarithmic kernel** (Liu et al.,
    /// "Generalizing and decoupling neural collapse via hyperspherical uniformity gap", ICLR
    /// 2023): the mean over class pairs of $\log(1/\|\hat\mu_k-\hat\mu_{k'}\|)$,
    /// $\hat\mu_k = (\mu_k-\mu_G)/\|\mu_k-\mu_G\|$ (the hyperspherical energy; lower is more
    /// uniform). `None` when a centred mean is zero or two coincide.
    pub gnc2_log_energy: Option<f64>,
    /// The variance over class pairs of the same log-kernel values (`nc2g_log` of the
    /// neural-collapse library: 0 when the normalised means are equidistant).
    pub gnc2_log_variance: Option<f64>,
    /// NC4 without a classifier: the fraction of samples whose nearest class mean
    /// $\arg\min_k\|x_i-\mu_k\|$ is their own class (`None` without per-class sums).
    pub ncc_accuracy: Option<f64>,
    /// NC4 against the model's predictions, when given: the fraction of samples whose nearest
    /// class mean is the predicted class.
    pub ncc_agreement: Option<f64>,
    /// The relative cut-off `rank_tolerance` used for the pseudo-inverse of $SS_b$.
    pub rank_tolerance: f64,
    /// $s_{\mathrm{rank}}/s_1$: the smallest kept singular value of $SS_b^{1/2}$ relative to the
    /// largest. Close to `rank_tolerance` means a near-degenerate between-class scatter.
    pub min_singular_ratio: f64,
    /// NC5 (Ammar et al., "NECO: NEural Collapse based Out-of-distribution detection", ICLR
    /// 2024; `orthogonality_deviation` of the neural-collapse library): the mean over classes
    /// of $|\cos(\mu_k, \mu_G^{\mathrm{OOD}})|$, with the uncentred class means and the global
    /// mean of an out-of-distribution set, when one is given ([`Separation::set_ood_mean`]).
    pub ood_deviation: Option<f64>,
    /// Human-readable notes on undefined quantities.
    pub notes: Vec<String>,
    /// Class means (K×p, f64); see [`Separation::class_means`].
    #[serde(skip)]
    pub(crate) class_means: Mat<f64>,
    /// Sufficient statistics of the grouped bootstrap, when kept.
    #[serde(skip)]
    pub(crate) bootstrap: Option<BootstrapGroups>,
}

impl Separation {
    /// The class means $\bar x_k$ as a K×p f64 matrix (row k = class k).
    pub fn class_means(&self) -> MatRef<'_, f64> {
        self.class_means.as_ref()
    }

    /// The grouped-bootstrap statistics of this layer ([`crate::bootstrap_law`]), when kept
    /// (two-pass measurements with $8KG(1+r+r(r+1)/2) \le 64$ MiB).
    pub fn bootstrap_groups(&self) -> Option<&BootstrapGroups> {
        self.bootstrap.as_ref()
    }

    /// Sets NC5, [`Separation::ood_deviation`], from the global mean of this layer's features
    /// on an out-of-distribution set.
    ///
    /// Errors: a length other than $p$ ([`GeometryError::ShapeMismatch`]), a non-finite
    /// entry, a zero mean or a zero class mean ([`GeometryError::InvalidOption`]).
    pub fn set_ood_mean(&mut self, ood_mean: &[f64]) -> Result<()> {
        self.ood_deviation = Some(orthogonality_deviation(
            self.class_means.as_ref(),
            ood_mean,
        )?);
        Ok(())
    }
}

/// Computes [`Separation`] for features `x` (n×p, rows = samples, any strides).
///
/// Algorithm (exact, no p×p matrix): pass 1 computes class means in f64; an orthonormal
/// basis $Q$ (p×r, $r\le\min(p,K-1)$) of the span of the centred class means comes from a thin
/// SVD ($O(pK^2)$); pass 2 accumulates $Q^\top SS_w Q$ from one GEMM per row block
/// ($O(npr)$); then
/// $D = \sum_{j\le\mathrm{rank}} u_j^\top (Q^\top SS_w Q) u_j / s_j^2$ where
/// $Q^\top M_w = U S V^\top$, and NC1 likewise with the unweighted means. Both passes run in
/// parallel over row chunks with fixed boundaries (deterministic). All accumulation is in f64.
///
/// Cost: the features are read twice (memory-bound for small K); extra memory is the K×p
/// means, $Q$ and one $K\times p$ f64 partial sum per row chunk (chunk count capped so that
/// these stay under 64 MiB), i.e. $O(pK)$ — never $O(p^2)$. Pass 1 groups each tile of 32
/// rows by class and sums a class's rows in registers before touching its class sum. On x86-64
/// with AVX-512 and $r \le 12$ (K ≤ 13), pass 2 centres, widens and projects each contiguous
/// row in one fused kernel; both passes prefetch the next tile of rows while they compute the
/// current one. AVX2 and portable kernels serve other CPUs. Reading the features only once would
/// need $p\times p$ second moments ($O(np^2)$ time), since $Q$ depends on every class mean;
/// the streaming [`crate::MultiLayerAccumulator`] does that. For several layers sharing labels,
/// [`crate::separation_layers`] gives the same results faster (see BENCHMARKS.md).
///
/// Accuracy: for f64 input the result agrees with the dense reference
/// ([`crate::reference`]) to ~1e-12 relative; f32 input is widened exactly to f64 (in
/// registers, never copied), so the only error is f64 rounding as well.
///
/// Errors: `labels.len() != n` ([`GeometryError::LengthMismatch`]), $p = 0$, a NaN/Inf
/// feature ([`GeometryError::NonFiniteFeature`] with row and column), all class means equal
/// ([`GeometryError::ZeroBetweenClass`]), an invalid option.
pub fn separation<T: Scalar>(
    x: MatRef<'_, T>,
    labels: &Labels,
    opts: &SeparationOptions,
) -> Result<Separation> {
    opts.validate()?;
    if x.nrows() != labels.len() {
        return Err(GeometryError::LengthMismatch {
            rows: x.nrows(),
            labels: labels.len(),
        });
    }
    if x.ncols() == 0 {
        return Err(GeometryError::ZeroDimension);
    }
    let counts = labels.counts();
    let means = class_means(x, labels.as_slice(), counts)?;
    let q = between_basis(means.as_ref(), counts, opts.rank_tolerance)?;
    let plan = WithinPlan::new(Isa::selected(), means.as_ref(), counts, q.as_ref(), opts);
    let within = project_within(x, &RowsOf::labels(labels.as_slice()), &plan)?;
    assemble(
        means,
        counts,
        q.as_ref(),
        within.scatter.as_ref(),
        within.sum_squares,
        ProjectedWithin::class_stats_if(within.class_stats, &plan),
        opts,
    )
}

/// Final $O(pK^2)$ step shared by the batch and streaming paths: given class means, class
/// sizes, the basis $Q$, the unnormalised projected within scatter
/// $\sum_i Q^\top z_i z_i^\top Q$, $\sum_i\|z_i\|^2$ and, from two passes, the per-class sums,
/// produce every metric.
pub(crate) fn assemble(
    means: Mat<f64>,
    counts: &[usize],
    q: MatRef<'_, f64>,
    within_scatter: MatRef<'_, f64>,
    within_sum_squares: f64,
    class_stats: Option<ClassStats>,
    opts: &SeparationOptions,
) -> Result<Separation> {
    let (k, p) = (means.nrows(), means.ncols());
    let n: usize = counts.iter().sum();
    let nf = n as f64;
    let sw_q = Mat::from_fn(q.ncols(), q.ncols(), |a, b| within_scatter[(a, b)] / nf);

    let weighted = centred_means_weighted(means.as_ref(), counts);
    let unweighted = centred_means_unweighted(means.as_ref());
    let (fuzziness, rank, min_singular_ratio) = trace_against_pinv(
        sw_q.as_ref(),
        (q.transpose() * &weighted).as_ref(),
        opts.rank_tolerance,
    )?;
    let sigma_b_factor = Mat::from_fn(p, k, |j, c| unweighted[(j, c)] / (k as f64).sqrt());
    let (tr_nc1, rank_nc1, _) = trace_against_pinv(
        sw_q.as_ref(),
        (q.transpose() * &sigma_b_factor).as_ref(),
        opts.rank_tolerance,
    )?;

    let trace_between = weighted.squared_norm_l2();
    let norms: Vec<f64> = (0..k).map(|c| unweighted.col(c).norm_l2()).collect();
    let equinorm = coefficient_of_variation(&norms)
        .ok_or(GeometryError::ZeroBetweenClass { num_classes: k })?;
    let mut notes = Vec::new();
    let equiangularity = equiangularity(unweighted.as_ref());
    if equiangularity.is_none() {
        notes.push(
            "equiangularity undefined: some centred class mean ||mu_k - mu_G|| is (near) zero"
                .to_string(),
        );
    }
    let centred_gram = gram(unweighted.as_ref());
    let etf_distance = etf_distance_of_gram(centred_gram.as_ref())
        .ok_or(GeometryError::ZeroBetweenClass { num_classes: k })?;
    let family = family_metrics(
        centred_gram.as_ref(),
        counts,
        within_sum_squares / nf,
        class_stats.as_ref(),
        &mut notes,
    );
    let bootstrap = class_stats.and_then(|s| s.bootstrap);
    let result = Separation {
        dim: p,
        num_classes: k,
        num_samples: n,
        fuzziness,
        nc1: tr_nc1 / k as f64,
        rank,
        rank_nc1,
        trace_within: within_sum_squares / nf,
        trace_between,
        equinorm,
        equiangularity,
        etf_distance,
        nc1_quotient: family.nc1_quotient,
        cdnv: family.cdnv,
        class_variance: family.class_variance,
        class_fuzziness: family.class_fuzziness,
        gnc2_log_energy: family.gnc2_log_energy,
        gnc2_log_variance: family.gnc2_log_variance,
        ncc_accuracy: family.ncc_accuracy,
        ncc_agreement: family.ncc_agreement,
        rank_tolerance: opts.rank_tolerance,
        min_singular_ratio,
        ood_deviation: None,
        notes,
        class_means: means,
        bootstrap,
    };
    if !(result.fuzziness.is_finite() && result.nc1.is_finite() && result.trace_within.is_finite())
    {
        return Err(GeometryError::Overflow {
            quantity: "fuzziness",
        });
    }
    Ok(result)
}
