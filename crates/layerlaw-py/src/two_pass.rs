//! `Pass1`, `Basis`, `Pass2` and `_measure_statistics`: the two-pass $O(pK)$ statistics of
//! `layerlaw_geometry::two_pass` for Python (NumPy batches, or sums formed by torch on a
//! device), and the report built from finished passes.
//!
//! Pass 1 keeps class counts and f64 class sums; `Pass1.close()` gives the `Basis` (class
//! means and the orthonormal between-class basis $Q$); pass 2 keeps
//! $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$ and $\sum_i\|z_i\|^2$ with $z_i = x_i-\bar x_{y_i}$.
//! Every state merges, pickles and round-trips through `to_bytes`/`from_bytes`.

use faer::MatRef;
use layerlaw_geometry::{
    classifier_collapse, classifier_geometry, finish, Basis, CentreAgreement, Pass1, Pass2,
    Separation, SeparationOptions,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::arrays;
use crate::errors::geometry_error;
use layerlaw_experiments::{ClassifierReport, Report};

use crate::report::PyReport;

/// Non-negative integer counts from any 1-D integer array or list.
fn counts_arg(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u64>> {
    arrays::labels(obj, what)?
        .into_iter()
        .enumerate()
        .map(|(c, v)| {
            u64::try_from(v).map_err(|_| {
                PyValueError::new_err(format!("{what}: count of class {c} is negative ({v})"))
            })
        })
        .collect()
}

fn options(rank_tolerance: f64) -> SeparationOptions {
    SeparationOptions {
        rank_tolerance,
        ..SeparationOptions::default()
    }
}

/// Pass 1 of one layer: class counts and float64 class sums (K×p).
///
/// `Pass1(classes, dim)`; `update(X, y)` adds a batch (b×p, float32/float64, any layout;
/// labels in 0..K); `merge(other)`; `Pass1.from_parts(counts, sums)` wraps sums formed
/// elsewhere (e.g. by torch); `close()` gives the `Basis`. Errors name the batch.
#[pyclass(module = "layerlaw._layerlaw", name = "Pass1", eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyPass1 {
    inner: Pass1,
}

#[pymethods]
impl PyPass1 {
    /// An empty state for `classes` ($K\ge2$) classes and dimension `dim`.
    #[new]
    fn new(classes: usize, dim: usize) -> PyResult<Self> {
        let inner = Pass1::new(classes, dim).map_err(|e| geometry_error(e, None))?;
        Ok(PyPass1 { inner })
    }

    /// A state from `counts` (K integers) and `sums` (K×p, summed in float64 elsewhere).
    #[staticmethod]
    fn from_parts(counts: &Bound<'_, PyAny>, sums: &Bound<'_, PyAny>) -> PyResult<Self> {
        let counts = counts_arg(counts, "counts")?;
        let (sums, rows, _) = arrays::dense_f64(sums, "sums")?;
        if rows != counts.len() {
            return Err(PyValueError::new_err(format!(
                "sums has {rows} rows but there are {} class counts",
                counts.len()
            )));
        }
        let inner = Pass1::from_parts(counts, sums).map_err(|e| geometry_error(e, None))?;
        Ok(PyPass1 { inner })
    }

    /// Adds a batch `X` (b×p) with labels `y` (b integers in 0..K). On error nothing is added.
    fn update(
        &mut self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let labels = arrays::labels_usize(y, "y")?;
        let feats = arrays::features(x, "X")?;
        let view = feats.view();
        let inner = &mut self.inner;
        py.detach(|| inner.update(view, &labels))
            .map_err(|e| geometry_error(e, None))
    }

    /// Adds everything `other` has seen (same K and p).
    fn merge(&mut self, other: PyRef<'_, PyPass1>) -> PyResult<()> {
        self.inner
            .merge(&other.inner)
            .map_err(|e| geometry_error(e, None))
    }

    /// Closes pass 1: the class means and the between-class basis.
    #[pyo3(signature = (rank_tolerance=1e-6))]
    fn close(&self, py: Python<'_>, rank_tolerance: f64) -> PyResult<PyBasis> {
        let inner = &self.inner;
        let basis = py
            .detach(|| inner.close(&options(rank_tolerance)))
            .map_err(|e| geometry_error(e, None))?;
        Ok(PyBasis { inner: basis })
    }

    /// Class counts so far.
    #[getter]
    fn counts(&self) -> Vec<u64> {
        self.inner.counts().to_vec()
    }

    /// Class sums so far, a K×p float64 array.
    #[getter]
    fn sums<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (k, p) = (self.inner.num_classes(), self.inner.dim());
        arrays::matrix_to_numpy(py, MatRef::from_row_major_slice(self.inner.sums(), k, p))
    }

    /// Number of classes K.
    #[getter]
    fn num_classes(&self) -> usize {
        self.inner.num_classes()
    }

    /// Feature dimension p.
    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// Samples seen so far.
    #[getter]
    fn num_samples(&self) -> u64 {
        self.inner.num_samples()
    }

    /// Batches added so far (merged states add theirs).
    #[getter]
    fn batches(&self) -> u64 {
        self.inner.batches()
    }

    /// A versioned, checksummed byte string of the state.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// Reads `to_bytes` output, validating it (`ValueError` if corrupt).
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        let inner = Pass1::from_bytes(data).map_err(|e| geometry_error(e, None))?;
        Ok(PyPass1 { inner })
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let f = py.get_type::<PyPass1>().getattr("from_bytes")?;
        Ok((f, (self.to_bytes(py),)))
    }

    fn __repr__(&self) -> String {
        format!(
            "Pass1(classes={}, dim={}, samples={}, batches={})",
            self.inner.num_classes(),
            self.inner.dim(),
            self.inner.num_samples(),
            self.inner.batches()
        )
    }
}

/// A closed pass 1: class means (K×p), the orthonormal between-class basis `q` (p×r) and the
/// class counts. Rebuilt deterministically from the same `Pass1`.
#[pyclass(module = "layerlaw._layerlaw", name = "Basis", frozen)]
#[derive(Debug, Clone)]
pub struct PyBasis {
    inner: Basis,
}

#[pymethods]
impl PyBasis {
    /// Class means, a K×p float64 array.
    #[getter]
    fn means<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        arrays::matrix_to_numpy(py, self.inner.means())
    }

    /// The basis Q, a p×r float64 array with orthonormal columns.
    #[getter]
    fn q<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        arrays::matrix_to_numpy(py, self.inner.q())
    }

    /// Class counts of pass 1.
    #[getter]
    fn counts(&self) -> Vec<usize> {
        self.inner.counts().to_vec()
    }

    /// Number of basis directions r.
    #[getter]
    fn rank(&self) -> usize {
        self.inner.rank()
    }

    /// Feature dimension p.
    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// Number of classes K.
    #[getter]
    fn num_classes(&self) -> usize {
        self.inner.num_classes()
    }

    /// Fingerprint of the pass-1 state this basis comes from (pass-2 states carry it).
    #[getter]
    fn fingerprint(&self) -> u64 {
        self.inner.fingerprint()
    }

    fn __repr__(&self) -> String {
        format!(
            "Basis(classes={}, dim={}, rank={}, samples={})",
            self.inner.num_classes(),
            self.inner.dim(),
            self.inner.rank(),
            self.inner.num_samples()
        )
    }
}

/// Pass 2 of one layer for a `Basis`: the projected within-class scatter (r×r), the sum of
/// squared residuals and the class counts (which must equal pass 1's when finishing).
#[pyclass(module = "layerlaw._layerlaw", name = "Pass2", eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct PyPass2 {
    inner: Pass2,
}

#[pymethods]
impl PyPass2 {
    /// An empty pass-2 state for `basis`.
    #[new]
    fn new(basis: &PyBasis) -> Self {
        PyPass2 {
            inner: Pass2::new(&basis.inner),
        }
    }

    /// A state from sums formed elsewhere: `counts` (K), `scatter` (r×r) and `sum_squares`.
    #[staticmethod]
    fn from_parts(
        basis: &PyBasis,
        counts: &Bound<'_, PyAny>,
        scatter: &Bound<'_, PyAny>,
        sum_squares: f64,
    ) -> PyResult<Self> {
        let counts = counts_arg(counts, "counts")?;
        let (scatter, rows, cols) = arrays::dense_f64(scatter, "scatter")?;
        let r = basis.inner.rank();
        if (rows, cols) != (r, r) {
            return Err(PyValueError::new_err(format!(
                "scatter must be {r}x{r} (the basis rank), got {rows}x{cols}"
            )));
        }
        let inner = Pass2::from_parts(&basis.inner, counts, &scatter, sum_squares)
            .map_err(|e| geometry_error(e, None))?;
        Ok(PyPass2 { inner })
    }

    /// Adds a batch `X` (b×p) with labels `y`, centred and projected on `basis`.
    fn update(
        &mut self,
        py: Python<'_>,
        basis: &PyBasis,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let labels = arrays::labels_usize(y, "y")?;
        let feats = arrays::features(x, "X")?;
        let view = feats.view();
        let (inner, b) = (&mut self.inner, &basis.inner);
        py.detach(|| inner.update(b, view, &labels))
            .map_err(|e| geometry_error(e, None))
    }

    /// Adds everything `other` has seen (same basis).
    fn merge(&mut self, other: PyRef<'_, PyPass2>) -> PyResult<()> {
        self.inner
            .merge(&other.inner)
            .map_err(|e| geometry_error(e, None))
    }

    /// Class counts seen in pass 2.
    #[getter]
    fn counts(&self) -> Vec<u64> {
        self.inner.counts().to_vec()
    }

    /// The projected scatter, an r×r float64 array.
    #[getter]
    fn scatter<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = self.inner.rank();
        arrays::matrix_to_numpy(py, MatRef::from_row_major_slice(self.inner.scatter(), r, r))
    }

    /// The sum of squared residuals $\sum_i\|x_i-\bar x_{y_i}\|^2$.
    #[getter]
    fn sum_squares(&self) -> f64 {
        self.inner.sum_squares()
    }

    /// Fingerprint of the basis this state belongs to.
    #[getter]
    fn fingerprint(&self) -> u64 {
        self.inner.fingerprint()
    }

    /// A versioned, checksummed byte string of the state.
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }

    /// Reads `to_bytes` output, validating it (`ValueError` if corrupt).
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        let inner = Pass2::from_bytes(data).map_err(|e| geometry_error(e, None))?;
        Ok(PyPass2 { inner })
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let f = py.get_type::<PyPass2>().getattr("from_bytes")?;
        Ok((f, (self.to_bytes(py),)))
    }

    fn __repr__(&self) -> String {
        format!(
            "Pass2(classes={}, dim={}, rank={}, samples={})",
            self.inner.num_classes(),
            self.inner.dim(),
            self.inner.rank(),
            self.inner.counts().iter().sum::<u64>()
        )
    }
}

/// Finishes every layer (`names[l]`, `bases[l]`, `passes[l]`), fits the law over them in
/// order and, with `classifier_weight` (K×p of the last layer) and the pass-2 centre counts
/// `agreement = (samples, disagree, classifier_correct, ncc_correct)`, adds NC3/NC4 and the
/// minority/majority classifier geometry. Returns the same typed `Report` as `_measure`, built
/// by `layerlaw_experiments::Report::from_separations`.
#[pyfunction]
#[pyo3(signature = (names, bases, passes, classifier_weight=None, agreement=None, minority=None, notes=None))]
#[allow(clippy::too_many_arguments)]
pub fn _measure_statistics<'py>(
    py: Python<'py>,
    names: Vec<String>,
    bases: Vec<PyRef<'py, PyBasis>>,
    passes: Vec<PyRef<'py, PyPass2>>,
    classifier_weight: Option<&Bound<'py, PyAny>>,
    agreement: Option<(u64, u64, u64, u64)>,
    minority: Option<Vec<usize>>,
    notes: Option<Vec<String>>,
) -> PyResult<PyReport> {
    if names.is_empty() || names.len() != bases.len() || names.len() != passes.len() {
        return Err(PyValueError::new_err(format!(
            "need one basis and one pass-2 state per layer: {} names, {} bases, {} states",
            names.len(),
            bases.len(),
            passes.len()
        )));
    }
    let weight = classifier_weight
        .map(|w| arrays::dense_f64(w, "classifier_weight"))
        .transpose()?;
    let bases: Vec<Basis> = bases.iter().map(|b| b.inner.clone()).collect();
    let passes: Vec<Pass2> = passes.iter().map(|p| p.inner.clone()).collect();
    let report = py.detach(|| -> PyResult<_> {
        let mut seps: Vec<(String, Separation)> = Vec::with_capacity(names.len());
        for ((name, basis), pass2) in names.iter().zip(&bases).zip(&passes) {
            let sep = finish(basis, pass2)
                .map_err(|e| geometry_error(e, Some(&format!("layer '{name}'"))))?;
            seps.push((name.clone(), sep));
        }
        let last = &bases[bases.len() - 1];
        let classifier = match (&weight, agreement) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(PyValueError::new_err(
                    "classifier_weight needs the pass-2 centre agreement counts",
                ))
            }
            (Some((w, rows, cols)), Some((samples, disagree, clf, ncc))) => {
                let context = format!("classifier against layer '{}'", names[names.len() - 1]);
                let w = MatRef::from_row_major_slice(w, *rows, *cols);
                let counts = CentreAgreement {
                    samples,
                    disagree,
                    classifier_correct: clf,
                    ncc_correct: ncc,
                };
                let collapse = classifier_collapse(last, w, &counts)
                    .map_err(|e| geometry_error(e, Some(&context)))?;
                let groups = classifier_geometry(w, minority.as_deref().unwrap_or(&[]))
                    .map_err(|e| geometry_error(e, Some(&context)))?;
                Some(ClassifierReport { collapse, groups })
            }
        };
        Ok(Report::from_separations(
            last.counts().to_vec(),
            seps,
            classifier,
            notes.unwrap_or_default(),
        ))
    })?;
    PyReport::new(py, report)
}

/// Counts a batch for NC4 (`CentreAgreement.update` of the geometry crate) and returns the
/// updated `(samples, disagree, classifier_correct, ncc_correct)`: the NumPy path of what
/// `layerlaw.torch` counts on the device.
#[pyfunction]
#[pyo3(signature = (basis, counts, x, y, weight, bias=None))]
pub fn _centre_agreement(
    py: Python<'_>,
    basis: &PyBasis,
    counts: (u64, u64, u64, u64),
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    weight: &Bound<'_, PyAny>,
    bias: Option<&Bound<'_, PyAny>>,
) -> PyResult<(u64, u64, u64, u64)> {
    let labels = arrays::labels_usize(y, "y")?;
    let feats = arrays::features(x, "X")?;
    let (w, rows, cols) = arrays::dense_f64(weight, "weight")?;
    let bias = bias.map(|b| arrays::vector_f64(b, "bias")).transpose()?;
    let view = feats.view();
    let mut state = CentreAgreement {
        samples: counts.0,
        disagree: counts.1,
        classifier_correct: counts.2,
        ncc_correct: counts.3,
    };
    py.detach(|| {
        let w = MatRef::from_row_major_slice(&w, rows, cols);
        state.update(&basis.inner, 0, view, &labels, w, bias.as_deref())
    })
    .map_err(|e| geometry_error(e, None))?;
    Ok((
        state.samples,
        state.disagree,
        state.classifier_correct,
        state.ncc_correct,
    ))
}

/// Adds this module's classes and functions to the native module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPass1>()?;
    m.add_class::<PyBasis>()?;
    m.add_class::<PyPass2>()?;
    m.add_function(wrap_pyfunction!(_measure_statistics, m)?)?;
    m.add_function(wrap_pyfunction!(_centre_agreement, m)?)?;
    Ok(())
}
