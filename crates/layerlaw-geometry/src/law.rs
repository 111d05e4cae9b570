//! The law of equi-separation: $D_l \approx \rho^l D_0$ (He & Su, PNAS 2023).

use serde::Serialize;

use crate::error::{GeometryError, Result};
use crate::fit_layers::FitLayersError;

/// Least-squares fit of $\ln D_l = \ln D_0 + l\ln\rho$ over layers $l = 0, \dots, L-1$, or over
/// a chosen subset of them ([`fit_law_at`], [`crate::FitLayers`]).
///
/// Over a subset, $l$ is each layer's real index (not renumbered), so $\rho$ stays the ratio
/// per layer; `slope`, `intercept`, `r2` and `pearson_r` are those of the fitted layers alone,
/// while `ratios` and `residuals` cover every layer.
///
/// Matches the official code (`utils.linear_regression`, `sklearn.LinearRegression` on
/// $\ln D$; `scipy.stats.pearsonr(l, \ln D)`); $r < 0$ when separation improves with depth.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LawFit {
    /// OLS slope $\ln\rho = \frac{\sum_l (l-\bar l)(\ln D_l - \overline{\ln D})}{\sum_l (l-\bar l)^2}$.
    pub slope: f64,
    /// OLS intercept, the fitted $\ln D_0$.
    pub intercept: f64,
    /// Decay ratio $\rho = e^{\mathrm{slope}}$.
    pub rho: f64,
    /// Coefficient of determination $R^2 = 1 - SS_{res}/SS_{tot}$; 1 when all $\ln D_l$ are
    /// equal (the fit is then exact), as `sklearn.metrics.r2_score` does.
    pub r2: f64,
    /// Pearson correlation of $l$ and $\ln D_l$; `None` when all $D_l$ are equal (scipy
    /// returns NaN there).
    pub pearson_r: Option<f64>,
    /// Layer-to-layer ratios $D_{l+1}/D_l$ (length $L-1$).
    pub ratios: Vec<f64>,
    /// The indices $l$ of the layers that entered the fit, increasing.
    pub fit_layers: Vec<usize>,
    /// $\ln D_l - (\mathrm{intercept} + \mathrm{slope}\cdot l)$ for every layer $l = 0..L$,
    /// fitted or not (length $L$). A layer left out of the fit with $D_l \le 0$ has a
    /// non-finite residual (`null` in JSON).
    pub residuals: Vec<f64>,
}

/// Fits the law to fuzziness values `d[l]`, $l = 0..L$, over every layer.
///
/// Errors: fewer than two values ([`GeometryError::TooFewLayers`]); a value that is not finite
/// and positive ([`GeometryError::InvalidFuzziness`], naming the layer).
pub fn fit_law(d: &[f64]) -> Result<LawFit> {
    let all: Vec<usize> = (0..d.len()).collect();
    fit_law_at(d, &all)
}

/// Fits the law to fuzziness values `d[l]` over the layers `layers` only (indices into `d`, in
/// any order; duplicates are merged), at their real indices $l$; residuals and ratios cover
/// every layer of `d`.
///
/// Errors: an index $\ge$ `d.len()` ([`GeometryError::FitLayers`]); fewer than two distinct
/// layers ([`GeometryError::TooFewLayers`]); a fitted layer whose value is not finite and
/// positive ([`GeometryError::InvalidFuzziness`], naming the layer). Layers left out of the fit
/// may hold any value.
pub fn fit_law_at(d: &[f64], layers: &[usize]) -> Result<LawFit> {
    if let Some(&index) = layers.iter().find(|&&l| l >= d.len()) {
        return Err(GeometryError::FitLayers(FitLayersError::OutOfRange {
            token: index.to_string(),
            index,
            layers: d.len(),
        }));
    }
    let mut fitted = layers.to_vec();
    fitted.sort_unstable();
    fitted.dedup();
    if fitted.len() < 2 {
        return Err(GeometryError::TooFewLayers {
            points: fitted.len(),
        });
    }
    if let Some(&layer) = fitted.iter().find(|&&l| !(d[l].is_finite() && d[l] > 0.0)) {
        return Err(GeometryError::InvalidFuzziness {
            layer,
            value: d[layer],
        });
    }
    let points: Vec<(f64, f64)> = fitted.iter().map(|&l| (l as f64, d[l].ln())).collect();
    let m = points.len() as f64;
    let x_mean = points.iter().map(|p| p.0).sum::<f64>() / m;
    let y_mean = points.iter().map(|p| p.1).sum::<f64>() / m;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for &(x, y) in &points {
        let dx = x - x_mean;
        let dy = y - y_mean;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    let slope = sxy / sxx;
    let intercept = y_mean - slope * x_mean;
    let residual = |x: f64, y: f64| y - (intercept + slope * x);
    let ss_res: f64 = points
        .iter()
        .map(|&(x, y)| {
            let e = residual(x, y);
            e * e
        })
        .sum();
    let (r2, pearson_r) = if syy > 0.0 {
        (
            1.0 - ss_res / syy,
            Some((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)),
        )
    } else {
        (1.0, None)
    };
    Ok(LawFit {
        slope,
        intercept,
        rho: slope.exp(),
        r2,
        pearson_r,
        ratios: d.windows(2).map(|w| w[1] / w[0]).collect(),
        residuals: d
            .iter()
            .enumerate()
            .map(|(l, v)| residual(l as f64, v.ln()))
            .collect(),
        fit_layers: fitted,
    })
}
