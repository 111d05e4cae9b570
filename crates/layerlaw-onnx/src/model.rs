//! A loaded ONNX model: its input, its graph, and the engine's parsed form of it.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use tract_onnx::pb;
use tract_onnx::pb::tensor_shape_proto::dimension::Value as DimValue;
use tract_onnx::prelude::*;

use crate::error::{engine, OnnxError, Result};
use crate::graph::Graph;
use crate::proto;
use crate::select::{self, Layer};

/// One axis of the model's input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dim {
    /// A fixed size.
    Fixed(usize),
    /// A symbolic size (`dim_param`, such as `batch`), taken from the data fed.
    Dynamic(String),
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Dynamic(s) => write!(f, "{s}"),
        }
    }
}

/// The model's single input: its name and shape, batch axis first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputShape {
    /// The graph input's name.
    pub name: String,
    /// Every axis, the batch axis first (`[batch, 3, 32, 32]` or `[batch, 784]`).
    pub dims: Vec<Dim>,
}

impl InputShape {
    /// The fixed batch size, or `None` when the batch axis is dynamic.
    pub fn fixed_batch(&self) -> Option<usize> {
        match self.dims.first() {
            Some(Dim::Fixed(b)) => Some(*b),
            _ => None,
        }
    }
}

impl fmt::Display for InputShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self.dims.iter().map(Dim::to_string).collect();
        write!(f, "[{}]", dims.join(", "))
    }
}

/// A candidate layer for `--list-layers`: one node's first output, with its shape on a sample
/// batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// `input` or the ONNX node name.
    pub name: String,
    /// Operator type.
    pub op: String,
    /// The output's shape on the sample batch, batch axis first.
    pub output_shape: Vec<usize>,
}

impl LayerInfo {
    /// Features per sample: the product of the shape after the batch axis (C·H·W).
    pub fn dim(&self) -> usize {
        self.output_shape.iter().skip(1).product()
    }
}

/// An ONNX classifier loaded for layer-by-layer measurement.
///
/// Loading checks the file (see [`OnnxModel::load`]); nothing is optimised until a
/// [`Runner`](crate::Runner) is made for a set of layers.
#[derive(Clone, Debug)]
pub struct OnnxModel {
    pub(crate) path: PathBuf,
    pub(crate) dir: Option<String>,
    pub(crate) graph: Graph,
    pub(crate) proto_graph: pb::GraphProto,
    pub(crate) input: InputShape,
    pub(crate) model: InferenceModel,
    pub(crate) outlets: HashMap<String, OutletId>,
    pub(crate) opset: i64,
    pub(crate) producer: String,
}

/// The shape of a graph input as text (`[batch, 3, 32, 32]`).
fn shape_text(v: &pb::ValueInfoProto) -> String {
    let Some(pb::type_proto::Value::TensorType(t)) =
        v.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return "[?]".into();
    };
    let Some(shape) = &t.shape else {
        return "[?]".into();
    };
    let dims: Vec<String> = shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(DimValue::DimValue(n)) => n.to_string(),
            Some(DimValue::DimParam(s)) => s.clone(),
            None => "?".into(),
        })
        .collect();
    format!("[{}]", dims.join(", "))
}

impl OnnxModel {
    /// Loads an ONNX model.
    ///
    /// Tensors stored as external data (`model.onnx.data` beside `model.onnx`, as PyTorch
    /// writes models over 2 GB or `onnx.save_model(..., save_as_external_data=True)` writes
    /// any) are read from the model's folder. Opsets 13 to 18 are the ones tested; the batch
    /// axis may be fixed or dynamic.
    ///
    /// # Errors
    /// [`OnnxError::Io`], [`OnnxError::NotOnnx`] (not a protobuf `ModelProto`),
    /// [`OnnxError::Truncated`], [`OnnxError::ExternalData`] (missing or short data file),
    /// [`OnnxError::InputCount`] (no input or more than one: the message lists them),
    /// [`OnnxError::InputType`] (not float32, or a rank-0 input),
    /// [`OnnxError::UnsupportedOp`] (naming the operator and its node) and
    /// [`OnnxError::Engine`] (the engine rejects a node).
    pub fn load(path: impl AsRef<Path>) -> Result<OnnxModel> {
        let path = path.as_ref().to_path_buf();
        let proto = proto::read_model(&path)?;
        let graph_proto = proto.graph.clone().ok_or_else(|| OnnxError::NotOnnx {
            path: path.clone(),
            reason: "it has no graph".into(),
        })?;
        proto::check_external_data(&path, &graph_proto)?;
        let initializers: std::collections::HashSet<&str> = graph_proto
            .initializer
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let inputs: Vec<&pb::ValueInfoProto> = graph_proto
            .input
            .iter()
            .filter(|i| !initializers.contains(i.name.as_str()))
            .collect();
        if inputs.len() != 1 {
            return Err(OnnxError::InputCount {
                path,
                inputs: inputs
                    .iter()
                    .map(|i| format!("`{}` {}", i.name, shape_text(i)))
                    .collect(),
            });
        }
        let input = Self::input_shape_of(&path, inputs[0])?;
        // Intermediate shapes are inferred, not read: exporters write them with the symbolic
        // batch axis, which would contradict the concrete batch of each run.
        let onnx = tract_onnx::onnx()
            .with_ignore_value_info(true)
            .with_ignore_output_shapes(true);
        for n in &graph_proto.node {
            if !onnx.op_register.0.contains_key(&n.op_type) {
                let op = if n.domain.is_empty() || n.domain == "ai.onnx" {
                    n.op_type.clone()
                } else {
                    format!("{}::{}", n.domain, n.op_type)
                };
                let node = if n.name.is_empty() {
                    n.output.first().cloned().unwrap_or_default()
                } else {
                    n.name.clone()
                };
                return Err(OnnxError::UnsupportedOp { path, op, node });
            }
        }
        let dir = path.parent().and_then(|d| d.to_str()).map(String::from);
        let parsed = onnx
            .parse(&proto, dir.as_deref())
            .map_err(|e| engine(&path, "parsing the graph", e))?;
        if let Some(t) = parsed.unresolved_inputs.first() {
            return Err(OnnxError::NotOnnx {
                path,
                reason: format!("tensor `{t}` is used by a node but produced by none"),
            });
        }
        let graph = Graph::new(&graph_proto, &input.name);
        let opset = proto
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map_or(0, |o| o.version);
        Ok(OnnxModel {
            path,
            dir,
            graph,
            proto_graph: graph_proto,
            input,
            model: parsed.model,
            outlets: parsed.outlets_by_name,
            opset,
            producer: format!("{} {}", proto.producer_name, proto.producer_version)
                .trim()
                .to_string(),
        })
    }

    fn input_shape_of(path: &Path, v: &pb::ValueInfoProto) -> Result<InputShape> {
        let bad = |reason: String| OnnxError::InputType {
            path: path.to_path_buf(),
            input: v.name.clone(),
            reason,
        };
        let Some(pb::type_proto::Value::TensorType(t)) =
            v.r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            return Err(bad("it is not a tensor".into()));
        };
        if t.elem_type != pb::tensor_proto::DataType::Float as i32 {
            return Err(bad(format!(
                "its element type is {:?}, only float32 inputs are supported",
                pb::tensor_proto::DataType::try_from(t.elem_type)
                    .map_or_else(|_| t.elem_type.to_string(), |d| format!("{d:?}"))
            )));
        }
        let shape = t
            .shape
            .as_ref()
            .ok_or_else(|| bad("its shape is not declared".into()))?;
        if shape.dim.len() < 2 {
            return Err(bad(format!(
                "its shape {} has no axis after the batch axis",
                shape_text(v)
            )));
        }
        let dims = shape
            .dim
            .iter()
            .enumerate()
            .map(|(axis, d)| match &d.value {
                Some(DimValue::DimValue(n)) if *n > 0 => Ok(Dim::Fixed(*n as usize)),
                Some(DimValue::DimParam(s)) if !s.is_empty() => Ok(Dim::Dynamic(s.clone())),
                Some(DimValue::DimValue(n)) => Err(bad(format!("axis {axis} has size {n}"))),
                _ => Ok(Dim::Dynamic(format!("dim{axis}"))),
            })
            .collect::<Result<Vec<Dim>>>()?;
        Ok(InputShape {
            name: v.name.clone(),
            dims,
        })
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The model's input: its name and shape (batch axis first).
    pub fn input_shape(&self) -> &InputShape {
        &self.input
    }

    /// The default-domain operator-set version the model imports.
    pub fn opset(&self) -> i64 {
        self.opset
    }

    /// The exporter that wrote the file (`producer_name producer_version`, e.g. `pytorch 2.15.0`).
    pub fn producer(&self) -> &str {
        &self.producer
    }

    /// Checks that `shape` (batch axis first) fits the model's input: same rank, and every
    /// fixed axis after the batch axis equal. The batch axis may differ (the runner chunks).
    pub fn check_input_shape(&self, shape: &[usize]) -> Result<()> {
        let ok = shape.len() == self.input.dims.len()
            && shape
                .iter()
                .zip(&self.input.dims)
                .skip(1)
                .all(|(&s, d)| !matches!(d, Dim::Fixed(n) if *n != s));
        if ok && shape.iter().all(|&s| s > 0) {
            Ok(())
        } else {
            let given: Vec<String> = shape.iter().map(usize::to_string).collect();
            Err(OnnxError::InputShape {
                path: self.path.clone(),
                input: self.input.name.clone(),
                expected: self.input.to_string(),
                given: format!("[{}]", given.join(", ")),
            })
        }
    }

    /// Resolves layer specs: `input`, `default`, node names, operator types (`relu`, `add` for
    /// residual sums, `flatten`, `globalaveragepool`, ...) or tensor names, in graph order.
    ///
    /// # Errors
    /// [`OnnxError::UnknownLayer`] listing close names (edit distance), or
    /// [`OnnxError::BadLayer`] for a node whose value does not depend on the input.
    pub fn select(&self, specs: &[&str]) -> Result<Vec<Layer>> {
        select::select(&self.path, &self.graph, &self.input.name, specs)
    }

    /// The layers the law of equi-separation is measured over (He & Su 2023): the input, the
    /// output of every nonlinearity block (outside residual blocks) and of every residual
    /// block, and the penultimate features (the final linear layer's input); the logits (the
    /// final `Gemm`/`MatMul` and what follows it) are excluded. In graph order.
    pub fn default_layers(&self) -> Vec<Layer> {
        let mut layers = vec![select::input_layer(&self.input.name)];
        layers.extend(
            self.graph
                .default_layers()
                .into_iter()
                .map(|i| select::node_layer(&self.graph, i)),
        );
        layers
    }

    /// Every layer that can be measured, with its shape on `sample` (shape `shape`, batch
    /// axis first): the input and the first output of every node whose value depends on the
    /// input and is floating point, in graph order. Runs the sample once.
    ///
    /// # Errors
    /// Those of [`Runner::run_chunks`](crate::Runner::run_chunks).
    pub fn candidate_layers(&self, sample: &[f32], shape: &[usize]) -> Result<Vec<LayerInfo>> {
        let nodes: Vec<Layer> = (0..self.graph.nodes.len())
            .filter(|i| self.graph.dynamic.contains(i))
            .map(|i| select::node_layer(&self.graph, i))
            .collect();
        let runner = crate::Runner::new_unchecked(self, nodes)?.any_type();
        let outputs = runner.run_raw(sample, shape)?;
        let rows = self
            .input
            .fixed_batch()
            .unwrap_or(crate::DEFAULT_CHUNK.min(shape[0]));
        let used = rows.min(shape[0]);
        let mut infos = vec![LayerInfo {
            name: select::INPUT_LAYER.into(),
            op: "Input".into(),
            output_shape: [&[used], &shape[1..]].concat(),
        }];
        for (layer, value) in runner.layers().iter().zip(outputs) {
            // Per-sample float values only: not shape arithmetic, not whole-batch reductions.
            if value.datum_type().is_float() && value.shape().first() == Some(&rows) {
                infos.push(LayerInfo {
                    name: layer.name.clone(),
                    op: layer.op.clone(),
                    output_shape: [&[used], &value.shape()[1..]].concat(),
                });
            }
        }
        Ok(infos)
    }
}
