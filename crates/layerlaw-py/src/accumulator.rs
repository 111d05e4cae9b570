//! `layerlaw.Accumulator`: the streaming, mergeable [`MultiLayerAccumulator`] for Python, with
//! layer names, bytes and pickle support (so `torch.distributed` ranks or Ray workers can
//! gather and merge exactly).
//!
//! Memory per layer of dimension $p$: $8(Kp + p^2)$ bytes (see the geometry crate); layers
//! above `max_dim` (default 4096) are refused.

use layerlaw_geometry::{MultiLayerAccumulator, SeparationOptions, DEFAULT_MAX_DIM};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use layerlaw_experiments::Report;

use crate::arrays::{self, with_features};
use crate::envelope::{decode, encode, Envelope};
use crate::errors::geometry_error;
use crate::report::PyReport;

/// Streaming separation statistics of several layers (exact, mergeable, picklable).
///
/// `Accumulator(layers, classes, max_dim=4096)`: `layers` is a list of names or a number of
/// layers (named `"0"`, `"1"`, ...). `update(layer, X, y)` adds a batch of one layer's features
/// (any float dtype and layout, labels of any integer dtype); `merge(other)` adds everything
/// another accumulator saw (Chan–Golub–LeVeque pairwise update, exact up to rounding);
/// `result()` gives a `Report` equal to `layerlaw.measure` on all the data (to ~1e-12).
#[pyclass(module = "layerlaw._layerlaw", name = "Accumulator", eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct Accumulator {
    /// The statistics, names, class counts and dimension limit (with their byte form).
    state: Envelope,
}

impl Accumulator {
    fn layer_index(&self, layer: &Bound<'_, PyAny>) -> PyResult<usize> {
        if let Ok(name) = layer.cast::<PyString>() {
            let name = name.to_str()?;
            return self
                .state
                .names
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "unknown layer '{name}'; the accumulator tracks {:?}",
                        self.state.names
                    ))
                });
        }
        let index: i64 = layer.extract().map_err(|_| {
            PyTypeError::new_err("layer must be a layer name (str) or an index (int)")
        })?;
        usize::try_from(index)
            .ok()
            .filter(|&i| i < self.state.names.len())
            .ok_or_else(|| {
                PyValueError::new_err(format!(
                    "layer {index} is out of range: the accumulator tracks {} layers",
                    self.state.names.len()
                ))
            })
    }
}

#[pymethods]
impl Accumulator {
    /// An empty accumulator for `layers` (names or a count) and `classes` = $K \ge 2$ classes.
    #[new]
    #[pyo3(signature = (layers, classes, max_dim=DEFAULT_MAX_DIM))]
    fn new(layers: &Bound<'_, PyAny>, classes: i64, max_dim: usize) -> PyResult<Self> {
        let names: Vec<String> = if let Ok(n) = layers.extract::<i64>() {
            let n = usize::try_from(n)
                .map_err(|_| PyValueError::new_err(format!("layers must be >= 1, got {n}")))?;
            (0..n).map(|i| i.to_string()).collect()
        } else {
            layers.extract().map_err(|_| {
                PyTypeError::new_err(
                    "layers must be a list of layer names (str) or a number of layers",
                )
            })?
        };
        if names.is_empty() {
            return Err(PyValueError::new_err(
                "an accumulator needs at least one layer",
            ));
        }
        if let Some((i, name)) = names
            .iter()
            .enumerate()
            .find(|(i, n)| names[..*i].contains(n))
        {
            return Err(PyValueError::new_err(format!(
                "layer name '{name}' is given twice (position {i})"
            )));
        }
        let k = usize::try_from(classes)
            .map_err(|_| PyValueError::new_err(format!("classes must be >= 2, got {classes}")))?;
        let inner = MultiLayerAccumulator::new(k, names.len())
            .map_err(|e| geometry_error(e, None))?
            .with_max_dim(max_dim);
        Ok(Accumulator {
            state: Envelope {
                counts: vec![vec![0; k]; names.len()],
                inner,
                names,
                max_dim,
            },
        })
    }

    /// Adds a batch: `X` (b×p, or b×… flattened) of layer `layer` (name or index) with labels
    /// `y` (length b, integers in `0..K`). On error nothing is added.
    fn update(
        &mut self,
        py: Python<'_>,
        layer: &Bound<'_, PyAny>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let index = self.layer_index(layer)?;
        let what = format!("layer '{}'", self.state.names[index]);
        let labels = arrays::labels_usize(y, &what)?;
        let feats = arrays::features(x, &what)?;
        let view = feats.view();
        let inner = &mut self.state.inner;
        py.detach(|| with_features!(view, |m| inner.update(index, m, &labels)))
            .map_err(|e| geometry_error(e, Some(&what)))?;
        for &c in &labels {
            self.state.counts[index][c] += 1;
        }
        Ok(())
    }

    /// Adds everything `other` has seen (same layer names and class count).
    fn merge(&mut self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<()> {
        let other: Accumulator = match other.cast::<Accumulator>() {
            Ok(o) => match o.try_borrow() {
                Ok(b) => b.clone(),
                // `acc.merge(acc)`: `self` is already borrowed mutably; merge a snapshot.
                Err(_) => self.clone(),
            },
            Err(_) => {
                return Err(PyTypeError::new_err(
                    "merge needs another layerlaw.Accumulator",
                ))
            }
        };
        if other.state.names != self.state.names {
            return Err(PyValueError::new_err(format!(
                "cannot merge accumulators with different layers: {:?} vs {:?}",
                self.state.names, other.state.names
            )));
        }
        let inner = &mut self.state.inner;
        py.detach(|| inner.merge(&other.state.inner))
            .map_err(|e| geometry_error(e, None))?;
        for (mine, theirs) in self.state.counts.iter_mut().zip(&other.state.counts) {
            for (a, b) in mine.iter_mut().zip(theirs) {
                *a += b;
            }
        }
        Ok(())
    }

    /// The `Report` of everything seen: every layer's separation, the law fit, class counts
    /// (those of the first layer; a note says so when layers saw different samples).
    fn result(&self, py: Python<'_>) -> PyResult<PyReport> {
        let report = py.detach(|| -> PyResult<_> {
            let opts = SeparationOptions::default();
            let mut seps = Vec::with_capacity(self.state.names.len());
            for (l, name) in self.state.names.iter().enumerate() {
                let sep = self
                    .state.inner
                    .layer_result(l, &opts)
                    .map_err(|e| geometry_error(e, Some(&format!("layer '{name}'"))))?;
                seps.push((name.clone(), sep));
            }
            let mut notes = Vec::new();
            if let Some(l) = self.state.counts.iter().position(|c| c != &self.state.counts[0]) {
                notes.push(format!(
                    "layer '{}' saw class counts {:?} but layer '{}' saw {:?}; n and class_counts are the first layer's",
                    self.state.names[l], self.state.counts[l], self.state.names[0], self.state.counts[0]
                ));
            }
            let counts = self.state.counts[0].iter().map(|&c| c as usize).collect();
            Ok(Report::from_separations(counts, seps, None, notes))
        })?;
        PyReport::new(py, report)
    }

    /// The layer names, in order.
    #[getter]
    fn layers(&self) -> Vec<String> {
        self.state.names.clone()
    }

    /// The number of classes $K$.
    #[getter]
    fn num_classes(&self) -> usize {
        self.state.inner.num_classes()
    }

    /// The largest accepted feature dimension.
    #[getter]
    fn max_dim(&self) -> usize {
        self.state.max_dim
    }

    /// Samples seen by `layer` (name or index).
    fn num_samples(&self, layer: &Bound<'_, PyAny>) -> PyResult<u64> {
        Ok(self.state.inner.num_samples(self.layer_index(layer)?))
    }

    /// Class counts $n_k$ seen by `layer` (name or index).
    fn class_counts(&self, layer: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
        Ok(self.state.counts[self.layer_index(layer)?].clone())
    }

    /// A self-contained, versioned byte string (layer names, counts, means and scatters).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &encode(&self.state))
    }

    /// Reads bytes written by `to_bytes`, validating them (`ValueError` if corrupt).
    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<Self> {
        decode(data).map(|state| Accumulator { state })
    }

    /// Pickle support: `(layerlaw._layerlaw._accumulator_from_bytes, (bytes,))`.
    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let f = py
            .import("layerlaw._layerlaw")?
            .getattr("_accumulator_from_bytes")?;
        Ok((f, (self.to_bytes(py),)))
    }

    fn __repr__(&self) -> String {
        let seen: Vec<u64> = (0..self.state.names.len())
            .map(|l| self.state.inner.num_samples(l))
            .collect();
        format!(
            "Accumulator(layers={:?}, classes={}, samples per layer={:?})",
            self.state.names,
            self.state.inner.num_classes(),
            seen
        )
    }
}

/// Rebuilds an [`Accumulator`] from `to_bytes` output (the pickle constructor).
#[pyfunction]
pub fn _accumulator_from_bytes(data: &[u8]) -> PyResult<Accumulator> {
    decode(data).map(|state| Accumulator { state })
}
