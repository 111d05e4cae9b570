//! Layer-by-layer geometry shared by `measure`, `law` and `imbalance`: D and the neural-collapse metrics of every
//! layer, the law-of-equi-separation fit, and the classifier geometry.

use faer::MatRef;
use layerlaw_geometry::{
    classifier_geometry, fit_law, neural_collapse_classifier, separation_layers,
    ClassifierCollapse, ClassifierGeometry, GeometryError, Labels, LawFit, LayerFeatures,
    Separation, SeparationOptions,
};
pub use layerlaw_geometry::{Definitions, DEFINITIONS};
use serde::Serialize;

use crate::error::CliError;

/// Borrowed features of one layer: n × dim.
pub enum LayerData<'a> {
    /// Single precision, row-major.
    F32(&'a [f32]),
    /// Double precision, row-major.
    F64(&'a [f64]),
    /// A matrix view with any strides (a layer read from a file, viewed in place).
    Matrix(LayerFeatures<'a>),
}

/// One layer to analyse.
pub struct LayerInput<'a> {
    /// Display name.
    pub name: String,
    /// Feature dimension p.
    pub dim: usize,
    /// The n × p features.
    pub data: LayerData<'a>,
}

/// The report of one layer, as printed by `--json`.
#[derive(Clone, Debug, Serialize)]
pub struct LayerReport {
    /// Layer name (file key or block name).
    pub name: String,
    /// Position l in the law fit (0 = first layer given).
    pub index: usize,
    /// All geometry of the layer: `dim`, `fuzziness` (He–Su D), `nc1` (Papyan), NC2, ranks, traces.
    #[serde(flatten)]
    pub separation: Separation,
}

impl LayerReport {
    /// He–Su separation fuzziness D of this layer.
    pub fn fuzziness(&self) -> f64 {
        self.separation.fuzziness
    }
}

/// Measures every layer and fits the law over them in order.
///
/// With `degenerate_notes` (training runs), a layer whose class means are all equal to rounding (SS_b = 0, D
/// undefined; e.g. a deep net without BatchNorm that maps every input to the same point) ends the list: it and the
/// layers after it are left out of the report and the fit, and a note says so. Without it (user files), that layer
/// is an error.
pub fn analyse_layers(
    file: &str,
    layers: &[LayerInput<'_>],
    labels: &Labels,
    mut degenerate_notes: Option<&mut Vec<String>>,
) -> Result<(Vec<LayerReport>, Option<LawFit>), CliError> {
    let opts = SeparationOptions::default();
    let n = labels.len();
    // Every layer at once: pass 2 of one layer runs beside pass 1 of the next.
    let views: Vec<LayerFeatures<'_>> = layers
        .iter()
        .map(|layer| match layer.data {
            LayerData::F32(d) => MatRef::from_row_major_slice(d, n, layer.dim).into(),
            LayerData::F64(d) => MatRef::from_row_major_slice(d, n, layer.dim).into(),
            LayerData::Matrix(m) => m,
        })
        .collect();
    let separations = separation_layers(&views, labels, &opts);
    let mut reports = Vec::with_capacity(layers.len());
    for ((index, layer), sep) in layers.iter().enumerate().zip(separations) {
        let geometry_err = |source| CliError::Geometry {
            file: file.to_string(),
            layer: layer.name.clone(),
            source,
        };
        let sep = match (sep, degenerate_notes.as_deref_mut()) {
            (Ok(sep), _) => sep,
            (Err(GeometryError::ZeroBetweenClass { .. }), Some(notes)) => {
                notes.push(format!(
                    "layer {index} ('{}') and the layers after it were not measured: all class means are \
                     equal to rounding there (SS_b = 0), so D is undefined; the law fit uses layers 0..{}",
                    layer.name,
                    index.saturating_sub(1)
                ));
                break;
            }
            (Err(e), _) => return Err(geometry_err(e)),
        };
        reports.push(LayerReport {
            name: layer.name.clone(),
            index,
            separation: sep,
        });
    }
    let law = if reports.len() >= 2 {
        let d: Vec<f64> = reports.iter().map(LayerReport::fuzziness).collect();
        Some(fit_law(&d).map_err(|source| CliError::Analysis {
            context: format!("law fit over the layers of {file}"),
            source,
        })?)
    } else {
        None
    };
    Ok((reports, law))
}

/// Classifier metrics: NC3/NC4 against the last layer's features and the minority/majority group geometry.
#[derive(Clone, Debug, Serialize)]
pub struct ClassifierReport {
    /// NC3, NC4 and the classifier's own accuracy on these features.
    #[serde(flatten)]
    pub collapse: ClassifierCollapse,
    /// Cosines, distances and norms of the minority and majority classifier rows.
    pub groups: ClassifierGeometry,
}

/// Computes the classifier report for weight `w` (K × p, row-major) and optional bias on the last layer.
pub fn analyse_classifier(
    last: &LayerInput<'_>,
    labels: &Labels,
    w: &[f64],
    k: usize,
    bias: Option<&[f64]>,
    minority: &[usize],
) -> Result<ClassifierReport, CliError> {
    let n = labels.len();
    let wm = MatRef::from_row_major_slice(w, k, last.dim);
    let ctx = |source| CliError::Analysis {
        context: format!("classifier against layer '{}'", last.name),
        source,
    };
    let collapse = match last.data {
        LayerData::F32(d) => neural_collapse_classifier(
            MatRef::from_row_major_slice(d, n, last.dim),
            labels,
            wm,
            bias,
        ),
        LayerData::F64(d) => neural_collapse_classifier(
            MatRef::from_row_major_slice(d, n, last.dim),
            labels,
            wm,
            bias,
        ),
        LayerData::Matrix(LayerFeatures::F32(m)) => neural_collapse_classifier(m, labels, wm, bias),
        LayerData::Matrix(LayerFeatures::F64(m)) => neural_collapse_classifier(m, labels, wm, bias),
    }
    .map_err(ctx)?;
    let groups = classifier_geometry(wm, minority).map_err(ctx)?;
    Ok(ClassifierReport { collapse, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degenerate_layer_ends_a_training_report_but_fails_a_file() {
        let labels = Labels::new(&[0, 0, 1, 1], None).unwrap();
        let good = [0.0f64, 0.1, 1.0, 1.2];
        let constant = [3.0f64; 4];
        let layers = [
            LayerInput {
                name: "input".into(),
                dim: 1,
                data: LayerData::F64(&good),
            },
            LayerInput {
                name: "block1".into(),
                dim: 1,
                data: LayerData::F64(&good),
            },
            LayerInput {
                name: "block2".into(),
                dim: 1,
                data: LayerData::F64(&constant),
            },
        ];
        let mut notes = Vec::new();
        let (reports, law) = analyse_layers("t", &layers, &labels, Some(&mut notes)).unwrap();
        assert_eq!(reports.len(), 2);
        assert!(law.is_some());
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("block2"), "{notes:?}");
        let err = analyse_layers("t", &layers, &labels, None).unwrap_err();
        assert!(err.to_string().contains("block2"), "{err}");
    }
}
