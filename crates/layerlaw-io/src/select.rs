//! The selection rules of [`load_feature_set`](crate::load_feature_set): labels, explicit and
//! implicit layers (with the mismatched-layer policy), and the finiteness check.

use std::path::{Path, PathBuf};

use crate::array::RawArray;
use crate::error::IoError;
use crate::features::Selection;

/// The arrays of a file, each taken out at most once.
pub(crate) struct Pool {
    pub path: PathBuf,
    pub arrays: Vec<Option<RawArray>>,
    pub single_npy: bool,
}

impl Pool {
    /// Removes and returns the array `key`, or an [`IoError::UnknownKey`] listing all keys.
    pub(crate) fn take(&mut self, key: &str) -> Result<RawArray, IoError> {
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
pub(crate) fn labels_to_int(
    path: &Path,
    a: RawArray,
    notes: &mut Vec<String>,
) -> Result<Vec<i64>, IoError> {
    if a.shape.len() != 1 {
        return Err(IoError::LabelsShape {
            path: path.to_path_buf(),
            key: a.name,
            shape: a.shape,
        });
    }
    let dtype = a.values.dtype_name();
    if !a.values.is_float() {
        return match a.values.into_array_data() {
            crate::ArrayData::Int(v) => Ok(v),
            _ => unreachable!("non-float data is Int"),
        };
    }
    let mut out = Vec::with_capacity(a.values.len());
    for row in 0..a.values.len() {
        let x = a.values.get_f64(row);
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

/// Layers named by the user, in the given order.
pub(crate) fn explicit_layers(
    pool: &mut Pool,
    keys: &[String],
    labels_key: &str,
    n: usize,
    notes: &mut Vec<String>,
) -> Result<Vec<RawArray>, IoError> {
    if keys.is_empty() {
        return Err(IoError::EmptySelection {
            path: pool.path.clone(),
            reason: "the layer list is empty".into(),
        });
    }
    let mut out: Vec<RawArray> = Vec::with_capacity(keys.len());
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
        if a.values.integers_to_f64() {
            notes.push(format!(
                "layer {key:?} is an integer array; converted to f64"
            ));
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

/// The name pattern of a layer key: every maximal run of ASCII digits replaced by `#`
/// (`block.12.relu` → `block.#.relu`), so keys that differ only in their layer numbers match.
pub(crate) fn name_pattern(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut in_digits = false;
    for c in key.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// Every remaining float array of rank ≥ 2 with `n` rows, in natural order; a float array of
/// rank ≥ 2 with another row count and the name pattern of one of them is an error unless
/// `sel.skip_mismatched`.
pub(crate) fn implicit_layers(
    pool: &mut Pool,
    sel: &Selection,
    n: usize,
    notes: &mut Vec<String>,
) -> Result<Vec<RawArray>, IoError> {
    let labels_key = sel.labels_key.as_str();
    let is_candidate = |a: &RawArray| a.values.is_float() && a.shape.len() >= 2;
    let layer_patterns: Vec<(String, &str)> = pool
        .arrays
        .iter()
        .flatten()
        .filter(|a| is_candidate(a) && a.rows() == n)
        .map(|a| (name_pattern(&a.name), a.name.as_str()))
        .collect();
    if !sel.skip_mismatched {
        let mismatched = pool.arrays.iter().flatten().find_map(|a| {
            if !is_candidate(a) || a.rows() == n {
                return None;
            }
            let pattern = name_pattern(&a.name);
            let like = layer_patterns.iter().find(|(p, _)| *p == pattern)?;
            Some((a, like.1))
        });
        if let Some((a, like)) = mismatched {
            return Err(IoError::MismatchedLayer {
                path: pool.path.clone(),
                key: a.name.clone(),
                rows: a.rows(),
                like: like.to_owned(),
                labels_key: labels_key.to_owned(),
                labels_len: n,
            });
        }
    }
    let mut out = Vec::new();
    let mut first_mismatch: Option<(String, usize)> = None;
    for slot in pool.arrays.iter_mut() {
        let Some(a) = slot.as_ref() else { continue };
        let why_not = if !a.values.is_float() {
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

/// Fails on the first NaN or infinity (in storage order), naming its row and (flattened)
/// column; reuses the scan of the CRC pass when there was one.
pub(crate) fn check_finite(path: &Path, a: &RawArray) -> Result<(), IoError> {
    let bad = match a.finite_scan {
        Some(known) => known,
        None => a.values.first_non_finite(),
    };
    let Some(j) = bad else { return Ok(()) };
    let (row, col) = if a.shape.len() <= 1 {
        (0, j)
    } else {
        a.values.row_col(j, a.rows())
    };
    Err(IoError::NonFinite {
        path: path.to_path_buf(),
        layer: a.name.clone(),
        row,
        col,
        value: a.values.stored_f64(j),
    })
}

/// $2^{63}$, exactly representable as `f64`; `i64` holds exactly the floats in $[-2^{63}, 2^{63})$.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

#[cfg(test)]
mod tests {
    use super::name_pattern;

    #[test]
    fn patterns_replace_digit_runs() {
        assert_eq!(name_pattern("block.12.relu"), "block.#.relu");
        assert_eq!(name_pattern("block.3.relu"), "block.#.relu");
        assert_eq!(name_pattern("layer10"), "layer#");
        assert_eq!(name_pattern("fc_weight"), "fc_weight");
        assert_eq!(name_pattern("a1b22c"), "a#b#c");
    }
}
