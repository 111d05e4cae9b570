//! The law of equi-separation: $D_l \approx \rho^l D_0$ (He & Su, PNAS 2023).

use serde::Serialize;

use crate::error::{GeometryError, Result};

/// Least-squares fit of $\ln D_l = \ln D_0 + l\ln\rho$ over layers $l = 0, \dots, L-1$.
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
}

/// Fits the law to fuzziness values `d[l]`, $l = 0..L$.
///
/// Errors: fewer than two values ([`GeometryError::TooFewLayers`]); a value that is not finite
/// and positive ([`GeometryError::InvalidFuzziness`], naming the layer).
pub fn fit_law(d: &[f64]) -> Result<LawFit> {
    if d.len() < 2 {
        return Err(GeometryError::TooFewLayers { points: d.len() });
    }
    if let Some((layer, &value)) = d
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v > 0.0))
    {
        return Err(GeometryError::InvalidFuzziness { layer, value });
    }
    let y: Vec<f64> = d.iter().map(|v| v.ln()).collect();
    let m = y.len() as f64;
    let x_mean = (m - 1.0) / 2.0;
    let y_mean = y.iter().sum::<f64>() / m;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for (l, &yl) in y.iter().enumerate() {
        let dx = l as f64 - x_mean;
        let dy = yl - y_mean;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    let slope = sxy / sxx;
    let intercept = y_mean - slope * x_mean;
    let ss_res: f64 = y
        .iter()
        .enumerate()
        .map(|(l, &yl)| {
            let e = yl - (intercept + slope * l as f64);
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
    })
}
