//! Running a model in chunks with the selected intermediate nodes promoted to outputs.
//!
//! The engine (tract) returns only a graph's outputs, so the runner makes every selected
//! node's first output a graph output before optimising; the optimiser then keeps those values
//! exactly (fusions happen around them, not through them).

use std::sync::{Arc, Mutex};

use layerlaw_geometry::NamedLayer;
use tract_onnx::prelude::*;

use crate::error::{engine, OnnxError, Result};
use crate::model::OnnxModel;
use crate::select::Layer;

/// Rows per run when the batch axis is dynamic and the caller has no preference: within the
/// 8–64 rows where per-run overhead is amortised and activations stay in cache.
pub const DEFAULT_CHUNK: usize = 32;

/// What a [`Runner::run_chunks`] call did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunReport {
    /// Samples run.
    pub rows: usize,
    /// Chunks run (calls of the callback).
    pub chunks: usize,
    /// Rows per chunk (the model's fixed batch size when it has one; the last chunk may hold
    /// fewer).
    pub chunk_rows: usize,
    /// Threads used: chunks run at once, each on one thread.
    pub threads: usize,
}

type Plan = Arc<TypedRunnableModel>;

/// Runs an [`OnnxModel`] over data in chunks, handing each selected layer's rows to a callback.
///
/// Optimised plans are cached per input shape (at most two per call of
/// [`run_chunks`](Runner::run_chunks): full chunks and the last one), so running the data twice,
/// as the two-pass statistics do, optimises once.
#[derive(Debug)]
pub struct Runner<'m> {
    model: &'m OnnxModel,
    layers: Vec<Layer>,
    outlets: Vec<OutletId>,
    threads: usize,
    plans: Mutex<Vec<(Vec<usize>, Plan)>>,
    /// Reject layers whose values are not floating point (off when listing candidates).
    floats_only: bool,
}

/// The number of threads the machine gives this process (1 when unknown).
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl OnnxModel {
    /// A runner for `layers` (from [`OnnxModel::select`] or [`OnnxModel::default_layers`]),
    /// using [`available_threads`] threads.
    ///
    /// # Errors
    /// [`OnnxError::Argument`] for an empty selection, [`OnnxError::BadLayer`] for a layer of
    /// another model.
    pub fn runner(&self, layers: &[Layer]) -> Result<Runner<'_>> {
        if layers.is_empty() {
            return Err(OnnxError::Argument {
                path: self.path.clone(),
                reason: "no layer selected".into(),
            });
        }
        Runner::new_unchecked(self, layers.to_vec())
    }
}

impl<'m> Runner<'m> {
    pub(crate) fn new_unchecked(model: &'m OnnxModel, layers: Vec<Layer>) -> Result<Runner<'m>> {
        let mut outlets = Vec::new();
        for l in &layers {
            if l.position == 0 {
                continue;
            }
            let outlet = model
                .outlets
                .get(&l.tensor)
                .ok_or_else(|| OnnxError::BadLayer {
                    path: model.path.clone(),
                    layer: l.name.clone(),
                    reason: format!("tensor `{}` is not in this model", l.tensor),
                })?;
            outlets.push(*outlet);
        }
        let threads = available_threads();
        Ok(Runner {
            model,
            layers,
            outlets,
            threads,
            plans: Mutex::new(Vec::new()),
            floats_only: true,
        })
    }

    /// Keeps layers of any element type (for listing candidates).
    pub(crate) fn any_type(mut self) -> Self {
        self.floats_only = false;
        self
    }

    /// Runs up to `threads` chunks at once (at least 1).
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Chunks run at once, one per thread.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The layers handed to the callback, in this order.
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The optimised plan for input shape `shape`, from the cache or made now.
    fn plan(&self, shape: &[usize]) -> Result<Plan> {
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, p)) = plans.iter().find(|(s, _)| s == shape) {
            return Ok(p.clone());
        }
        let path = &self.model.path;
        let mut m = self.model.model.clone();
        m.set_input_fact(
            0,
            InferenceFact::dt_shape(f32::datum_type(), shape.to_vec()),
        )
        .and_then(|_| m.select_output_outlets(&self.outlets))
        .map_err(|e| engine(path, "setting the input shape", e))?;
        let typed = m
            .into_typed()
            .map_err(|e| engine(path, "analysing the graph", e))?;
        let nodes = self.layers.iter().filter(|l| l.position > 0);
        for (l, outlet) in nodes.zip(typed.output_outlets().unwrap_or(&[])) {
            let fact = typed
                .outlet_fact(*outlet)
                .map_err(|e| engine(path, "analysing the graph", e))?;
            if self.floats_only && !fact.datum_type.is_float() {
                return Err(OnnxError::BadLayer {
                    path: path.clone(),
                    layer: l.name.clone(),
                    reason: format!("its values are {:?}, not floating point", fact.datum_type),
                });
            }
        }
        let plan = typed
            .into_optimized()
            .and_then(|t| t.into_runnable())
            .map_err(|e| engine(path, "optimising the graph", e))?;
        plans.push((shape.to_vec(), plan.clone()));
        Ok(plan)
    }

    /// Runs one batch of `shape` through the engine; outputs in [`Runner::layers`] order
    /// (nodes only).
    fn run_batch(&self, data: &[f32], shape: &[usize], stage: &str) -> Result<TVec<TValue>> {
        let path = &self.model.path;
        let plan = self.plan(shape)?;
        let input = Tensor::from_shape(shape, data).map_err(|e| engine(path, stage, e))?;
        plan.run(tvec!(input.into_tvalue()))
            .map_err(|e| engine(path, stage, e))
    }

    /// Runs the first chunk of `inputs` and returns the raw outputs (for listing layers).
    pub(crate) fn run_raw(&self, inputs: &[f32], shape: &[usize]) -> Result<TVec<TValue>> {
        self.check(inputs, shape)?;
        let per_row: usize = shape[1..].iter().product();
        let rows = self
            .model
            .input
            .fixed_batch()
            .unwrap_or(shape[0].min(DEFAULT_CHUNK));
        let take = rows.min(shape[0]);
        let mut data = inputs[..take * per_row].to_vec();
        data.resize(rows * per_row, 0.0);
        let mut run_shape = shape.to_vec();
        run_shape[0] = rows;
        self.run_batch(&data, &run_shape, "running the sample batch")
    }

    fn check(&self, inputs: &[f32], shape: &[usize]) -> Result<()> {
        self.model.check_input_shape(shape)?;
        let expected: usize = shape.iter().product();
        if inputs.len() != expected {
            return Err(OnnxError::InputLength {
                path: self.model.path.clone(),
                len: inputs.len(),
                shape: format!("{shape:?}"),
                expected,
            });
        }
        Ok(())
    }

    /// Runs the chunk of `rows` rows from row `start` (padded to the fixed batch when the model
    /// has one) and returns its node outputs as f32 tensors, batch axis first.
    fn compute_chunk(
        &self,
        inputs: &[f32],
        shape: &[usize],
        rows: usize,
        start: usize,
        index: usize,
    ) -> Result<Vec<Tensor>> {
        let path = &self.model.path;
        let n = shape[0];
        let per_row: usize = shape[1..].iter().product();
        let take = rows.min(n - start);
        let data = &inputs[start * per_row..(start + take) * per_row];
        let run_rows = if self.model.input.fixed_batch().is_some() {
            rows
        } else {
            take
        };
        let padded;
        let run_data = if run_rows > take {
            let mut p = data.to_vec();
            p.resize(run_rows * per_row, 0.0);
            padded = p;
            &padded[..]
        } else {
            data
        };
        let mut run_shape = shape.to_vec();
        run_shape[0] = run_rows;
        let outputs = self.run_batch(run_data, &run_shape, &format!("running chunk {index}"))?;
        let mut tensors = Vec::with_capacity(outputs.len());
        for (value, layer) in outputs
            .into_iter()
            .zip(self.layers.iter().filter(|l| l.position > 0))
        {
            if value.shape().first() != Some(&run_rows) {
                return Err(OnnxError::BadLayer {
                    path: path.clone(),
                    layer: layer.name.clone(),
                    reason: format!(
                        "its output has shape {:?}, whose first axis is not the batch of {run_rows}",
                        value.shape()
                    ),
                });
            }
            let t = value.into_tensor();
            tensors.push(if t.datum_type() == f32::datum_type() {
                t
            } else {
                t.cast_to::<f32>()
                    .map_err(|e| engine(path, format!("converting {} to f32", layer.name), e))?
                    .into_owned()
            });
        }
        Ok(tensors)
    }

    /// Runs `inputs` (row-major, shape `shape` = `[n, c, h, w]` or `[n, d]`, batch axis first)
    /// through the model in chunks and calls `f(chunk_index, layers)` once per chunk, in order,
    /// where `layers[j]` holds the chunk's rows of [`Runner::layers`]`[j]`, each sample's
    /// output flattened in C·H·W (row-major) order, as an (rows × C·H·W) [`NamedLayer`].
    ///
    /// A dynamic batch axis is run `chunk` rows at a time (8–64 is a good range, see
    /// [`DEFAULT_CHUNK`]); a fixed batch axis of size b is run b rows at a time whatever
    /// `chunk` is, the last chunk padded with zero rows whose outputs are dropped (inference
    /// treats samples independently). Up to [`Runner::threads`] chunks run at once, one per
    /// thread (each single-threaded in the engine), and `f` sees them in order on the calling
    /// thread, so results are deterministic: the same inputs and chunk give the same bits
    /// whatever the number of threads.
    ///
    /// # Errors
    /// [`OnnxError::InputShape`] naming the model's input shape and `shape`;
    /// [`OnnxError::InputLength`]; [`OnnxError::Argument`] for `chunk == 0`;
    /// [`OnnxError::BadLayer`] for a layer whose values are not floating point or whose first
    /// axis is not the batch; [`OnnxError::Engine`]; and whatever `f` returns.
    pub fn run_chunks<E, F>(
        &self,
        inputs: &[f32],
        shape: &[usize],
        chunk: usize,
        mut f: F,
    ) -> std::result::Result<RunReport, E>
    where
        E: From<OnnxError>,
        F: FnMut(usize, &[NamedLayer<'_>]) -> std::result::Result<(), E>,
    {
        let path = &self.model.path;
        if chunk == 0 {
            return Err(OnnxError::Argument {
                path: path.clone(),
                reason: "the chunk size must be at least 1 row".into(),
            }
            .into());
        }
        self.check(inputs, shape)?;
        let n = shape[0];
        let per_row: usize = shape[1..].iter().product();
        let fixed = self.model.input.fixed_batch();
        let rows = fixed.unwrap_or(chunk.min(n));
        let starts: Vec<usize> = (0..n).step_by(rows).collect();
        let mut chunks = 0;
        for wave in starts.chunks(self.threads) {
            let base = chunks;
            let computed: Vec<Result<Vec<Tensor>>> = if wave.len() == 1 {
                vec![self.compute_chunk(inputs, shape, rows, wave[0], base)]
            } else {
                std::thread::scope(|scope| {
                    let handles: Vec<_> = wave
                        .iter()
                        .enumerate()
                        .map(|(k, &start)| {
                            scope.spawn(move || {
                                self.compute_chunk(inputs, shape, rows, start, base + k)
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("a chunk's thread panicked"))
                        .collect()
                })
            };
            for (k, (outputs, &start)) in computed.into_iter().zip(wave).enumerate() {
                let outputs = outputs?;
                let take = rows.min(n - start);
                let data = &inputs[start * per_row..(start + take) * per_row];
                let mut views: Vec<NamedLayer<'_>> = Vec::with_capacity(self.layers.len());
                let mut out = outputs.iter();
                for layer in &self.layers {
                    let (values, dim): (&[f32], usize) = if layer.position == 0 {
                        (data, per_row)
                    } else {
                        let t = out.next().expect("one output per node layer");
                        let all = t
                            .try_as_plain_ram()
                            .and_then(|v| v.as_slice::<f32>())
                            .map_err(|e| engine(path, format!("reading {}", layer.name), e))?;
                        let dim = all.len() / t.shape()[0];
                        (&all[..take * dim], dim)
                    };
                    let view =
                        NamedLayer::row_major_f32(&layer.name, values, dim).map_err(|e| {
                            OnnxError::BadLayer {
                                path: path.clone(),
                                layer: layer.name.clone(),
                                reason: e.to_string(),
                            }
                        })?;
                    views.push(view);
                }
                f(base + k, &views)?;
            }
            chunks += wave.len();
        }
        Ok(RunReport {
            rows: n,
            chunks,
            chunk_rows: rows,
            threads: self.threads,
        })
    }
}
