//! Problem specification: class counts, loss weights, energy budgets (validated builder).
//!
//! The Layer-Peeled Model (Fang, He, Long & Su, PNAS 2021, "Exploring deep neural networks via
//! layer-peeled model: Minority collapse in imbalanced training") with $K$ classes of $n_k$
//! examples ($N = \sum_k n_k$) and per-class loss weights $c_k$ reads
//! $$\min_{W,H} \sum_{k=1}^K \frac{n_k c_k}{N} \frac{1}{n_k}\sum_{i=1}^{n_k} \mathrm{CE}(W h_{k,i}, k)
//! \quad\text{s.t.}\quad \frac1K\sum_k \|w_k\|^2 \le E_W,\;
//! \frac1K\sum_k \frac1{n_k}\sum_i \|h_{k,i}\|^2 \le E_H .$$
//! With $c_k = 1$ this is the paper's $(1/N)\sum_{k,i}\mathrm{CE}$. Oversampling each minority
//! example $w_r$ times multiplies its loss terms by $w_r$ (`minority_weight`).

use crate::LpmError;

/// Default classifier energy budget $E_W$ (the official code's `weight_constant`).
pub const DEFAULT_E_W: f64 = 1.0;
/// Default feature energy budget $E_H$ (the official code's `feature_constant`).
pub const DEFAULT_E_H: f64 = 5.0;

/// A validated Layer-Peeled Model instance. Build it with [`LpmProblem::step_imbalance`],
/// [`LpmProblem::balanced`] or [`LpmProblem::from_counts`] and then [`LpmProblemBuilder::build`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LpmProblem {
    counts: Vec<f64>,
    loss_weights: Vec<f64>,
    minority: Vec<bool>,
    e_w: f64,
    e_h: f64,
}

/// Classes that share the same count $n_k$ and loss weight $c_k$; the optimum can be taken
/// invariant under permutations inside each group (used by the symmetric SDP).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClassGroup {
    /// The class indices of the group (ascending).
    pub classes: Vec<usize>,
    /// The shared count $n_k$.
    pub count: f64,
    /// The shared loss weight $c_k$.
    pub loss_weight: f64,
}

#[derive(Debug, Clone)]
enum Shape {
    Step { k_a: usize, k_b: usize, ratio: f64 },
    Counts(Vec<f64>),
}

/// Builder for [`LpmProblem`]; every setter is checked in [`LpmProblemBuilder::build`].
#[derive(Debug, Clone)]
#[must_use]
pub struct LpmProblemBuilder {
    shape: Shape,
    e_w: f64,
    e_h: f64,
    minority_weight: f64,
    minority_classes: Option<Vec<usize>>,
}

impl LpmProblem {
    /// Step imbalance: $K_A$ majority classes with $n_A = R$ examples, then $K_B$ minority
    /// classes with $n_B = 1$ (only the ratio $R = n_A/n_B \ge 1$ matters). The minority
    /// classes are the last $K_B$.
    pub fn step_imbalance(k_a: usize, k_b: usize, ratio: f64) -> LpmProblemBuilder {
        LpmProblemBuilder::new(Shape::Step { k_a, k_b, ratio })
    }

    /// Balanced classes ($n_k = 1$ for all $k$): the optimum is a simplex ETF, see
    /// [`crate::balanced_closed_form`]. No class is a minority class.
    pub fn balanced(k: usize) -> LpmProblemBuilder {
        LpmProblemBuilder::new(Shape::Counts(vec![1.0; k]))
    }

    /// Arbitrary positive counts $n_k$ (need not be integers). Unless
    /// [`LpmProblemBuilder::minority_classes`] says otherwise, the minority classes are those
    /// whose count is below the largest count.
    pub fn from_counts(counts: &[f64]) -> LpmProblemBuilder {
        LpmProblemBuilder::new(Shape::Counts(counts.to_vec()))
    }

    /// Number of classes $K$.
    pub fn num_classes(&self) -> usize {
        self.counts.len()
    }

    /// Class counts $n_k$.
    pub fn counts(&self) -> &[f64] {
        &self.counts
    }

    /// Loss weights $c_k$ (the minority weight on minority classes, 1 elsewhere).
    pub fn loss_weights(&self) -> &[f64] {
        &self.loss_weights
    }

    /// Whether class `k` is a minority class (used only by the report, not by the optimisation).
    pub fn is_minority(&self, k: usize) -> bool {
        self.minority.get(k).copied().unwrap_or(false)
    }

    /// Indices of the minority classes.
    pub fn minority_classes(&self) -> Vec<usize> {
        (0..self.num_classes())
            .filter(|&k| self.minority[k])
            .collect()
    }

    /// Indices of the majority (non-minority) classes.
    pub fn majority_classes(&self) -> Vec<usize> {
        (0..self.num_classes())
            .filter(|&k| !self.minority[k])
            .collect()
    }

    /// Classifier budget $E_W$.
    pub fn e_w(&self) -> f64 {
        self.e_w
    }

    /// Feature budget $E_H$.
    pub fn e_h(&self) -> f64 {
        self.e_h
    }

    /// Objective coefficients $a_k = n_k c_k / N$ with $N = \sum_k n_k$.
    pub fn coefficients(&self) -> Vec<f64> {
        let total: f64 = self.counts.iter().sum();
        self.counts
            .iter()
            .zip(&self.loss_weights)
            .map(|(n, c)| n * c / total)
            .collect()
    }

    /// Partition of the classes into groups of equal $(n_k, c_k)$, in order of first appearance.
    pub fn groups(&self) -> Vec<ClassGroup> {
        let mut groups: Vec<ClassGroup> = Vec::new();
        for (k, (&n, &c)) in self.counts.iter().zip(&self.loss_weights).enumerate() {
            match groups
                .iter_mut()
                .find(|g| g.count == n && g.loss_weight == c)
            {
                Some(g) => g.classes.push(k),
                None => groups.push(ClassGroup {
                    classes: vec![k],
                    count: n,
                    loss_weight: c,
                }),
            }
        }
        groups
    }
}

fn finite(field: impl Into<String>, value: f64) -> Result<f64, LpmError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(LpmError::NonFinite {
            field: field.into(),
            value,
        })
    }
}

impl LpmProblemBuilder {
    fn new(shape: Shape) -> Self {
        Self {
            shape,
            e_w: DEFAULT_E_W,
            e_h: DEFAULT_E_H,
            minority_weight: 1.0,
            minority_classes: None,
        }
    }

    /// Sets $E_W > 0$ (default 1).
    pub fn e_w(mut self, e_w: f64) -> Self {
        self.e_w = e_w;
        self
    }

    /// Sets $E_H > 0$ (default 5).
    pub fn e_h(mut self, e_h: f64) -> Self {
        self.e_h = e_h;
        self
    }

    /// Sets the loss weight $w_r > 0$ of the minority classes (default 1). Oversampling every
    /// minority example $w_r$ times is equivalent; $w_r = R$ restores the balanced optimum.
    pub fn minority_weight(mut self, weight: f64) -> Self {
        self.minority_weight = weight;
        self
    }

    /// Overrides which classes count as minority classes (0-based indices).
    pub fn minority_classes(mut self, classes: &[usize]) -> Self {
        self.minority_classes = Some(classes.to_vec());
        self
    }

    /// Validates everything and returns the problem.
    ///
    /// # Errors
    /// [`LpmError`] naming the field at fault: $K < 2$, an empty group, $R < 1$, a count
    /// $\le 0$, $E_W$ or $E_H \le 0$, a weight $\le 0$, a bad minority index, or a non-finite
    /// number.
    pub fn build(self) -> Result<LpmProblem, LpmError> {
        let e_w = finite("e_w", self.e_w)?;
        let e_h = finite("e_h", self.e_h)?;
        let weight = finite("minority_weight", self.minority_weight)?;
        let (counts, default_minority) = match &self.shape {
            Shape::Step { k_a, k_b, ratio } => {
                let ratio = finite("ratio", *ratio)?;
                if k_a + k_b < 2 {
                    return Err(LpmError::TooFewClasses { classes: k_a + k_b });
                }
                if *k_a == 0 {
                    return Err(LpmError::EmptyGroup { group: "k_a" });
                }
                if *k_b == 0 {
                    return Err(LpmError::EmptyGroup { group: "k_b" });
                }
                if ratio < 1.0 {
                    return Err(LpmError::RatioBelowOne { ratio });
                }
                let mut counts = vec![ratio; *k_a];
                counts.extend(std::iter::repeat_n(1.0, *k_b));
                let minority = (0..k_a + k_b).map(|k| k >= *k_a).collect::<Vec<_>>();
                (counts, minority)
            }
            Shape::Counts(counts) => {
                if counts.len() < 2 {
                    return Err(LpmError::TooFewClasses {
                        classes: counts.len(),
                    });
                }
                for (class, &count) in counts.iter().enumerate() {
                    finite(format!("count[{class}]"), count)?;
                    if count <= 0.0 {
                        return Err(LpmError::NonPositiveCount { class, count });
                    }
                }
                let max = counts.iter().copied().fold(f64::MIN, f64::max);
                let minority = counts.iter().map(|&c| c < max).collect::<Vec<_>>();
                (counts.clone(), minority)
            }
        };
        if e_w <= 0.0 {
            return Err(LpmError::NonPositiveBudget {
                field: "e_w",
                value: e_w,
            });
        }
        if e_h <= 0.0 {
            return Err(LpmError::NonPositiveBudget {
                field: "e_h",
                value: e_h,
            });
        }
        if weight <= 0.0 {
            return Err(LpmError::NonPositiveWeight { value: weight });
        }
        let k = counts.len();
        let minority = match &self.minority_classes {
            None => default_minority,
            Some(list) => {
                let mut mask = vec![false; k];
                for &class in list {
                    if class >= k || mask[class] {
                        return Err(LpmError::BadMinorityClass { class, classes: k });
                    }
                    mask[class] = true;
                }
                mask
            }
        };
        let loss_weights = minority
            .iter()
            .map(|&m| if m { weight } else { 1.0 })
            .collect();
        Ok(LpmProblem {
            counts,
            loss_weights,
            minority,
            e_w,
            e_h,
        })
    }
}
