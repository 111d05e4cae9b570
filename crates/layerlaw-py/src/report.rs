//! The report as Python objects: `Report`, `LayerReport`, `LawFit` and `ClassifierReport`, read-only
//! views of `layerlaw_experiments::Report` (the one report type, also behind `layerlaw measure
//! --json`), with attribute getters and `to_dict()`.
//!
//! `Report.to_dict()` has the shape of `layerlaw measure --json` without the `file` key. A law
//! that cannot be fitted (one layer; a layer with $D = 0$) gives `law = None` and a note
//! `"law not fitted: <reason>"`.

use layerlaw_experiments::{ClassifierReport, LayerReport, Report};
use layerlaw_geometry::{ClassifierGeometry, GroupGeometry, LawFit};
use numpy::PyArray1;
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::arrays;

/// Least-squares fit of $\ln D_l = \ln D_0 + l\ln\rho$ (He & Su, PNAS 2023).
#[pyclass(module = "layerlaw._layerlaw", name = "LawFit", frozen, eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyLawFit {
    inner: LawFit,
}

impl From<LawFit> for PyLawFit {
    fn from(inner: LawFit) -> Self {
        PyLawFit { inner }
    }
}

#[pymethods]
impl PyLawFit {
    /// OLS slope $\ln\rho$.
    #[getter]
    fn slope(&self) -> f64 {
        self.inner.slope
    }

    /// OLS intercept, the fitted $\ln D_0$.
    #[getter]
    fn intercept(&self) -> f64 {
        self.inner.intercept
    }

    /// Decay ratio $\rho = e^{\mathrm{slope}}$.
    #[getter]
    fn rho(&self) -> f64 {
        self.inner.rho
    }

    /// Coefficient of determination $R^2$.
    #[getter]
    fn r2(&self) -> f64 {
        self.inner.r2
    }

    /// Pearson r of $(l, \ln D_l)$; `None` when all $D_l$ are equal.
    #[getter]
    fn pearson_r(&self) -> Option<f64> {
        self.inner.pearson_r
    }

    /// $D_{l+1}/D_l$.
    #[getter]
    fn ratios(&self) -> Vec<f64> {
        self.inner.ratios.clone()
    }

    /// The indices $l$ of the layers that entered the fit, increasing.
    #[getter]
    fn fit_layers(&self) -> Vec<usize> {
        self.inner.fit_layers.clone()
    }

    /// $\ln D_l - (\mathrm{intercept} + \mathrm{slope}\cdot l)$ for every layer, fitted or
    /// not.
    #[getter]
    fn residuals(&self) -> Vec<f64> {
        self.inner.residuals.clone()
    }

    /// `{"slope", "intercept", "rho", "r2", "pearson_r", "ratios", "fit_layers", "residuals"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let f = &self.inner;
        let d = PyDict::new(py);
        d.set_item("slope", f.slope)?;
        d.set_item("intercept", f.intercept)?;
        d.set_item("rho", f.rho)?;
        d.set_item("r2", f.r2)?;
        d.set_item("pearson_r", f.pearson_r)?;
        d.set_item("ratios", f.ratios.clone())?;
        d.set_item("fit_layers", f.fit_layers.clone())?;
        d.set_item("residuals", f.residuals.clone())?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let f = &self.inner;
        format!(
            "LawFit(slope={}, intercept={}, rho={}, r2={}, pearson_r={:?})",
            f.slope, f.intercept, f.rho, f.r2, f.pearson_r
        )
    }
}

/// Geometry of one layer: every field of the Rust `Separation`, with its name and place.
#[pyclass(module = "layerlaw._layerlaw", name = "LayerReport", frozen)]
#[derive(Debug, Clone)]
pub struct PyLayerReport {
    inner: LayerReport,
}

#[pymethods]
impl PyLayerReport {
    /// Layer name.
    #[getter]
    fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// Position $l$ in the law fit.
    #[getter]
    fn index(&self) -> usize {
        self.inner.index
    }

    /// Feature dimension $p$.
    #[getter]
    fn dim(&self) -> usize {
        self.inner.separation.dim
    }

    /// Number of classes $K$.
    #[getter]
    fn num_classes(&self) -> usize {
        self.inner.separation.num_classes
    }

    /// Number of samples $n$.
    #[getter]
    fn num_samples(&self) -> usize {
        self.inner.separation.num_samples
    }

    /// He–Su $D = \mathrm{Tr}(SS_wSS_b^+)$, $n_k$-weighted $SS_b$.
    #[getter]
    fn fuzziness(&self) -> f64 {
        self.inner.separation.fuzziness
    }

    /// Papyan NC1 $= \mathrm{Tr}(\Sigma_W\Sigma_B^+)/K$, unweighted class means.
    #[getter]
    fn nc1(&self) -> f64 {
        self.inner.separation.nc1
    }

    /// Rank of $SS_b$ kept by the pseudo-inverse.
    #[getter]
    fn rank(&self) -> usize {
        self.inner.separation.rank
    }

    /// Rank of $\Sigma_B$ kept for NC1.
    #[getter]
    fn rank_nc1(&self) -> usize {
        self.inner.separation.rank_nc1
    }

    /// $\mathrm{Tr}\,SS_w$.
    #[getter]
    fn trace_within(&self) -> f64 {
        self.inner.separation.trace_within
    }

    /// $\mathrm{Tr}\,SS_b$.
    #[getter]
    fn trace_between(&self) -> f64 {
        self.inner.separation.trace_between
    }

    /// NC2 equinorm.
    #[getter]
    fn equinorm(&self) -> f64 {
        self.inner.separation.equinorm
    }

    /// NC2 equiangularity (`None` when a centred class mean is (near) zero).
    #[getter]
    fn equiangularity(&self) -> Option<f64> {
        self.inner.separation.equiangularity
    }

    /// Distance of the normalised Gram of the centred means from a simplex ETF.
    #[getter]
    fn etf_distance(&self) -> f64 {
        self.inner.separation.etf_distance
    }

    /// Notes on undefined quantities.
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.inner.separation.notes.clone()
    }

    /// The K×p class means (float64, a new array on each access); not part of `to_dict()`, as in
    /// the CLI's JSON.
    #[getter]
    fn class_means<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        arrays::matrix_to_numpy(py, self.inner.separation.class_means())
    }

    /// Every field but `class_means`, as in `layerlaw measure --json`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (l, s) = (&self.inner, &self.inner.separation);
        let d = PyDict::new(py);
        d.set_item("name", &l.name)?;
        d.set_item("index", l.index)?;
        d.set_item("dim", s.dim)?;
        d.set_item("num_classes", s.num_classes)?;
        d.set_item("num_samples", s.num_samples)?;
        d.set_item("fuzziness", s.fuzziness)?;
        d.set_item("nc1", s.nc1)?;
        d.set_item("rank", s.rank)?;
        d.set_item("rank_nc1", s.rank_nc1)?;
        d.set_item("trace_within", s.trace_within)?;
        d.set_item("trace_between", s.trace_between)?;
        d.set_item("equinorm", s.equinorm)?;
        d.set_item("equiangularity", s.equiangularity)?;
        d.set_item("etf_distance", s.etf_distance)?;
        d.set_item("notes", s.notes.clone())?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "LayerReport(name={:?}, index={}, dim={}, fuzziness={}, nc1={})",
            self.inner.name,
            self.inner.index,
            self.inner.separation.dim,
            self.inner.separation.fuzziness,
            self.inner.separation.nc1
        )
    }
}

fn group_dict<'py>(py: Python<'py>, g: &GroupGeometry) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("classes", g.classes.clone())?;
    d.set_item("mean_cosine", g.mean_cosine)?;
    d.set_item("mean_distance", g.mean_distance)?;
    d.set_item("mean_norm", g.mean_norm)?;
    d.set_item("note", g.note.clone())?;
    Ok(d)
}

fn groups_dict<'py>(py: Python<'py>, g: &ClassifierGeometry) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("minority", group_dict(py, &g.minority)?)?;
    d.set_item("majority", group_dict(py, &g.majority)?)?;
    d.set_item("etf_distance", g.etf_distance)?;
    Ok(d)
}

/// NC3/NC4 of the last layer against a linear classifier, and its minority/majority geometry.
#[pyclass(module = "layerlaw._layerlaw", name = "ClassifierReport", frozen)]
#[derive(Debug, Clone)]
pub struct PyClassifierReport {
    inner: ClassifierReport,
}

#[pymethods]
impl PyClassifierReport {
    /// NC3: distance between the normalised classifier and the normalised centred means.
    #[getter]
    fn nc3(&self) -> f64 {
        self.inner.collapse.nc3
    }

    /// NC4: fraction of samples where the classifier and the nearest class centre disagree.
    #[getter]
    fn nc4(&self) -> f64 {
        self.inner.collapse.nc4
    }

    /// The classifier's accuracy on the last layer's features.
    #[getter]
    fn classifier_accuracy(&self) -> f64 {
        self.inner.collapse.classifier_accuracy
    }

    /// The nearest-class-centre accuracy.
    #[getter]
    fn ncc_accuracy(&self) -> f64 {
        self.inner.collapse.ncc_accuracy
    }

    /// `{"minority": {...}, "majority": {...}, "etf_distance": float}` (a new dict on each
    /// access).
    #[getter]
    fn groups<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        groups_dict(py, &self.inner.groups)
    }

    /// `{"nc3", "nc4", "classifier_accuracy", "ncc_accuracy", "groups"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = &self.inner.collapse;
        let d = PyDict::new(py);
        d.set_item("nc3", c.nc3)?;
        d.set_item("nc4", c.nc4)?;
        d.set_item("classifier_accuracy", c.classifier_accuracy)?;
        d.set_item("ncc_accuracy", c.ncc_accuracy)?;
        d.set_item("groups", groups_dict(py, &self.inner.groups)?)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let c = &self.inner.collapse;
        format!(
            "ClassifierReport(nc3={}, nc4={}, classifier_accuracy={}, ncc_accuracy={})",
            c.nc3, c.nc4, c.classifier_accuracy, c.ncc_accuracy
        )
    }
}

/// Separation of every layer, the law fit and (optionally) the classifier metrics.
#[pyclass(module = "layerlaw._layerlaw", name = "Report", frozen)]
#[derive(Debug)]
pub struct PyReport {
    inner: Report,
    layers: Vec<Py<PyLayerReport>>,
    law: Option<Py<PyLawFit>>,
    classifier: Option<Py<PyClassifierReport>>,
}

impl PyReport {
    /// Wraps `report` (its layers, fit and classifier become Python objects once).
    pub fn new(py: Python<'_>, report: Report) -> PyResult<Self> {
        let layers = report
            .layers
            .iter()
            .map(|l| Py::new(py, PyLayerReport { inner: l.clone() }))
            .collect::<PyResult<_>>()?;
        let law = report
            .law
            .clone()
            .map(|f| Py::new(py, PyLawFit::from(f)))
            .transpose()?;
        let classifier = report
            .classifier
            .clone()
            .map(|c| Py::new(py, PyClassifierReport { inner: c }))
            .transpose()?;
        Ok(PyReport {
            inner: report,
            layers,
            law,
            classifier,
        })
    }

    /// The report underneath.
    pub fn report(&self) -> &Report {
        &self.inner
    }
}

#[pymethods]
impl PyReport {
    /// Number of samples $n$.
    #[getter]
    fn n(&self) -> usize {
        self.inner.n
    }

    /// Number of classes $K$.
    #[getter]
    fn classes(&self) -> usize {
        self.inner.classes
    }

    /// $n_k$ per class.
    #[getter]
    fn class_counts(&self) -> Vec<usize> {
        self.inner.class_counts.clone()
    }

    /// Whether every class has the same count (then $D = K\cdot\mathrm{NC1}$).
    #[getter]
    fn balanced(&self) -> bool {
        self.inner.balanced
    }

    /// `{"fuzziness", "nc1", "law"}`: which convention each number uses.
    #[getter]
    fn definitions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let defs = &self.inner.definitions;
        let d = PyDict::new(py);
        d.set_item("fuzziness", defs.fuzziness)?;
        d.set_item("nc1", defs.nc1)?;
        d.set_item("law", defs.law)?;
        Ok(d)
    }

    /// One `LayerReport` per layer, in fit order.
    #[getter]
    fn layers(&self, py: Python<'_>) -> Vec<Py<PyLayerReport>> {
        self.layers.iter().map(|l| l.clone_ref(py)).collect()
    }

    /// The law fit, or `None` when it cannot be fitted (`notes` says why).
    #[getter]
    fn law(&self, py: Python<'_>) -> Option<Py<PyLawFit>> {
        self.law.as_ref().map(|l| l.clone_ref(py))
    }

    /// The classifier metrics, when a classifier weight was given.
    #[getter]
    fn classifier(&self, py: Python<'_>) -> Option<Py<PyClassifierReport>> {
        self.classifier.as_ref().map(|c| c.clone_ref(py))
    }

    /// Remarks (a law that could not be fitted, layers that saw different samples, ...).
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.inner.notes.clone()
    }

    /// $D$ of every layer, in order (a NumPy array).
    #[getter]
    fn fuzziness<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_vec(py, self.inner.fuzziness())
    }

    /// The layer named `name` (`KeyError` if there is none).
    fn __getitem__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyLayerReport>> {
        self.inner
            .layers
            .iter()
            .position(|l| l.name == name)
            .map(|i| self.layers[i].clone_ref(py))
            .ok_or_else(|| PyKeyError::new_err(name.to_string()))
    }

    fn __len__(&self) -> usize {
        self.layers.len()
    }

    /// The shape of `layerlaw measure --json` without `file`: `{"n", "classes", "class_counts",
    /// "balanced", "definitions", "layers", "law", "classifier", "notes"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("n", self.inner.n)?;
        d.set_item("classes", self.inner.classes)?;
        d.set_item("class_counts", self.inner.class_counts.clone())?;
        d.set_item("balanced", self.inner.balanced)?;
        d.set_item("definitions", self.definitions(py)?)?;
        let layers = self
            .layers
            .iter()
            .map(|l| l.get().to_dict(py))
            .collect::<PyResult<Vec<_>>>()?;
        d.set_item("layers", layers)?;
        d.set_item(
            "law",
            self.law.as_ref().map(|l| l.get().to_dict(py)).transpose()?,
        )?;
        d.set_item(
            "classifier",
            self.classifier
                .as_ref()
                .map(|c| c.get().to_dict(py))
                .transpose()?,
        )?;
        d.set_item("notes", self.inner.notes.clone())?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let names: Vec<&str> = self.inner.layers.iter().map(|l| l.name.as_str()).collect();
        format!(
            "Report(n={}, classes={}, layers={:?}, rho={})",
            self.inner.n,
            self.inner.classes,
            names,
            self.inner
                .law
                .as_ref()
                .map_or("None".to_string(), |f| f.rho.to_string())
        )
    }
}
