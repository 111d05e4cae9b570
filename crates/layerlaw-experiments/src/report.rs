//! [`Report`]: the one report of a set of layers, whatever produced them (a feature file, a
//! network trained here, a live model, a streaming accumulator), and whatever presents it (the
//! CLI's table and JSON, the Python objects).
//!
//! Its JSON form is that of `layerlaw measure --json` without the `file` key:
//! `{"n", "classes", "class_counts", "balanced", "definitions", "layers": [...], "law",
//! "classifier", "notes"}`.
//!
//! **A law that cannot be fitted is not an error.** The fit
//! $\ln D_l = \ln D_0 + l\ln\rho$ needs at least two layers, all with finite $D_l > 0$. When that
//! fails (one layer; a layer with $D = 0$, e.g. every sample at its class mean), the report
//! carries `law: None` (`null` in JSON, `None` in Python) and a note
//! `"law not fitted: <reason>"` in `notes`; front ends show the note.
//!
//! **Fit layers.** By default every layer enters the fit; [`Report::refit`] (and
//! [`crate::ReportBuilder::fit_layers`]) fits a chosen [`FitLayers`] subset instead, at the
//! layers' real indices $l$. Either way `law.residuals` holds
//! $\ln D_l - (\ln D_0 + l\ln\rho)$ for every layer and `law.fit_layers` the fitted indices.

use layerlaw_geometry::{
    bootstrap_law, fit_law, fit_law_at, BootstrapOptions, ClassifierCollapse, ClassifierGeometry,
    Definitions, FitLayers, LawFit, LawIntervals, Separation, DEFINITIONS,
};

use crate::error::Result;
use serde::Serialize;

/// The report of one layer: its name and place in the fit, then every [`Separation`] field
/// (`dim`, `fuzziness` = He–Su $D = \mathrm{Tr}(SS_wSS_b^+)$, `nc1` (Papyan), NC2, ranks,
/// traces), flattened into the same JSON object.
#[derive(Clone, Debug, Serialize)]
pub struct LayerReport {
    /// Layer name (file key, module name or block name).
    pub name: String,
    /// Position $l$ in the law fit (0 = first layer given).
    pub index: usize,
    /// All geometry of the layer (the K×p class means are kept, but not serialised).
    #[serde(flatten)]
    pub separation: Separation,
}

impl LayerReport {
    /// He–Su separation fuzziness $D$ of this layer.
    pub fn fuzziness(&self) -> f64 {
        self.separation.fuzziness
    }
}

/// NC3/NC4 of the last layer against a linear classifier, and the geometry of its minority and
/// majority rows (Fang, He, Long & Su, PNAS 2021).
#[derive(Clone, Debug, Serialize)]
pub struct ClassifierReport {
    /// NC3, NC4, the classifier's accuracy and the nearest-class-centre accuracy on the last
    /// layer's features.
    #[serde(flatten)]
    pub collapse: ClassifierCollapse,
    /// Cosines, distances and norms of the minority and majority classifier rows.
    pub groups: ClassifierGeometry,
}

/// Separation of every layer, the law of equi-separation, the classifier metrics and notes.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Number of samples $n$.
    pub n: usize,
    /// Number of classes $K$.
    pub classes: usize,
    /// $n_k$ per class.
    pub class_counts: Vec<usize>,
    /// Whether every class has the same count (then $D = K\cdot\mathrm{NC1}$).
    pub balanced: bool,
    /// Which convention each number uses.
    pub definitions: Definitions,
    /// One entry per layer, in fit order.
    pub layers: Vec<LayerReport>,
    /// The fit $\ln D_l = \ln D_0 + l\ln\rho$ over `layers`; `None` when it cannot be fitted,
    /// and then `notes` says why.
    pub law: Option<LawFit>,
    /// Bootstrap intervals of the fit ($\rho$, slope, Pearson r) and of every $D_l$: the
    /// grouped, class-stratified bootstrap of [`layerlaw_geometry::bootstrap_law`] (default
    /// 200 replicates, seed 0, 95 %). `None` with a note when the law is not fitted or the
    /// layers carry no bootstrap groups (one-pass accumulator, $K$ and $r$ too large).
    pub law_intervals: Option<LawIntervals>,
    /// Classifier metrics, when a classifier was given.
    pub classifier: Option<ClassifierReport>,
    /// Remarks: the caller's (arrays skipped, data source, ...), then layers left out and a law
    /// that could not be fitted.
    pub notes: Vec<String>,
}

/// The prefix of the note a report carries when its law could not be fitted.
pub const LAW_NOT_FITTED: &str = "law not fitted";

/// The prefix of the note a report carries when the law's bootstrap intervals could not be
/// computed.
pub const LAW_INTERVALS_NOT_COMPUTED: &str = "law intervals not computed";

impl Report {
    /// Assembles a report from per-layer separations already computed (by
    /// [`crate::ReportBuilder`] or a streaming accumulator), in fit order, and fits the law over
    /// them. `notes` come first; a failed fit appends `"law not fitted: <reason>"` (see the
    /// module documentation). `n` is the sum of `class_counts`.
    pub fn from_separations(
        class_counts: Vec<usize>,
        layers: Vec<(String, Separation)>,
        classifier: Option<ClassifierReport>,
        mut notes: Vec<String>,
    ) -> Report {
        let d: Vec<f64> = layers.iter().map(|(_, s)| s.fuzziness).collect();
        let law = match fit_law(&d) {
            Ok(fit) => Some(fit),
            Err(e) => {
                notes.push(format!("{LAW_NOT_FITTED}: {e}"));
                None
            }
        };
        let law_intervals = law.as_ref().and_then(|_| {
            let seps: Vec<&Separation> = layers.iter().map(|(_, s)| s).collect();
            let fit: Vec<usize> = (0..seps.len()).collect();
            match bootstrap_law(&seps, &fit, &BootstrapOptions::default()) {
                Ok(intervals) => Some(intervals),
                Err(e) => {
                    notes.push(format!("{LAW_INTERVALS_NOT_COMPUTED}: {e}"));
                    None
                }
            }
        });
        Report {
            law_intervals,
            n: class_counts.iter().sum(),
            classes: class_counts.len(),
            balanced: class_counts.windows(2).all(|w| w[0] == w[1]),
            class_counts,
            definitions: DEFINITIONS,
            layers: layers
                .into_iter()
                .enumerate()
                .map(|(index, (name, separation))| LayerReport {
                    name,
                    index,
                    separation,
                })
                .collect(),
            law,
            classifier,
            notes,
        }
    }

    /// Fits the law again over the layers `fit` selects, replacing `law` and any
    /// `"law not fitted"` note (a fit that fails on a selected layer's $D$ is a note, as in
    /// [`Report::from_separations`]).
    ///
    /// Errors: `fit` names a layer the report does not have, or selects fewer than two
    /// ([`crate::ExperimentError::FitLayers`]); the report is then left as it was.
    pub fn refit(&mut self, fit: &FitLayers) -> Result<()> {
        let indices = fit.resolve(self.layers.len())?;
        self.fit_over(&indices);
        Ok(())
    }

    /// Fits the law over `indices` (those beyond the last layer are left out), replacing `law`
    /// and any `"law not fitted"` note, and its bootstrap intervals (default options) over the
    /// fitted layers.
    pub(crate) fn fit_over(&mut self, indices: &[usize]) {
        self.notes.retain(|n| !n.starts_with(LAW_NOT_FITTED));
        let d = self.fuzziness();
        let kept: Vec<usize> = indices.iter().copied().filter(|&l| l < d.len()).collect();
        self.law = match fit_law_at(&d, &kept) {
            Ok(fit) => Some(fit),
            Err(e) => {
                self.notes.push(format!("{LAW_NOT_FITTED}: {e}"));
                None
            }
        };
        self.notes
            .retain(|n| !n.starts_with(LAW_INTERVALS_NOT_COMPUTED));
        self.law_intervals = None;
        if let Some(fit) = &self.law {
            let seps: Vec<&Separation> = self.layers.iter().map(|l| &l.separation).collect();
            match bootstrap_law(&seps, &fit.fit_layers, &BootstrapOptions::default()) {
                Ok(intervals) => self.law_intervals = Some(intervals),
                Err(e) => self
                    .notes
                    .push(format!("{LAW_INTERVALS_NOT_COMPUTED}: {e}")),
            }
        }
    }

    /// Recomputes [`Report::law_intervals`] with other bootstrap options (replicates, seed,
    /// level), over the layers of the law fit; `replicates = 0` removes them. Errors as [`layerlaw_geometry::bootstrap_law`].
    pub fn with_bootstrap(
        mut self,
        opts: &BootstrapOptions,
    ) -> std::result::Result<Report, layerlaw_geometry::GeometryError> {
        self.notes
            .retain(|n| !n.starts_with(LAW_INTERVALS_NOT_COMPUTED));
        if opts.replicates == 0 || self.law.is_none() {
            self.law_intervals = None;
            return Ok(self);
        }
        let seps: Vec<&Separation> = self.layers.iter().map(|l| &l.separation).collect();
        let fit = self
            .law
            .as_ref()
            .map(|f| f.fit_layers.clone())
            .unwrap_or_default();
        self.law_intervals = Some(bootstrap_law(&seps, &fit, opts)?);
        Ok(self)
    }

    /// $D_l$ of every layer, in order.
    pub fn fuzziness(&self) -> Vec<f64> {
        self.layers.iter().map(LayerReport::fuzziness).collect()
    }

    /// The layer named `name`, if any.
    pub fn layer(&self, name: &str) -> Option<&LayerReport> {
        self.layers.iter().find(|l| l.name == name)
    }
}
