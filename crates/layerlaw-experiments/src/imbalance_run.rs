//! [`ImbalanceRun`]: the report of one imbalanced training run, and the pieces it is made of
//! (group accuracy, the Layer-Peeled Model's prediction, last-layer neural collapse).

use layerlaw_geometry::{ClassifierCollapse, ClassifierGeometry, Definitions, LawFit, Separation};
use layerlaw_lpm::{LpmProblem, SolverOptions};
use layerlaw_train::EpochStats;
use serde::Serialize;

use crate::error::Result;
use crate::report::LayerReport;

/// The Layer-Peeled Model's prediction for the same counts and minority weight.
#[derive(Debug, Clone, Serialize)]
pub struct LpmPrediction {
    /// Solver status.
    pub status: String,
    /// Mean pairwise cosine of the minority classifiers (None once their norms vanish).
    pub minority_cosine: Option<f64>,
    /// Mean pairwise cosine of the majority classifiers.
    pub majority_cosine: Option<f64>,
    /// Mean $\|w_k - w_{k'}\|$ among minority classifiers.
    pub minority_distance: Option<f64>,
    /// Mean minority classifier norm.
    pub minority_norm: Option<f64>,
    /// Mean majority classifier norm.
    pub majority_norm: Option<f64>,
    /// Solver notes.
    pub notes: Vec<String>,
}

/// Neural-collapse metrics on the last layer's training features.
#[derive(Debug, Clone, Serialize)]
pub struct LastLayerCollapse {
    /// NC1 (Papyan), NC2 and D of the last measured layer.
    pub separation: Separation,
    /// NC3 and NC4 against the trained classifier.
    pub classifier: ClassifierCollapse,
}

/// One imbalanced training run.
#[derive(Debug, Clone, Serialize)]
pub struct ImbalanceRun {
    /// $R$ (`None` with explicit counts).
    pub ratio: Option<f64>,
    /// Training examples per class.
    pub counts: Vec<usize>,
    /// The minority classes.
    pub minority_classes: Vec<usize>,
    /// Oversampling factor of minority examples.
    pub oversample: usize,
    /// Loss weight of minority classes.
    pub minority_loss_weight: f64,
    /// Test accuracy over the whole test set.
    pub test_accuracy: f64,
    /// Test accuracy over the majority classes' test examples.
    pub majority_accuracy: f64,
    /// Test accuracy over the minority classes' test examples.
    pub minority_accuracy: f64,
    /// Test accuracy per class.
    pub per_class_accuracy: Vec<f64>,
    /// Mean pairwise cosine of the minority classifier rows (`None` when their norms vanish).
    pub minority_cosine: Option<f64>,
    /// Mean pairwise cosine of the majority classifier rows.
    pub majority_cosine: Option<f64>,
    /// Mean norm of the minority classifier rows.
    pub minority_norm: Option<f64>,
    /// Mean norm of the majority classifier rows.
    pub majority_norm: Option<f64>,
    /// Mean $\|w_k - w_{k'}\|$ among minority classifier rows.
    pub minority_distance: Option<f64>,
    /// Full classifier geometry.
    pub classifier: ClassifierGeometry,
    /// NC1–NC4 on the last layer's training features.
    pub neural_collapse: LastLayerCollapse,
    /// Which convention each number uses.
    pub definitions: Definitions,
    /// $D_l$ and NC metrics of every measured layer (as `layerlaw measure --json`).
    pub layers: Vec<LayerReport>,
    /// The law-of-equi-separation fit over those layers (`None` when it cannot be fitted; then
    /// `notes` says why).
    pub law: Option<LawFit>,
    /// The Layer-Peeled Model's prediction for the same counts and minority weight.
    pub lpm: LpmPrediction,
    /// Training accuracy.
    pub train_accuracy: f64,
    /// Seconds per epoch.
    pub seconds_per_epoch: f64,
    /// Loss and accuracy per epoch.
    pub history: Vec<EpochStats>,
    /// Layers left out of the report and a law that could not be fitted.
    pub notes: Vec<String>,
}

/// Test accuracy over the test examples of `classes`: $\sum_k a_k m_k / \sum_k m_k$ with $a_k$
/// the accuracy and $m_k$ the number of test examples of class $k$ (NaN without any).
pub fn group_accuracy(per_class: &[f64], test_counts: &[usize], classes: &[usize]) -> f64 {
    let total: usize = classes.iter().map(|&k| test_counts[k]).sum();
    if total == 0 {
        return f64::NAN;
    }
    classes
        .iter()
        .map(|&k| per_class[k] * test_counts[k] as f64)
        .sum::<f64>()
        / total as f64
}

/// Solves the Layer-Peeled Model for these class `counts`, `minority` classes with loss weight
/// `weight`, and energies $E_W$ = `ew`, $E_H$ = `eh`.
pub fn lpm_prediction(
    counts: &[usize],
    minority: &[usize],
    weight: f64,
    ew: f64,
    eh: f64,
) -> Result<LpmPrediction> {
    let c: Vec<f64> = counts.iter().map(|&v| v as f64).collect();
    let problem = LpmProblem::from_counts(&c)
        .minority_classes(minority)
        .minority_weight(weight)
        .e_w(ew)
        .e_h(eh)
        .build()?;
    let s = layerlaw_lpm::solve(&problem, &SolverOptions::default())?;
    Ok(LpmPrediction {
        status: format!("{:?}", s.status),
        minority_cosine: s.minority_cosine,
        majority_cosine: s.majority_cosine,
        minority_distance: s.minority_distance,
        minority_norm: s.minority_norm,
        majority_norm: s.majority_norm,
        notes: s.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_accuracy_weights_by_test_counts() {
        // (0.5 * 10 + 1.0 * 30) / 40 = 0.875.
        let a = group_accuracy(&[0.5, 1.0, 0.0], &[10, 30, 5], &[0, 1]);
        assert!((a - 0.875).abs() < 1e-15);
        assert!(group_accuracy(&[0.5], &[0], &[0]).is_nan());
    }

    #[test]
    fn balanced_lpm_is_the_simplex_etf() {
        // Balanced counts: the classifiers form a simplex ETF, mean cosine -1/(K-1) = -1/3.
        let p = lpm_prediction(&[10, 10, 10, 10], &[2, 3], 1.0, 1.0, 5.0).unwrap();
        assert!(
            (p.minority_cosine.unwrap() + 1.0 / 3.0).abs() < 1e-5,
            "{p:?}"
        );
        assert!(
            (p.majority_cosine.unwrap() + 1.0 / 3.0).abs() < 1e-5,
            "{p:?}"
        );
    }
}
