//! The classifier's weights: the final linear layer, read from the graph's constants.

use tract_onnx::pb;

use crate::error::{engine, OnnxError, Result};
use crate::model::OnnxModel;

/// The last linear layer when it computes the logits: `logits = W h + b` with `h` the
/// penultimate features.
///
/// For a `Gemm` node `Y = alpha · A · op(B) + beta · C`, `W = alpha · op(B)ᵀ` and
/// `b = beta · C` (broadcast to K); for a `MatMul` `Y = h · B` with a constant B (p×K),
/// `W = Bᵀ`, and `b` is the constant of a bias `Add` right after it, when there is one.
/// These feed the NC3/NC4 and minority-collapse classifier geometry.
#[derive(Clone, Debug, PartialEq)]
pub struct Classifier {
    /// The node's name.
    pub node: String,
    /// Number of classes K (rows of the weight).
    pub classes: usize,
    /// Feature dimension p (columns of the weight).
    pub dim: usize,
    /// K×p weight, row-major (class k's weight vector is `weight[k*p..(k+1)*p]`).
    pub weight: Vec<f32>,
    /// K biases, when the layer has them.
    pub bias: Option<Vec<f32>>,
}

fn attr<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

impl OnnxModel {
    /// The constant tensor named `name` (an initializer or a `Constant` node's value), as f32
    /// with its shape, or `None` when it is not a constant.
    fn constant(&self, name: &str) -> Result<Option<(Vec<usize>, Vec<f32>)>> {
        let g = &self.proto_graph;
        let proto = g.initializer.iter().find(|t| t.name == name).or_else(|| {
            g.node
                .iter()
                .find(|n| n.op_type == "Constant" && n.output.first().is_some_and(|o| o == name))
                .and_then(|n| attr(n, "value"))
                .and_then(|a| a.t.as_ref())
        });
        let Some(proto) = proto else {
            return Ok(None);
        };
        let onnx = tract_onnx::onnx();
        let t = tract_onnx::tensor::load_tensor(&*onnx.provider, proto, self.dir.as_deref())
            .map_err(|e| engine(&self.path, format!("reading constant `{name}`"), e))?;
        let f = t
            .cast_to::<f32>()
            .map_err(|e| engine(&self.path, format!("reading constant `{name}`"), e))?;
        let values = f
            .try_as_plain_ram()
            .and_then(|v| v.as_slice::<f32>().map(<[f32]>::to_vec))
            .map_err(|e| engine(&self.path, format!("reading constant `{name}`"), e))?;
        Ok(Some((t.shape().to_vec(), values)))
    }

    /// A bias of K values from a constant of shape `[K]`, `[1, K]` or a scalar.
    fn bias_of(&self, name: &str, classes: usize, scale: f32) -> Result<Option<Vec<f32>>> {
        let Some((shape, values)) = self.constant(name)? else {
            return Ok(None);
        };
        let b: Vec<f32> = match values.len() {
            1 => vec![values[0]; classes],
            n if n == classes => values,
            _ => {
                return Err(OnnxError::BadLayer {
                    path: self.path.clone(),
                    layer: name.to_string(),
                    reason: format!("a bias of shape {shape:?} does not fit {classes} classes"),
                })
            }
        };
        Ok(Some(b.into_iter().map(|v| v * scale).collect()))
    }

    /// The classifier weights when the last `Gemm`/`MatMul` computes the logits (only bias
    /// additions, softmax or reshapes follow it) and its weight is a constant matrix; `None`
    /// otherwise (no linear head, a weight computed at run time, a transposed data input).
    ///
    /// # Errors
    /// [`OnnxError::Engine`] when a constant cannot be read, [`OnnxError::BadLayer`] for a bias
    /// of the wrong size.
    pub fn classifier(&self) -> Result<Option<Classifier>> {
        let Some(i) = self.graph.final_linear() else {
            return Ok(None);
        };
        let gnode = &self.graph.nodes[i];
        let node = self
            .proto_graph
            .node
            .iter()
            .find(|n| n.output.first() == gnode.outputs.first())
            .expect("graph nodes come from the proto");
        let data = self.graph.data_input(i);
        if node.input.first().map(String::as_str) != data || node.input.len() < 2 {
            return Ok(None);
        }
        let Some((shape, b)) = self.constant(&node.input[1])? else {
            return Ok(None);
        };
        if shape.len() != 2 {
            return Ok(None);
        }
        let (weight, classes, dim, bias) = if node.op_type == "Gemm" {
            let int = |n: &str| attr(node, n).map_or(0, |a| a.i);
            let float = |n: &str| attr(node, n).map_or(1.0, |a| a.f);
            if int("transA") != 0 {
                return Ok(None);
            }
            let alpha = float("alpha");
            // op(B) is p×K; W = alpha op(B)ᵀ is K×p.
            let (classes, dim) = if int("transB") != 0 {
                (shape[0], shape[1])
            } else {
                (shape[1], shape[0])
            };
            let weight: Vec<f32> = if int("transB") != 0 {
                b.iter().map(|v| v * alpha).collect()
            } else {
                transpose(&b, dim, classes, alpha)
            };
            let bias = match node.input.get(2).filter(|s| !s.is_empty()) {
                Some(c) => self.bias_of(c, classes, float("beta"))?,
                None => None,
            };
            (weight, classes, dim, bias)
        } else {
            let (dim, classes) = (shape[0], shape[1]);
            let weight = transpose(&b, dim, classes, 1.0);
            let out = &gnode.outputs[0];
            let bias = match self.graph.consumers.get(out).map(Vec::as_slice) {
                Some([c]) if self.graph.nodes[*c].op == "Add" => {
                    match self.graph.nodes[*c].inputs.iter().find(|t| *t != out) {
                        Some(other) => self.bias_of(other, classes, 1.0)?,
                        None => None,
                    }
                }
                _ => None,
            };
            (weight, classes, dim, bias)
        };
        Ok(Some(Classifier {
            node: gnode.name.clone(),
            classes,
            dim,
            weight,
            bias,
        }))
    }
}

/// `scale · Mᵀ` for a rows×cols row-major `M`.
fn transpose(m: &[f32], rows: usize, cols: usize, scale: f32) -> Vec<f32> {
    let mut t = vec![0.0; m.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = m[r * cols + c] * scale;
        }
    }
    t
}
