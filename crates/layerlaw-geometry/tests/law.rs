//! The law fit on exact geometric sequences and degenerate inputs.
use layerlaw_geometry::{fit_law, GeometryError};

#[test]
fn exact_geometric_decay_is_recovered() {
    let d: Vec<f64> = (0..7).map(|l| 20.0 * 0.6f64.powi(l)).collect();
    let fit = fit_law(&d).unwrap();
    assert!((fit.rho - 0.6).abs() < 1e-14);
    assert!((fit.intercept - 20f64.ln()).abs() < 1e-13);
    assert!((fit.r2 - 1.0).abs() < 1e-14);
    assert!((fit.pearson_r.unwrap() + 1.0).abs() < 1e-14);
    assert!(fit.ratios.iter().all(|r| (r - 0.6).abs() < 1e-14));
}

#[test]
fn two_points_fit_exactly_and_constant_d_has_no_correlation() {
    let fit = fit_law(&[4.0, 1.0]).unwrap();
    assert!((fit.rho - 0.25).abs() < 1e-15);
    assert_eq!(fit.pearson_r, Some(-1.0));
    let flat = fit_law(&[2.5, 2.5, 2.5]).unwrap();
    assert_eq!(flat.slope, 0.0);
    assert_eq!(flat.r2, 1.0);
    assert_eq!(flat.pearson_r, None);
}

#[test]
fn invalid_inputs_name_the_layer() {
    assert_eq!(
        fit_law(&[1.0]),
        Err(GeometryError::TooFewLayers { points: 1 })
    );
    assert_eq!(fit_law(&[]), Err(GeometryError::TooFewLayers { points: 0 }));
    assert_eq!(
        fit_law(&[1.0, 0.5, 0.0]),
        Err(GeometryError::InvalidFuzziness {
            layer: 2,
            value: 0.0
        })
    );
    assert_eq!(
        fit_law(&[1.0, -0.5]),
        Err(GeometryError::InvalidFuzziness {
            layer: 1,
            value: -0.5
        })
    );
    assert!(matches!(
        fit_law(&[f64::NAN, 1.0]),
        Err(GeometryError::InvalidFuzziness { layer: 0, .. })
    ));
    assert!(matches!(
        fit_law(&[1.0, f64::INFINITY]),
        Err(GeometryError::InvalidFuzziness { layer: 1, .. })
    ));
}

/// Fits over chosen layers, against an independent computation with NumPy 2.4.6:
///
/// ```python
/// import numpy as np
/// d = np.array([12.5, 6.1, 3.3, 1.55, 0.8, 0.41, 0.37])
/// for idx in ([1, 2, 3, 4, 5, 6], [0, 2, 3, 4, 5], [2, 6]):
///     l = np.array(idx, dtype=float)
///     slope, intercept = np.polyfit(l, np.log(d[idx]), 1)
///     res = np.log(d) - (intercept + slope * np.arange(len(d)))
///     r = np.corrcoef(l, np.log(d[idx]))[0, 1]
///     y = np.log(d[idx]); pred = intercept + slope * l
///     r2 = 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
///     print(idx, slope, intercept, r2, r, list(res))
/// ```
#[test]
fn fits_over_chosen_layers_match_numpy_polyfit() {
    use layerlaw_geometry::{fit_law_at, FitLayers};
    let d = [12.5, 6.1, 3.3, 1.55, 0.8, 0.41, 0.37];
    #[allow(clippy::type_complexity)]
    let cases: [(&str, f64, f64, f64, f64, [f64; 7]); 3] = [
        (
            "1..",
            -0.5980190133751337,
            2.314978584586466,
            0.9740450431844893,
            -0.986937203262948,
            [
                0.21075005972178973,
                0.09132919996793332,
                0.07498191063623616,
                -0.08266661352990934,
                -0.1460460824001406,
                -0.21648163699458078,
                0.2788832223204697,
            ],
        ),
        (
            "0,2..5",
            -0.6870821159902841,
            2.532462799395567,
            0.9996304893493151,
            -0.9998152276042382,
            [
                -0.006734155087311233,
                -0.037091912226017154,
                0.03562390105743596,
                -0.03296152049355927,
                -0.00727788674864005,
                0.011349661272070266,
                0.5957776232022708,
            ],
        ),
        (
            "6,2",
            -0.5470436854540752,
            2.2880098393805848,
            1.0,
            -0.9999999999999999,
            [
                0.23771880492767083,
                0.0673226172527559,
                0.0,
                -0.2086238520872038,
                -0.3229786488784936,
                -0.4443895313939923,
                0.0,
            ],
        ),
    ];
    for (spec, slope, intercept, r2, r, residuals) in cases {
        let layers = spec.parse::<FitLayers>().unwrap().resolve(d.len()).unwrap();
        let fit = fit_law_at(&d, &layers).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
        assert!(close(fit.slope, slope), "{spec}: slope {}", fit.slope);
        assert!(close(fit.intercept, intercept), "{spec}: {}", fit.intercept);
        assert!(close(fit.rho, slope.exp()), "{spec}");
        assert!(close(fit.r2, r2), "{spec}: r2 {}", fit.r2);
        assert!(close(fit.pearson_r.unwrap(), r), "{spec}");
        assert_eq!(fit.fit_layers, layers);
        assert_eq!(fit.residuals.len(), d.len());
        for (l, (&a, &b)) in fit.residuals.iter().zip(&residuals).enumerate() {
            assert!(close(a, b), "{spec}: residual {l}: {a} vs {b}");
        }
        // Every ratio is still over all layers.
        assert_eq!(fit.ratios.len(), d.len() - 1);
    }
    // Fitting every layer is fit_law, bit for bit.
    let all: Vec<usize> = (0..d.len()).collect();
    assert_eq!(fit_law_at(&d, &all).unwrap(), fit_law(&d).unwrap());
}

#[test]
fn layers_left_out_may_be_degenerate_but_fitted_ones_may_not() {
    use layerlaw_geometry::{fit_law_at, FitLayersError};
    let d = [0.0, 4.0, 2.0, 1.0];
    let fit = fit_law_at(&d, &[1, 2, 3]).unwrap();
    assert!((fit.rho - 0.5).abs() < 1e-14);
    assert_eq!(fit.residuals[0], f64::NEG_INFINITY);
    assert!(fit.residuals[1..].iter().all(|r| r.abs() < 1e-14));
    assert_eq!(
        fit_law_at(&d, &[0, 1]),
        Err(GeometryError::InvalidFuzziness {
            layer: 0,
            value: 0.0
        })
    );
    assert_eq!(
        fit_law_at(&d, &[2, 2]),
        Err(GeometryError::TooFewLayers { points: 1 })
    );
    assert!(matches!(
        fit_law_at(&d, &[1, 4]),
        Err(GeometryError::FitLayers(FitLayersError::OutOfRange {
            index: 4,
            layers: 4,
            ..
        }))
    ));
}
