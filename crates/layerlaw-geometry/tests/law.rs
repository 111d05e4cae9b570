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
