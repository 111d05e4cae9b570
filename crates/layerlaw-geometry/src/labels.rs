//! Validated class labels.

use crate::error::{GeometryError, Result};

/// Class labels $y_i \in \{0, \dots, K-1\}$, validated once so that every metric can rely on
/// them: at least two classes and no empty class in `0..K`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    labels: Vec<usize>,
    counts: Vec<usize>,
}

impl Labels {
    /// Validates raw labels.
    ///
    /// `num_classes = None` infers $K = \max_i y_i + 1$. Errors: a negative label
    /// ([`GeometryError::NegativeLabel`], with its row), a label $\ge K$
    /// ([`GeometryError::LabelOutOfRange`]), $K < 2$ ([`GeometryError::TooFewClasses`]), or a
    /// class in `0..K` without samples ([`GeometryError::EmptyClass`], naming the class).
    pub fn new(raw: &[i64], num_classes: Option<usize>) -> Result<Labels> {
        let mut labels = Vec::with_capacity(raw.len());
        for (row, &value) in raw.iter().enumerate() {
            if value < 0 {
                return Err(GeometryError::NegativeLabel { row, value });
            }
            if let Some(k) = num_classes {
                if value as u64 >= k as u64 {
                    return Err(GeometryError::LabelOutOfRange {
                        row,
                        value,
                        num_classes: k,
                    });
                }
            }
            let v = usize::try_from(value).map_err(|_| GeometryError::LabelOutOfRange {
                row,
                value,
                num_classes: num_classes.unwrap_or(usize::MAX),
            })?;
            labels.push(v);
        }
        let k = match num_classes {
            Some(k) => k,
            None => labels.iter().max().map_or(0, |&m| m + 1),
        };
        Self::from_usize_vec(labels, k)
    }

    /// Validates labels that are already `usize` (same checks as [`Labels::new`] except the
    /// sign check).
    pub fn from_usize(raw: &[usize], num_classes: usize) -> Result<Labels> {
        for (row, &value) in raw.iter().enumerate() {
            if value >= num_classes {
                return Err(GeometryError::LabelOutOfRange {
                    row,
                    value: i64::try_from(value).unwrap_or(i64::MAX),
                    num_classes,
                });
            }
        }
        Self::from_usize_vec(raw.to_vec(), num_classes)
    }

    fn from_usize_vec(labels: Vec<usize>, k: usize) -> Result<Labels> {
        if k < 2 {
            return Err(GeometryError::TooFewClasses { num_classes: k });
        }
        let mut counts = vec![0usize; k];
        for &y in &labels {
            counts[y] += 1;
        }
        if let Some(class) = counts.iter().position(|&c| c == 0) {
            return Err(GeometryError::EmptyClass {
                class,
                num_classes: k,
            });
        }
        Ok(Labels { labels, counts })
    }

    /// The number of classes $K$.
    pub fn num_classes(&self) -> usize {
        self.counts.len()
    }

    /// Class sizes $n_k$, indexed by class.
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }

    /// The labels $y_i$, one per sample.
    pub fn as_slice(&self) -> &[usize] {
        &self.labels
    }

    /// The number of samples $n = \sum_k n_k$.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Always `false` (a valid `Labels` has at least one sample in each of $K \ge 2$ classes);
    /// provided for API symmetry with [`Labels::len`].
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `true` when every class has the same size, the case where $D = K \cdot \mathrm{NC1}$.
    pub fn is_balanced(&self) -> bool {
        self.counts.windows(2).all(|w| w[0] == w[1])
    }
}
