//! [`load_feature_set`]: turning a feature file into per-layer `n × p` feature matrices plus
//! labels, as needed to compute the separation fuzziness $D_l = \mathrm{Tr}(SS_w SS_b^+)$ of
//! every layer (He & Su 2023, "A law of data separation", PNAS).

use std::path::{Path, PathBuf};

use faer::MatRef;
use layerlaw_geometry::NamedLayer;

use crate::error::IoError;
use crate::read::{read_raw, RawFile};
use crate::select::{check_finite, explicit_layers, implicit_layers, labels_to_int, Pool};
use crate::values::{FeatureData, Order};

/// Which arrays of a feature file to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Key of the integer class-label array (default `"labels"`).
    pub labels_key: String,
    /// Layer keys in depth order; `None` = every other float array of rank ≥ 2, in natural order.
    pub layers: Option<Vec<String>>,
    /// Key of the last-layer classifier weight $W \in \mathbb{R}^{K \times p}$, if any.
    pub classifier_weight: Option<String>,
    /// Key of the classifier bias $b \in \mathbb{R}^K$, if any.
    pub classifier_bias: Option<String>,
    /// Key of the model's predicted classes (1-D integer, one per sample), if any: compared
    /// with the nearest class centre of every layer (NC4 agreement).
    pub predictions_key: Option<String>,
    /// When `layers` is `None`: skip, with a note, an array that looks like a layer but whose
    /// row count differs from the number of labels, instead of failing with
    /// [`IoError::MismatchedLayer`] (default `false`). See [`load_feature_set`].
    pub skip_mismatched: bool,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            labels_key: "labels".into(),
            layers: None,
            classifier_weight: None,
            classifier_bias: None,
            predictions_key: None,
            skip_mismatched: false,
        }
    }
}

/// One layer's features as an `n × p` matrix (rank > 2 arrays flattened per sample).
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureLayer {
    /// Key in the file.
    pub name: String,
    /// Position in the selection, 0-based (the $l$ of $D_l \approx \rho^l D_0$).
    pub index: usize,
    /// Number of samples $n$.
    pub rows: usize,
    /// Feature dimension $p$ (product of the trailing dimensions).
    pub cols: usize,
    /// `rows * cols` values, `f32` or `f64`, all finite: viewed in place in the file where its
    /// layout allows (row-major, or column-major for a Fortran-ordered 2-D `.npy`), decoded
    /// otherwise. [`FeatureLayer::view`] gives them as a matrix whatever their storage.
    pub data: FeatureData,
}

impl FeatureLayer {
    /// The layer as the statistics take it: geometry's named `rows × cols` matrix view of
    /// [`FeatureLayer::data`] (row or column strides as stored, no copy).
    ///
    /// `None` when `data` is an integer array or does not hold `rows * cols` values; the layers
    /// of a [`FeatureSet`] from [`load_feature_set`] are always viewable.
    pub fn view(&self) -> Option<NamedLayer<'_>> {
        let (n, p) = (self.rows, self.cols);
        if n.checked_mul(p) != Some(self.data.len()) {
            return None;
        }
        let column_major = self.data.order() == Order::ColumnMajor;
        Some(match (self.data.as_f32(), self.data.as_f64()) {
            (Some(v), _) if column_major => {
                NamedLayer::new(&self.name, MatRef::from_column_major_slice(v, n, p))
            }
            (Some(v), _) => NamedLayer::new(&self.name, MatRef::from_row_major_slice(v, n, p)),
            (_, Some(v)) if column_major => {
                NamedLayer::new(&self.name, MatRef::from_column_major_slice(v, n, p))
            }
            (_, Some(v)) => NamedLayer::new(&self.name, MatRef::from_row_major_slice(v, n, p)),
            _ => return None,
        })
    }
}

/// Everything `layerlaw measure` needs from one file.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSet {
    /// The file or directory read.
    pub path: PathBuf,
    /// Selected layers, all with `labels.len()` rows.
    pub layers: Vec<FeatureLayer>,
    /// Class label of every sample.
    pub labels: Vec<i64>,
    /// Classifier weight as `(K, p, row-major values)`, if selected.
    pub classifier_weight: Option<(usize, usize, Vec<f64>)>,
    /// Classifier bias (length $K$), if selected.
    pub classifier_bias: Option<Vec<f64>>,
    /// The model's predicted class of every sample, if selected.
    pub predictions: Option<Vec<i64>>,
    /// Human-readable notes: arrays skipped and conversions made.
    pub skipped: Vec<String>,
}

/// Reads `path` and selects labels, layers and classifier per `sel`.
///
/// Rules: the labels array must be 1-D and integer (a float array whose values are all
/// integral is accepted with a note). With explicit `sel.layers` every key must exist
/// (integer arrays are converted to `f64` with a note) and have as many rows as there are labels.
/// Otherwise every float array of rank ≥ 2 other than the labels and classifier keys with as
/// many rows as labels is a layer, in natural key order. A float array of rank ≥ 2 with another
/// row count whose name follows the pattern of a layer (the same name once every run of digits
/// is replaced by `#`: `block.7.relu` for `block.3.relu`) is an error,
/// [`IoError::MismatchedLayer`], unless `sel.skip_mismatched`, which skips it with a note;
/// other arrays with another row count (a classifier weight, prototypes), integer arrays and
/// rank-0/1 arrays are skipped with a note. All feature values must be finite. The classifier
/// weight must be `K × p` with `p` the width of the last layer, the bias of length `K`.
///
/// Layers are viewed in place in the file where dtype and alignment allow (see
/// [`FeatureData`]); the finiteness check then reads them once, fused with the CRC-32 check for
/// stored `.npz` members, in parallel blocks otherwise.
pub fn load_feature_set(path: &Path, sel: &Selection) -> Result<FeatureSet, IoError> {
    select_features(read_raw(path)?, sel)
}

/// [`load_feature_set`] on arrays already read.
pub(crate) fn select_features(raw: RawFile, sel: &Selection) -> Result<FeatureSet, IoError> {
    let RawFile {
        path,
        arrays,
        notes,
        ..
    } = raw;
    let single_npy = path.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let mut pool = Pool {
        path,
        arrays: arrays.into_iter().map(Some).collect(),
        single_npy,
    };
    let mut skipped = notes;

    let labels_array = pool.take(&sel.labels_key)?;
    let labels = labels_to_int(&pool.path, labels_array, &mut skipped)?;
    let n = labels.len();
    if n == 0 {
        return Err(IoError::EmptySelection {
            path: pool.path,
            reason: format!("{:?} is empty", sel.labels_key),
        });
    }
    let weight = sel
        .classifier_weight
        .as_deref()
        .map(|k| pool.take(k))
        .transpose()?;
    let bias = sel
        .classifier_bias
        .as_deref()
        .map(|k| pool.take(k))
        .transpose()?;
    let predictions = match sel.predictions_key.as_deref() {
        None => None,
        Some(key) => {
            let array = pool.take(key)?;
            let values = labels_to_int(&pool.path, array, &mut skipped)?;
            if values.len() != n {
                return Err(IoError::PredictionsLength {
                    path: pool.path,
                    key: key.to_string(),
                    len: values.len(),
                    labels: n,
                });
            }
            Some(values)
        }
    };

    let selected = match &sel.layers {
        Some(keys) => explicit_layers(&mut pool, keys, &sel.labels_key, n, &mut skipped)?,
        None => implicit_layers(&mut pool, sel, n, &mut skipped)?,
    };
    let mut layers = Vec::with_capacity(selected.len());
    for (index, a) in selected.into_iter().enumerate() {
        check_finite(&pool.path, &a)?;
        let (rows, cols) = (a.rows(), a.cols());
        layers.push(FeatureLayer {
            name: a.name,
            index,
            rows,
            cols,
            data: a.values,
        });
    }

    let p_last = layers.last().map_or(0, |l| l.cols);
    let classifier_weight = match weight {
        Some(w) => {
            if w.shape.len() != 2 || w.shape[1] != p_last {
                return Err(IoError::ClassifierShape {
                    path: pool.path,
                    key: w.name,
                    shape: w.shape,
                    reason: format!("expected K × {p_last} (K classes × width of the last layer)"),
                });
            }
            check_finite(&pool.path, &w)?;
            Some((w.shape[0], w.shape[1], w.values.to_f64_vec()))
        }
        None => None,
    };
    let classifier_bias = match bias {
        Some(b) => {
            let k = classifier_weight.as_ref().map(|w| w.0);
            if b.shape.len() != 1 || k.is_some_and(|k| k != b.shape[0]) {
                return Err(IoError::ClassifierShape {
                    path: pool.path,
                    key: b.name,
                    shape: b.shape,
                    reason: format!(
                        "expected a 1-D array of length K{}",
                        k.map(|k| format!(" = {k}")).unwrap_or_default()
                    ),
                });
            }
            check_finite(&pool.path, &b)?;
            Some(b.values.to_f64_vec())
        }
        None => None,
    };
    Ok(FeatureSet {
        path: pool.path,
        layers,
        labels,
        classifier_weight,
        classifier_bias,
        predictions,
        skipped,
    })
}
