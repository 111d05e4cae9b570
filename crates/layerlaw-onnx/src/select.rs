//! Choosing layers by node name, tensor name or operator, with close-name suggestions.

use crate::error::OnnxError;
use crate::graph::Graph;

/// A layer to measure: the model's input or the first output of one ONNX node.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Layer {
    /// The name used in tables and files: `input` for the model's input, else the ONNX node
    /// name (PyTorch's TorchScript-based exporter writes module paths such as
    /// `/layer1/layer1.0/relu/Relu`; the dynamo exporter names such as `node_relu_3`).
    pub name: String,
    /// The operator type (`Input` for the model's input).
    pub op: String,
    /// The ONNX tensor holding the layer's values.
    pub tensor: String,
    /// Position in the graph: 0 for the input, 1 + the node's index otherwise.
    pub position: usize,
}

/// The name of the model-input layer.
pub const INPUT_LAYER: &str = "input";

/// The input as a [`Layer`].
pub(crate) fn input_layer(tensor: &str) -> Layer {
    Layer {
        name: INPUT_LAYER.into(),
        op: "Input".into(),
        tensor: tensor.into(),
        position: 0,
    }
}

/// Node `i` as a [`Layer`].
pub(crate) fn node_layer(graph: &Graph, i: usize) -> Layer {
    let n = &graph.nodes[i];
    Layer {
        name: n.name.clone(),
        op: n.op.clone(),
        tensor: n.outputs[0].clone(),
        position: i + 1,
    }
}

/// Levenshtein distance between two strings, by characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (diag + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Up to 8 of `names` close to `spec`: case-insensitive edit distance at most
/// max(2, len/3), or containing `spec` (or contained in it); nearest first.
pub(crate) fn close_names<'a>(spec: &str, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let s = spec.to_lowercase();
    let limit = (s.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, String)> = names
        .into_iter()
        .filter_map(|n| {
            let l = n.to_lowercase();
            let d = edit_distance(&s, &l);
            let contains = !s.is_empty() && (l.contains(&s) || (l.len() >= 3 && s.contains(&l)));
            (d <= limit || contains)
                .then(|| (if contains { d.min(limit) } else { d }, n.to_string()))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(8).map(|(_, n)| n).collect()
}

/// Node `i` as a layer, when its value depends on the input.
fn dynamic_node(
    path: &std::path::Path,
    graph: &Graph,
    spec: &str,
    i: usize,
) -> Result<Layer, OnnxError> {
    if !graph.dynamic.contains(&i) {
        return Err(OnnxError::BadLayer {
            path: path.to_path_buf(),
            layer: spec.to_string(),
            reason: "its value does not depend on the input (a constant or shape computation)"
                .into(),
        });
    }
    Ok(node_layer(graph, i))
}

/// Resolves `specs` against the graph.
///
/// A spec is, in this order of precedence: `input` (or the graph input's name) for the model's
/// input; `default` for [`Graph::default_layers`] with the input; an exact node name; an
/// operator type, case-insensitive (`relu`, `flatten`, `globalaveragepool`, `conv`, ...),
/// which selects every input-dependent node of that type, where `add` and `sum` select
/// residual sums only (sums of two input-dependent tensors, not bias additions); or an exact
/// tensor name. The result is deduplicated and in graph order (input first), the order of
/// depth that the law of equi-separation is fitted over.
pub(crate) fn select(
    path: &std::path::Path,
    graph: &Graph,
    input_tensor: &str,
    specs: &[&str],
) -> Result<Vec<Layer>, OnnxError> {
    let mut chosen: Vec<Layer> = Vec::new();
    for raw in specs {
        let spec = raw.trim();
        let mut found: Vec<Layer> = Vec::new();
        if spec == INPUT_LAYER || spec == input_tensor {
            found.push(input_layer(input_tensor));
        } else if spec == "default" {
            found.push(input_layer(input_tensor));
            found.extend(
                graph
                    .default_layers()
                    .into_iter()
                    .map(|i| node_layer(graph, i)),
            );
        } else if let Some(i) = graph.nodes.iter().position(|n| n.name == spec) {
            found.push(dynamic_node(path, graph, spec, i)?);
        } else {
            let op = spec.to_lowercase();
            let of_op: Vec<usize> = (0..graph.nodes.len())
                .filter(|&i| graph.dynamic.contains(&i))
                .filter(|&i| {
                    graph.nodes[i].op_type.to_lowercase() == op
                        || graph.nodes[i].op.to_lowercase() == op
                })
                .collect();
            let residual = matches!(op.as_str(), "add" | "sum");
            let kept: Vec<usize> = of_op
                .iter()
                .copied()
                .filter(|&i| !residual || graph.is_residual_sum(i))
                .collect();
            if !of_op.is_empty() && kept.is_empty() {
                return Err(OnnxError::BadLayer {
                    path: path.to_path_buf(),
                    layer: spec.to_string(),
                    reason: format!(
                        "`{spec}` selects residual sums, and the {} {} node(s) here only add constants",
                        of_op.len(),
                        graph.nodes[of_op[0]].op
                    ),
                });
            }
            found.extend(kept.into_iter().map(|i| node_layer(graph, i)));
            // Tensor names last: the dynamo exporter names tensors `relu`, `add`, ... after
            // their operators, and an operator spec means every node of that operator.
            if found.is_empty() {
                if let Some(&i) = graph.producer.get(spec) {
                    found.push(dynamic_node(path, graph, spec, i)?);
                }
            }
        }
        if found.is_empty() {
            let mut names: Vec<&str> = vec![INPUT_LAYER, "default"];
            for n in &graph.nodes {
                names.push(&n.name);
                names.push(&n.op_type);
                names.extend(n.outputs.first().map(String::as_str));
            }
            return Err(OnnxError::UnknownLayer {
                path: path.to_path_buf(),
                spec: spec.to_string(),
                close: close_names(spec, names),
            });
        }
        for l in found {
            if !chosen.contains(&l) {
                chosen.push(l);
            }
        }
    }
    chosen.sort_by_key(|l| l.position);
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_exact_cases() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("relu", "relu"), 0);
        assert_eq!(edit_distance("relu", "rleu"), 2);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("flaten", "flatten"), 1);
    }

    #[test]
    fn close_names_by_distance_then_containment() {
        let names = [
            "/relu1/Relu",
            "/relu2/Relu",
            "/flatten/Flatten",
            "Relu",
            "Flatten",
        ];
        assert_eq!(close_names("relux", names), vec!["Relu".to_string()]);
        let c = close_names("relu1", names);
        assert_eq!(c[0], "Relu");
        assert!(c.contains(&"/relu1/Relu".to_string()));
        assert!(close_names("zzzzzz", names).is_empty());
    }
}
