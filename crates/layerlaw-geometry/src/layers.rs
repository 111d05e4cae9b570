//! Every layer of a network at once: [`separation_layers`] overlaps pass 2 of one layer with
//! pass 1 of the next.
//!
//! Per layer, [`separation`](crate::separation) reads the features twice: pass 1 (class sums)
//! is bound by memory and leaves the arithmetic units mostly idle, pass 2 (projection on the
//! between-class basis $Q$, $r\le K-1$ multiply-adds per value) is bound by arithmetic. Pass 2
//! of layer $l$ cannot start before pass 1 of layer $l$ ends ($Q$ depends on every class
//! mean), but nothing stops it from running beside pass 1 of layer $l+1$. Each worker takes
//! the same row chunk of both layers and alternates tiles of the two passes, keeping the
//! fractions of the two chunks read equal, so the arithmetic of one pass runs while the other
//! waits for memory. Tiles and chunks are those of [`separation`](crate::separation), and the
//! partial sums are added in the same order, so every layer's result is bit-for-bit the one
//! [`separation`](crate::separation) gives.

use faer::{Mat, MatRef};
use rayon::prelude::*;

use crate::between::between_basis;
use crate::blocks::chunk_ranges;
use crate::class_means::{class_means, means_from_chunks, SumChunk};
use crate::error::{GeometryError, Result};
use crate::kernels::Isa;
use crate::labels::Labels;
use crate::projection::{
    project_within, within_from_chunks, ProjectedWithin, RowsOf, WithinChunk, WithinPartial,
    WithinPlan,
};
use crate::scalar::Scalar;
use crate::separation::{assemble, Separation, SeparationOptions};

/// One layer's features (n×p, rows = samples, any strides), of either element type.
#[derive(Debug, Clone, Copy)]
pub enum LayerFeatures<'a> {
    /// Single precision (widened to f64 in registers).
    F32(MatRef<'a, f32>),
    /// Double precision.
    F64(MatRef<'a, f64>),
}

impl<'a> From<MatRef<'a, f32>> for LayerFeatures<'a> {
    fn from(x: MatRef<'a, f32>) -> Self {
        LayerFeatures::F32(x)
    }
}

impl<'a> From<MatRef<'a, f64>> for LayerFeatures<'a> {
    fn from(x: MatRef<'a, f64>) -> Self {
        LayerFeatures::F64(x)
    }
}

impl LayerFeatures<'_> {
    /// Number of samples (rows).
    pub fn nrows(&self) -> usize {
        match self {
            LayerFeatures::F32(x) => x.nrows(),
            LayerFeatures::F64(x) => x.nrows(),
        }
    }

    /// Feature dimension (columns).
    pub fn ncols(&self) -> usize {
        match self {
            LayerFeatures::F32(x) => x.ncols(),
            LayerFeatures::F64(x) => x.ncols(),
        }
    }
}

/// [`Separation`] of every layer, sharing one set of labels: element $l$ of the result is
/// exactly (bit for bit) `separation(layers[l], labels, opts)`, including its error, if any.
///
/// Same definitions, accuracy and $O(pK)$ extra memory per layer in flight as
/// [`separation`](crate::separation) (two layers are in flight at a time). Faster when there
/// are several layers: pass 2 of layer $l$ (arithmetic-bound) runs alongside pass 1 of layer
/// $l+1$ (memory-bound) on the same workers; see the module documentation. A layer that fails
/// (wrong number of rows, NaN, all class means equal, …) does not stop the others.
pub fn separation_layers(
    layers: &[LayerFeatures<'_>],
    labels: &Labels,
    opts: &SeparationOptions,
) -> Vec<Result<Separation>> {
    separation_layers_with_predictions(layers, labels, None, opts)
}

/// [`separation_layers`], also counting, per layer, how often the nearest class mean is the
/// model's prediction (`predictions`: one class per row, e.g. the argmax of its logits):
/// [`Separation::ncc_agreement`]. A prediction $\ge K$ or a length other than the labels' is
/// an error of every layer ([`GeometryError::LabelOutOfRange`],
/// [`GeometryError::LengthMismatch`]).
pub fn separation_layers_with_predictions(
    layers: &[LayerFeatures<'_>],
    labels: &Labels,
    predictions: Option<&[usize]>,
    opts: &SeparationOptions,
) -> Vec<Result<Separation>> {
    let mut results: Vec<Option<Result<Separation>>> = (0..layers.len()).map(|_| None).collect();
    if let Err(e) = opts
        .validate()
        .and_then(|()| check_predictions(predictions, labels))
    {
        return results.into_iter().map(|_| Err(e.clone())).collect();
    }
    for (slot, x) in results.iter_mut().zip(layers) {
        if x.nrows() != labels.len() {
            *slot = Some(Err(GeometryError::LengthMismatch {
                rows: x.nrows(),
                labels: labels.len(),
            }));
        } else if x.ncols() == 0 {
            *slot = Some(Err(GeometryError::ZeroDimension));
        }
    }
    let counts = labels.counts();
    // The layer whose pass 1 is done and whose pass 2 runs in the next step.
    let mut pending: Option<(usize, Mat<f64>, Mat<f64>)> = None;
    // The layer whose passes are done: its final O(pK^2) step runs beside the next sweep.
    let mut finished: Option<Finished> = None;
    for step in 0..=layers.len() + 1 {
        let next = (step < layers.len() && results[step].is_none()).then_some(step);
        let plan = pending.as_ref().map(|(_, means, q)| {
            WithinPlan::new(Isa::selected(), means.as_ref(), counts, q.as_ref(), opts)
        });
        let (assembled, (within, means)) = rayon::join(
            || {
                finished.take().map(|(l, means, q, within)| {
                    let sep = within.and_then(|w| {
                        assemble(
                            means,
                            counts,
                            q.as_ref(),
                            w.scatter.as_ref(),
                            w.sum_squares,
                            opts.per_class.then_some(w.class_stats),
                            opts,
                        )
                    });
                    (l, sep)
                })
            },
            || match (&pending, &plan, next) {
                (Some((l, _, _)), Some(plan), Some(s)) => {
                    both(layers[*l], plan, layers[s], labels, predictions)
                }
                (Some((l, _, _)), Some(plan), None) => {
                    (Some(pass2(layers[*l], plan, labels, predictions)), None)
                }
                (None, _, Some(s)) => (None, Some(pass1(layers[s], labels))),
                _ => (None, None),
            },
        );
        if let Some((l, sep)) = assembled {
            results[l] = Some(sep);
        }
        if let (Some((l, means, q)), Some(within)) = (pending.take(), within) {
            finished = Some((l, means, q, within));
        }
        if let (Some(s), Some(means)) = (next, means) {
            match means.and_then(|m| {
                let q = between_basis(m.as_ref(), counts, opts.rank_tolerance)?;
                Ok((m, q))
            }) {
                Ok((m, q)) => pending = Some((s, m, q)),
                Err(e) => results[s] = Some(Err(e)),
            }
        }
    }
    results
        .into_iter()
        .map(|r| r.expect("every layer is measured or has failed"))
        .collect()
}

/// A layer whose two passes are done: index, class means, basis Q and projected within scatter.
type Finished = (usize, Mat<f64>, Mat<f64>, Result<ProjectedWithin>);

/// Pass 1 alone (the first layer).
fn pass1(x: LayerFeatures<'_>, labels: &Labels) -> Result<Mat<f64>> {
    match x {
        LayerFeatures::F32(x) => class_means(x, labels.as_slice(), labels.counts()),
        LayerFeatures::F64(x) => class_means(x, labels.as_slice(), labels.counts()),
    }
}

/// Pass 2 alone (the last layer).
fn pass2(
    x: LayerFeatures<'_>,
    plan: &WithinPlan,
    labels: &Labels,
    predictions: Option<&[usize]>,
) -> Result<ProjectedWithin> {
    let rows = RowsOf {
        labels: labels.as_slice(),
        predictions,
        index_offset: 0,
    };
    match x {
        LayerFeatures::F32(x) => project_within(x, &rows, plan),
        LayerFeatures::F64(x) => project_within(x, &rows, plan),
    }
}

/// A length other than the labels', or a prediction $\ge K$.
fn check_predictions(predictions: Option<&[usize]>, labels: &Labels) -> Result<()> {
    match predictions {
        None => Ok(()),
        Some(pred) => crate::two_pass::check_predictions(pred, labels.len(), labels.num_classes()),
    }
}

/// Pass 2 of layer `a` and pass 1 of layer `b`, interleaved.
fn both(
    a: LayerFeatures<'_>,
    plan: &WithinPlan,
    b: LayerFeatures<'_>,
    labels: &Labels,
    predictions: Option<&[usize]>,
) -> (Option<Result<ProjectedWithin>>, Option<Result<Mat<f64>>>) {
    let (within, means) = match (a, b) {
        (LayerFeatures::F32(a), LayerFeatures::F32(b)) => {
            interleaved(a, plan, b, labels, predictions)
        }
        (LayerFeatures::F32(a), LayerFeatures::F64(b)) => {
            interleaved(a, plan, b, labels, predictions)
        }
        (LayerFeatures::F64(a), LayerFeatures::F32(b)) => {
            interleaved(a, plan, b, labels, predictions)
        }
        (LayerFeatures::F64(a), LayerFeatures::F64(b)) => {
            interleaved(a, plan, b, labels, predictions)
        }
    };
    (Some(within), Some(means))
}

/// One parallel sweep: worker `j` takes chunk `j` of both layers (chunking as in the
/// single-layer passes) and alternates their tiles, stepping whichever pass has read the
/// smaller fraction of its chunk.
fn interleaved<TA: Scalar, TB: Scalar>(
    a: MatRef<'_, TA>,
    plan: &WithinPlan,
    b: MatRef<'_, TB>,
    labels: &Labels,
    predictions: Option<&[usize]>,
) -> (Result<ProjectedWithin>, Result<Mat<f64>>) {
    let (n, k) = (labels.len(), labels.num_classes());
    let ys = labels.as_slice();
    let chunks_a = chunk_ranges(n, k, a.ncols());
    let chunks_b = chunk_ranges(n, k, b.ncols());
    type Partial = (Option<WithinPartial>, Option<Result<Vec<f64>>>);
    let partials: Vec<Partial> = (0..chunks_a.len().max(chunks_b.len()))
        .into_par_iter()
        .map(|j| {
            let mut wa = chunks_a
                .get(j)
                .map(|rows| WithinChunk::new(plan, a, ys, predictions, 0, rows.clone()));
            let mut sb = chunks_b
                .get(j)
                .map(|rows| SumChunk::new(b, ys, k, rows.clone()));
            if let (Some(w), Some(s)) = (wa.as_mut(), sb.as_mut()) {
                let (len_a, len_b) = (w.remaining(), s.remaining());
                loop {
                    let a_ahead = (len_a - w.remaining()) * len_b > (len_b - s.remaining()) * len_a;
                    // Step the pass that is behind; once one chunk is done, the other.
                    let stepped = if a_ahead { s.step() } else { w.step() };
                    if !stepped && !w.step() && !s.step() {
                        break;
                    }
                }
            }
            (wa.map(WithinChunk::finish), sb.map(SumChunk::finish))
        })
        .collect();
    let (within, sums): (Vec<_>, Vec<_>) = partials.into_iter().unzip();
    (
        within_from_chunks(within.into_iter().flatten(), plan),
        means_from_chunks(sums.into_iter().flatten(), labels.counts(), b.ncols()),
    )
}
