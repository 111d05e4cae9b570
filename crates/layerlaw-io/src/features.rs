//! [`load_feature_set`]: turning an [`ArrayFile`] into per-layer `n × p` feature matrices plus
//! labels, as needed to compute the separation fuzziness $D_l = \mathrm{Tr}(SS_w SS_b^+)$ of
//! every layer (He & Su 2023, "A law of data separation", PNAS).

use std::path::{Path, PathBuf};

use faer::MatRef;
use layerlaw_geometry::NamedLayer;

use crate::array::{ArrayData, ArrayFile, NamedArray};
use crate::error::IoError;
use crate::read::read_arrays;

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
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            labels_key: "labels".into(),
            layers: None,
            classifier_weight: None,
            classifier_bias: None,
        }
    }
}

/// One layer's features as an `n × p` row-major matrix (rank > 2 arrays flattened per sample).
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
    /// `rows * cols` values, `F32` or `F64`, all finite.
    pub data: ArrayData,
}

impl FeatureLayer {
    /// The layer as geometry's named `rows × cols` view, borrowing [`FeatureLayer::data`].
    ///
    /// `None` when `data` is an integer array or does not hold `rows * cols` values; the layers
    /// of a [`FeatureSet`] from [`load_feature_set`] are always viewable.
    pub fn view(&self) -> Option<NamedLayer<'_>> {
        let len = self.rows.checked_mul(self.cols)?;
        match &self.data {
            ArrayData::F32(v) if v.len() == len => Some(NamedLayer::new(
                &self.name,
                MatRef::from_row_major_slice(v, self.rows, self.cols),
            )),
            ArrayData::F64(v) if v.len() == len => Some(NamedLayer::new(
                &self.name,
                MatRef::from_row_major_slice(v, self.rows, self.cols),
            )),
            _ => None,
        }
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
    /// Human-readable notes: arrays skipped and conversions made.
    pub skipped: Vec<String>,
}

/// Reads `path` with [`read_arrays`] and selects labels, layers and classifier per `sel`.
///
/// Rules: the labels array must be 1-D and integer (a float array whose values are all
/// integral is accepted with a note). With explicit `sel.layers` every key must exist
/// (integer arrays are converted to `f64` with a note) and have as many rows as there are labels.
/// Otherwise every float array of rank ≥ 2 other than the labels and classifier keys is a layer,
/// in natural key order; arrays with another row count, integer arrays and rank-0/1 arrays are
/// skipped with a note. All feature values must be finite. The classifier weight must be
/// `K × p` with `p` the width of the last layer, the bias of length `K`.
pub fn load_feature_set(path: &Path, sel: &Selection) -> Result<FeatureSet, IoError> {
    let file = read_arrays(path)?;
    let ArrayFile {
        path,
        arrays,
        notes,
        ..
    } = file;
    let mut pool = Pool {
        path,
        arrays: arrays.into_iter().map(Some).collect(),
        single_npy: false,
    };
    pool.single_npy = pool.path.is_file()
        && pool
            .path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
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

    let selected = match &sel.layers {
        Some(keys) => explicit_layers(&mut pool, keys, &sel.labels_key, n, &mut skipped)?,
        None => implicit_layers(&mut pool, &sel.labels_key, n, &mut skipped)?,
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
            data: a.data,
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
            Some((w.shape[0], w.shape[1], w.data.to_f64_vec()))
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
            Some(b.data.to_f64_vec())
        }
        None => None,
    };
    Ok(FeatureSet {
        path: pool.path,
        layers,
        labels,
        classifier_weight,
        classifier_bias,
        skipped,
    })
}

/// The arrays of a file, each taken out at most once.
struct Pool {
    path: PathBuf,
    arrays: Vec<Option<NamedArray>>,
    single_npy: bool,
}

impl Pool {
    /// Removes and returns the array `key`, or an [`IoError::UnknownKey`] listing all keys.
    fn take(&mut self, key: &str) -> Result<NamedArray, IoError> {
        let slot = self
            .arrays
            .iter_mut()
            .find(|a| a.as_ref().is_some_and(|a| a.name == key));
        match slot.and_then(Option::take) {
            Some(a) => Ok(a),
            None => Err(IoError::UnknownKey {
                path: self.path.clone(),
                key: key.to_owned(),
                available: self
                    .arrays
                    .iter()
                    .flatten()
                    .map(|a| a.name.clone())
                    .collect(),
                hint: if self.single_npy {
                    "; a single .npy holds one array: put features and labels in one .npz or in a directory of .npy files".into()
                } else {
                    String::new()
                },
            }),
        }
    }
}

/// Converts the labels array to `i64`, accepting integral floats with a note.
fn labels_to_int(path: &Path, a: NamedArray, notes: &mut Vec<String>) -> Result<Vec<i64>, IoError> {
    if a.shape.len() != 1 {
        return Err(IoError::LabelsShape {
            path: path.to_path_buf(),
            key: a.name,
            shape: a.shape,
        });
    }
    let dtype = a.dtype_name();
    match a.data {
        ArrayData::Int(v) => Ok(v),
        float => {
            let mut out = Vec::with_capacity(float.len());
            for row in 0..float.len() {
                let x = float.get_f64(row);
                if x.fract() != 0.0 || !(-TWO_POW_63..TWO_POW_63).contains(&x) {
                    return Err(IoError::LabelsNotInteger {
                        path: path.to_path_buf(),
                        key: a.name,
                        dtype,
                        row,
                        value: x,
                    });
                }
                out.push(x as i64);
            }
            notes.push(format!(
                "labels {:?} are stored as {dtype}; all values are integral, converted to integers",
                a.name
            ));
            Ok(out)
        }
    }
}

/// Layers named by the user, in the given order.
fn explicit_layers(
    pool: &mut Pool,
    keys: &[String],
    labels_key: &str,
    n: usize,
    notes: &mut Vec<String>,
) -> Result<Vec<NamedArray>, IoError> {
    if keys.is_empty() {
        return Err(IoError::EmptySelection {
            path: pool.path.clone(),
            reason: "the layer list is empty".into(),
        });
    }
    let mut out: Vec<NamedArray> = Vec::with_capacity(keys.len());
    for key in keys {
        if out.iter().any(|a| a.name == *key) || key == labels_key {
            let reason = if key == labels_key {
                "it is the labels array"
            } else {
                "it is listed twice"
            };
            return Err(IoError::NotALayer {
                path: pool.path.clone(),
                key: key.clone(),
                reason: reason.into(),
            });
        }
        let mut a = pool.take(key)?;
        if a.shape.is_empty() {
            return Err(IoError::NotALayer {
                path: pool.path.clone(),
                key: key.clone(),
                reason: "it is a scalar".into(),
            });
        }
        if let ArrayData::Int(v) = &a.data {
            notes.push(format!(
                "layer {key:?} is an integer array; converted to f64"
            ));
            a.data = ArrayData::F64(v.iter().map(|&x| x as f64).collect());
        }
        if let Some(first) = out.first() {
            if first.rows() != a.rows() {
                return Err(IoError::LayerRowsMismatch {
                    path: pool.path.clone(),
                    first: first.name.clone(),
                    first_rows: first.rows(),
                    second_rows: a.rows(),
                    second: a.name,
                });
            }
        }
        out.push(a);
    }
    if out[0].rows() != n {
        return Err(IoError::LabelLengthMismatch {
            path: pool.path.clone(),
            labels_key: labels_key.to_owned(),
            labels_len: n,
            layer: out[0].name.clone(),
            rows: out[0].rows(),
        });
    }
    Ok(out)
}

/// Every remaining float array of rank ≥ 2 with `n` rows, in natural order.
fn implicit_layers(
    pool: &mut Pool,
    labels_key: &str,
    n: usize,
    notes: &mut Vec<String>,
) -> Result<Vec<NamedArray>, IoError> {
    let mut out = Vec::new();
    let mut first_mismatch: Option<(String, usize)> = None;
    for slot in pool.arrays.iter_mut() {
        let Some(a) = slot.as_ref() else { continue };
        let why_not = if !a.data.is_float() {
            Some("integer array".to_owned())
        } else if a.shape.len() < 2 {
            Some(match a.shape.len() {
                0 => "scalar, not n × p".to_owned(),
                _ => "rank-1 array, not n × p (name it in --layers to use it as n × 1)".to_owned(),
            })
        } else if a.rows() != n {
            first_mismatch.get_or_insert((a.name.clone(), a.rows()));
            Some(format!(
                "{} rows but {labels_key:?} has {n} labels",
                a.rows()
            ))
        } else {
            None
        };
        match why_not {
            Some(reason) => notes.push(format!(
                "skipped {:?} (shape {:?}): {reason}",
                a.name, a.shape
            )),
            None => out.extend(slot.take()),
        }
    }
    if out.is_empty() {
        if let Some((layer, rows)) = first_mismatch {
            return Err(IoError::LabelLengthMismatch {
                path: pool.path.clone(),
                labels_key: labels_key.to_owned(),
                labels_len: n,
                layer,
                rows,
            });
        }
        return Err(IoError::EmptySelection {
            path: pool.path.clone(),
            reason: format!(
                "no float array of rank >= 2 besides the labels; {}",
                notes.join("; ")
            ),
        });
    }
    Ok(out)
}

/// Fails on the first NaN or infinity, naming its row and (flattened) column.
fn check_finite(path: &Path, a: &NamedArray) -> Result<(), IoError> {
    let bad = match &a.data {
        ArrayData::F32(v) => v.iter().position(|x| !x.is_finite()),
        ArrayData::F64(v) => v.iter().position(|x| !x.is_finite()),
        ArrayData::Int(_) => None,
    };
    match bad {
        None => Ok(()),
        Some(i) => {
            let cols = if a.shape.len() <= 1 {
                a.data.len().max(1)
            } else {
                a.cols().max(1)
            };
            let (row, col) = if a.shape.len() <= 1 {
                (0, i)
            } else {
                (i / cols, i % cols)
            };
            Err(IoError::NonFinite {
                path: path.to_path_buf(),
                layer: a.name.clone(),
                row,
                col,
                value: a.data.get_f64(i),
            })
        }
    }
}

/// $2^{63}$, exactly representable as `f64`; `i64` holds exactly the floats in $[-2^{63}, 2^{63})$.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
