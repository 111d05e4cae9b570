//! The ONNX graph's structure as the layer selection needs it: nodes in graph order (ONNX
//! requires topological order), which tensors are constants, who produces and who consumes each
//! tensor, residual sums, nonlinearity blocks and the final linear layer.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb;

/// Operators counted as nonlinearities (elementwise activations).
pub(crate) const NONLINEARITIES: &[&str] = &[
    "Relu",
    "LeakyRelu",
    "PRelu",
    "Elu",
    "Selu",
    "Celu",
    "Sigmoid",
    "HardSigmoid",
    "Tanh",
    "Softplus",
    "Softsign",
    "Gelu",
    "HardSwish",
    "Mish",
    "ThresholdedRelu",
    "Swish",
    "QuickGelu",
    "FastGelu",
    "BiasGelu",
    "Erf",
];

/// Operators that may follow the final linear layer without changing what it is (the logits).
const HEAD_OPS: &[&str] = &[
    "Add",
    "Softmax",
    "LogSoftmax",
    "Identity",
    "Sigmoid",
    "Reshape",
    "Flatten",
    "Squeeze",
    "Cast",
];

/// Elementwise binary operators through which an activation's decomposition (GELU through
/// `Erf`, SiLU as `x * sigmoid(x)`) continues.
const ELEMENTWISE: &[&str] = &["Add", "Sub", "Mul", "Div"];

/// One ONNX node.
#[derive(Clone, Debug)]
pub(crate) struct GraphNode {
    /// The node's name, or its first output's name when it has none (as the engine names it).
    pub name: String,
    /// `op_type`, prefixed by `domain::` when the domain is not the default one.
    pub op: String,
    /// The bare `op_type`.
    pub op_type: String,
    /// Input tensor names (empty strings are omitted optional inputs).
    pub inputs: Vec<String>,
    /// Output tensor names.
    pub outputs: Vec<String>,
}

/// The top-level graph.
#[derive(Clone, Debug)]
pub(crate) struct Graph {
    pub nodes: Vec<GraphNode>,
    /// Initializers and outputs of `Constant` nodes.
    pub constants: HashSet<String>,
    /// Tensor name → index of the node producing it.
    pub producer: HashMap<String, usize>,
    /// Tensor name → indices of the nodes consuming it.
    pub consumers: HashMap<String, Vec<usize>>,
    /// Graph output names.
    pub outputs: Vec<String>,
    /// Node indices whose first output depends on the graph input.
    pub dynamic: HashSet<usize>,
}

impl Graph {
    /// Builds the summary of `graph`, whose single real input is `input`.
    pub fn new(graph: &pb::GraphProto, input: &str) -> Graph {
        let mut constants: HashSet<String> =
            graph.initializer.iter().map(|t| t.name.clone()).collect();
        let mut nodes = Vec::with_capacity(graph.node.len());
        let mut producer = HashMap::new();
        let mut consumers: HashMap<String, Vec<usize>> = HashMap::new();
        let mut dynamic_tensors: HashSet<String> = HashSet::from([input.to_string()]);
        let mut dynamic = HashSet::new();
        for (i, n) in graph.node.iter().enumerate() {
            let name = if !n.name.is_empty() {
                n.name.clone()
            } else if n.output.first().is_some_and(|o| !o.is_empty()) {
                n.output[0].clone()
            } else {
                format!("{}-{}", i, n.op_type)
            };
            let op = if n.domain.is_empty() || n.domain == "ai.onnx" {
                n.op_type.clone()
            } else {
                format!("{}::{}", n.domain, n.op_type)
            };
            let inputs: Vec<String> = n.input.iter().filter(|s| !s.is_empty()).cloned().collect();
            let outputs: Vec<String> = n.output.iter().filter(|s| !s.is_empty()).cloned().collect();
            if n.op_type == "Constant" {
                constants.extend(outputs.iter().cloned());
            }
            if !outputs.is_empty() && inputs.iter().any(|t| dynamic_tensors.contains(t)) {
                dynamic.insert(i);
                dynamic_tensors.extend(outputs.iter().cloned());
            }
            for t in &inputs {
                consumers.entry(t.clone()).or_default().push(i);
            }
            for t in &outputs {
                producer.insert(t.clone(), i);
            }
            nodes.push(GraphNode {
                name,
                op,
                op_type: n.op_type.clone(),
                inputs,
                outputs,
            });
        }
        Graph {
            nodes,
            constants,
            producer,
            consumers,
            outputs: graph.output.iter().map(|o| o.name.clone()).collect(),
            dynamic,
        }
    }

    /// Inputs of node `i` that depend on the graph input (not constants, not shape arithmetic).
    fn dynamic_inputs(&self, i: usize) -> Vec<&str> {
        self.nodes[i]
            .inputs
            .iter()
            .filter(|t| !self.constants.contains(*t))
            .filter(|t| match self.producer.get(*t) {
                Some(p) => self.dynamic.contains(p),
                None => true,
            })
            .map(String::as_str)
            .collect()
    }

    /// A residual sum: `Add` or `Sum` of two or more input-dependent tensors.
    pub fn is_residual_sum(&self, i: usize) -> bool {
        matches!(self.nodes[i].op.as_str(), "Add" | "Sum") && self.dynamic_inputs(i).len() >= 2
    }

    /// Nodes producing `tensor` and all their input-dependent ancestors.
    fn ancestors(&self, tensor: &str) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut stack = vec![tensor.to_string()];
        while let Some(t) = stack.pop() {
            if let Some(&p) = self.producer.get(&t) {
                if self.dynamic.contains(&p) && seen.insert(p) {
                    stack.extend(self.dynamic_inputs(p).into_iter().map(String::from));
                }
            }
        }
        seen
    }

    /// Nodes strictly inside some residual block: on a branch between the block's input and
    /// its sum. For a sum of branches $a$ and $b$ these are the ancestors of $a$ or $b$ that are
    /// not ancestors of both (the symmetric difference), so the block's input and what precedes
    /// it are outside.
    pub fn residual_interiors(&self) -> HashSet<usize> {
        let mut inside = HashSet::new();
        for i in 0..self.nodes.len() {
            if !self.is_residual_sum(i) {
                continue;
            }
            let branches: Vec<HashSet<usize>> = self
                .dynamic_inputs(i)
                .into_iter()
                .map(|t| self.ancestors(t))
                .collect();
            let common = branches.iter().skip(1).fold(branches[0].clone(), |acc, b| {
                acc.intersection(b).copied().collect()
            });
            for b in &branches {
                inside.extend(b.difference(&common).copied());
            }
        }
        inside
    }

    /// The single consumer of node `i`'s first output, if it has exactly one.
    fn single_consumer(&self, i: usize) -> Option<usize> {
        match self
            .consumers
            .get(&self.nodes[i].outputs[0])
            .map(Vec::as_slice)
        {
            Some([c]) if !self.outputs.contains(&self.nodes[i].outputs[0]) => Some(*c),
            _ => None,
        }
    }

    /// The output node of the nonlinearity block that starts at node `i`.
    ///
    /// Usually `i` itself. Two decompositions that exporters write are followed to their end:
    /// SiLU, `x * Sigmoid(x)`, and GELU through `Erf`, `0.5 * x * (1 + Erf(x / sqrt 2))`: the
    /// chain of single-consumer `Add`/`Sub`/`Mul`/`Div` nodes after the `Sigmoid` or `Erf` is
    /// followed while each has a constant or the activation's argument `x` as its other input,
    /// and it counts only when one of them multiplies by `x`.
    pub fn activation_output(&self, i: usize) -> usize {
        let node = &self.nodes[i];
        if !matches!(node.op.as_str(), "Sigmoid" | "Erf") {
            return i;
        }
        // The activation's argument: the Sigmoid's input, or x in Erf(x / c) or Erf(x * c).
        let mut args: HashSet<&str> = HashSet::new();
        args.insert(node.inputs[0].as_str());
        if node.op == "Erf" {
            if let Some(&p) = self.producer.get(&node.inputs[0]) {
                if matches!(self.nodes[p].op.as_str(), "Div" | "Mul") {
                    args.extend(self.dynamic_inputs(p));
                }
            }
        }
        let (mut at, mut gated, mut end) = (i, false, i);
        while let Some(c) = self.single_consumer(at) {
            let cn = &self.nodes[c];
            if !ELEMENTWISE.contains(&cn.op.as_str()) {
                break;
            }
            let prev = &self.nodes[at].outputs[0];
            let others: Vec<&String> = cn.inputs.iter().filter(|t| *t != prev).collect();
            let ok = others
                .iter()
                .all(|t| self.constants.contains(*t) || args.contains(t.as_str()));
            if !ok {
                break;
            }
            if cn.op == "Mul" && others.iter().any(|t| args.contains(t.as_str())) {
                gated = true;
            }
            at = c;
            if gated {
                end = c;
            }
        }
        if gated {
            end
        } else {
            i
        }
    }

    /// The last `Gemm` or `MatMul` when only "head" operators (bias `Add`, `Softmax`, reshapes)
    /// lie between it and every graph output: the layer that computes the logits.
    pub fn final_linear(&self) -> Option<usize> {
        let last = (0..self.nodes.len())
            .rev()
            .find(|&i| matches!(self.nodes[i].op.as_str(), "Gemm" | "MatMul"))?;
        let mut stack = vec![last];
        let mut seen = HashSet::new();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            for t in &self.nodes[i].outputs {
                for &c in self.consumers.get(t).map(Vec::as_slice).unwrap_or(&[]) {
                    let op = self.nodes[c].op.as_str();
                    let head = HEAD_OPS.contains(&op) && !(op == "Add" && self.is_residual_sum(c));
                    if !head {
                        return None;
                    }
                    stack.push(c);
                }
            }
        }
        Some(last)
    }

    /// Node `last` and every node downstream of it.
    pub fn head(&self, last: usize) -> HashSet<usize> {
        let mut seen = HashSet::new();
        let mut stack = vec![last];
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                for t in &self.nodes[i].outputs {
                    stack.extend(self.consumers.get(t).into_iter().flatten().copied());
                }
            }
        }
        seen
    }

    /// The input-dependent data input of node `i` (the first one).
    pub fn data_input(&self, i: usize) -> Option<&str> {
        self.dynamic_inputs(i).first().copied()
    }

    /// The paper's layers, as node indices in graph order (the input is added by the caller):
    /// every nonlinearity block output outside residual blocks, every residual block output
    /// (the nonlinearity right after the sum when the sum's only consumer is one, else the
    /// sum), then the penultimate features (the final linear layer's data input); nothing of
    /// the head (the logits and what follows).
    pub fn default_layers(&self) -> Vec<usize> {
        let inside = self.residual_interiors();
        let final_linear = self.final_linear();
        let head = final_linear.map(|l| self.head(l)).unwrap_or_default();
        let mut chosen: Vec<usize> = Vec::new();
        let push = |chosen: &mut Vec<usize>, i: usize| {
            if !chosen.contains(&i) {
                chosen.push(i);
            }
        };
        for i in 0..self.nodes.len() {
            if head.contains(&i) || !self.dynamic.contains(&i) {
                continue;
            }
            if self.is_residual_sum(i) {
                let out = match self.single_consumer(i) {
                    Some(c) if NONLINEARITIES.contains(&self.nodes[c].op.as_str()) => {
                        self.activation_output(c)
                    }
                    _ => i,
                };
                push(&mut chosen, out);
            } else if NONLINEARITIES.contains(&self.nodes[i].op.as_str()) && !inside.contains(&i) {
                let out = self.activation_output(i);
                if !head.contains(&out) {
                    push(&mut chosen, out);
                }
            }
        }
        chosen.sort_unstable();
        if let Some(l) = final_linear {
            if let Some(&p) = self.data_input(l).and_then(|t| self.producer.get(t)) {
                push(&mut chosen, p);
            }
        }
        chosen
    }
}
