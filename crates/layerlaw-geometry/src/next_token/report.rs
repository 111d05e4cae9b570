//! Every layer's prediction residual and the law $\mathrm{PR}_l \approx \rho^l\,\mathrm{PR}_0$
//! fitted over them.

use serde::Serialize;

use super::{PredictionResidual, PredictionResidualReport, PredictionTarget};
use crate::error::{GeometryError, Result};
use crate::law::{fit_law, LawFit};
use crate::named_layer::NamedLayer;

/// What the reports say the prediction residual is, next to the numbers.
pub const NEXT_TOKEN_DEFINITION: &str = "He & Su (arXiv:2408.13442): PR = min_{W,b} ||Y - XW - 1b^T||_F^2 / ||Y - mean(Y)||_F^2 \
     over the token positions (last position of each sequence dropped), Y = next token: one-hot (the paper's wording) \
     or token id (the official code: LinearRegression on ids, MSE / var(ids)); law: least squares of ln PR_l on l \
     over the fitted layers (by default all but layer 0, the embeddings, when there are >= 3 layers)";

/// Which layers the law is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NextTokenFit {
    /// As the official code: every layer but layer 0 (the embeddings) when there are at least 3
    /// layers, all layers otherwise.
    #[default]
    Auto,
    /// Every layer, $l = 0, \dots, L-1$.
    All,
    /// Layers `start..end` (end excluded).
    Range {
        /// First fitted layer.
        start: usize,
        /// One past the last fitted layer.
        end: usize,
    },
}

impl NextTokenFit {
    /// The fitted layers among `num_layers`, as `start..end`.
    ///
    /// Errors ([`GeometryError::InvalidFitLayers`]): a range that is empty or reaches past the
    /// last layer.
    pub fn resolve(self, num_layers: usize) -> Result<std::ops::Range<usize>> {
        let (start, end) = match self {
            NextTokenFit::Auto if num_layers >= 3 => (1, num_layers),
            NextTokenFit::Auto | NextTokenFit::All => (0, num_layers),
            NextTokenFit::Range { start, end } => (start, end),
        };
        if start >= end || end > num_layers {
            return Err(GeometryError::InvalidFitLayers {
                start,
                end,
                num_layers,
            });
        }
        Ok(start..end)
    }
}

/// The law fitted on a range of layers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextTokenLaw {
    /// Indices of the fitted layers, in order (consecutive).
    pub layers: Vec<usize>,
    /// Least squares of $\ln\mathrm{PR}$ on the position among the fitted layers, $0, 1, \dots$:
    /// the slope is $\ln\rho$ per layer, the intercept the fitted $\ln\mathrm{PR}$ of the
    /// first fitted layer (as [`fit_law`]).
    pub fit: LawFit,
    /// $\mathrm{PR}_{\text{last}}/\mathrm{PR}_{\text{first}}$ over the fitted layers.
    pub ratio_last_first: f64,
}

/// Fits $\ln\mathrm{PR}_l = a + l\ln\rho$ over the layers `fit` selects among `pr`.
///
/// Errors: the selection ([`NextTokenFit::resolve`]); fewer than two fitted layers
/// ([`GeometryError::TooFewLayers`]); a fitted PR that is not finite and positive
/// ([`GeometryError::InvalidPredictionResidual`], naming the layer).
pub fn fit_next_token_law(pr: &[f64], fit: NextTokenFit) -> Result<NextTokenLaw> {
    let range = fit.resolve(pr.len())?;
    let values = &pr[range.clone()];
    if let Some((i, &value)) = values
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v > 0.0))
    {
        return Err(GeometryError::InvalidPredictionResidual {
            layer: range.start + i,
            value,
        });
    }
    let law = fit_law(values)?;
    Ok(NextTokenLaw {
        layers: range.collect(),
        fit: law,
        ratio_last_first: values[values.len() - 1] / values[0],
    })
}

/// Every layer's prediction residual and the law over them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NextTokenReport {
    /// What PR is and how the law is fitted ([`NEXT_TOKEN_DEFINITION`]).
    pub definition: &'static str,
    /// Regression target of every layer.
    pub target: PredictionTarget,
    /// Vocabulary size V.
    pub vocab: usize,
    /// Token positions n.
    pub rows: u64,
    /// One report per layer, in depth order.
    pub layers: Vec<PredictionResidualReport>,
    /// The law fit; `None` when it cannot be fitted (then `notes` says why).
    pub law: Option<NextTokenLaw>,
    /// Why the law is missing, if it is.
    pub notes: Vec<String>,
}

/// Assembles the per-layer reports (in depth order, one target and vocabulary) and fits the
/// law over the layers `fit` selects; a law that cannot be fitted is `None`, with a note.
pub fn next_token_report(
    layers: Vec<PredictionResidualReport>,
    fit: NextTokenFit,
) -> NextTokenReport {
    let pr: Vec<f64> = layers.iter().map(|l| l.pr).collect();
    let (law, notes) = match fit_next_token_law(&pr, fit) {
        Ok(law) => (Some(law), Vec::new()),
        Err(e) => (None, vec![format!("no law fit: {e}")]),
    };
    let first = layers.first();
    NextTokenReport {
        definition: NEXT_TOKEN_DEFINITION,
        target: first.map_or_else(PredictionTarget::default, |l| l.target),
        vocab: first.map_or(0, |l| l.vocab),
        rows: first.map_or(0, |l| l.rows),
        layers,
        law,
        notes,
    }
}

/// The prediction residual of every layer, all with the same next-token ids (`next_tokens[j]`
/// follows row `j` of every layer), and the law fit: one [`PredictionResidual`] per layer, fed
/// all rows at once.
///
/// Errors: the first layer's error, naming it (see [`PredictionResidual::update`] and
/// [`PredictionResidual::finish`]).
pub fn prediction_residual_layers(
    layers: &[NamedLayer<'_>],
    next_tokens: &[usize],
    vocab: usize,
    target: PredictionTarget,
    fit: NextTokenFit,
) -> Result<NextTokenReport> {
    let mut reports = Vec::with_capacity(layers.len());
    for layer in layers {
        let mut acc = PredictionResidual::new(layer.name, layer.ncols(), vocab, target)?;
        acc.update(layer.features, next_tokens)?;
        reports.push(acc.finish()?);
    }
    Ok(next_token_report(reports, fit))
}
