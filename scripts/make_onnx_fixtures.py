#!/usr/bin/env python3
"""Makes the ONNX test models of crates/layerlaw-onnx and their PyTorch reference outputs.

Run with the test venv (torch, onnx, onnxscript for the dynamo exporter, onnxruntime, numpy):

    python scripts/make_onnx_fixtures.py [OUT_DIR]

OUT_DIR defaults to crates/layerlaw-onnx/tests/fixtures. For each model and export variant it writes

* ``NAME.onnx`` (and ``NAME.onnx.data`` for the external-data variant),
* ``NAME.npz``: ``input`` (the samples fed to the model), ``layer_000``, ``layer_001``, ... (the
  PyTorch forward-hook outputs of every hooked module, float32, flattened per sample),
  ``classifier_weight`` and ``classifier_bias`` (the last ``nn.Linear``),
* ``NAME.txt``: one line per hooked layer, ``layer_XXX<TAB>ONNX node name<TAB>module name``, then
  ``default<TAB>node name`` lines for the layers the paper measures (input, every nonlinearity or
  residual block output, penultimate features), then ``input_shape<TAB>...`` and ``batch<TAB>...``.

A hooked module is matched to the ONNX node of the same kind (Relu for ReLU, Add for the residual
sum, Flatten, GlobalAveragePool, Gemm/MatMul for Linear, BatchNormalization), in graph order, and
the match is checked against ONNX Runtime, so a wrong match fails here.

It also writes ``activations.onnx`` (SiLU and Erf-GELU decompositions and a MatMul head, with
float64 numpy reference values), ``two_inputs.onnx`` (a model with two graph inputs) and ``unsupported_op.onnx`` (an
``LpPool`` node, which the ONNX engine does not implement) for the error tests.

Deterministic: fixed seeds, CPU, float32.
"""

import os
import sys

import numpy as np
import onnx
import onnx.helper as oh
import torch
import torch.nn as nn
import onnxruntime as ort

torch.manual_seed(0)
torch.use_deterministic_algorithms(True)

MODULE_OPS = {
    nn.ReLU: ("Relu",),
    nn.Flatten: ("Flatten", "Reshape"),
    nn.AdaptiveAvgPool2d: ("GlobalAveragePool", "ReduceMean"),
    nn.Linear: ("Gemm", "MatMul"),
    nn.BatchNorm1d: ("BatchNormalization",),
}


class Add(nn.Module):
    """The residual sum as a module, so a forward hook sees it."""

    def forward(self, a, b):
        return a + b


MODULE_OPS[Add] = ("Add",)


class Mlp(nn.Module):
    """20 -> 32 -> 32 -> 4 with BatchNorm1d after each hidden Linear."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.bn1 = nn.BatchNorm1d(32)
        self.relu1 = nn.ReLU()
        self.fc2 = nn.Linear(32, 32)
        self.bn2 = nn.BatchNorm1d(32)
        self.relu2 = nn.ReLU()
        self.fc3 = nn.Linear(32, 4)

    def forward(self, x):
        x = self.relu1(self.bn1(self.fc1(x)))
        x = self.relu2(self.bn2(self.fc2(x)))
        return self.fc3(x)

    default = ["relu1", "relu2"]


class Cnn(nn.Module):
    """3x8x8 -> conv8 -> BN -> ReLU -> maxpool -> conv16 -> ReLU -> maxpool -> flatten -> 32 -> 4."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(64, 32)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(32, 4)

    def forward(self, x):
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.conv2(x)))
        x = self.relu3(self.fc1(self.flatten(x)))
        return self.fc2(x)

    default = ["relu1", "relu2", "relu3"]


class Block(nn.Module):
    """Basic residual block: relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.add = Add()
        self.relu2 = nn.ReLU()
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(self.add(y, self.shortcut(x)))


class ResNet(nn.Module):
    """CIFAR-style ResNet: 3x3 stem, stages of basic blocks, global average pool, linear."""

    def __init__(self, widths=(8, 16), blocks=(1, 1), classes=4):
        super().__init__()
        self.conv = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU()
        layers = []
        cin = widths[0]
        for i, (w, b) in enumerate(zip(widths, blocks)):
            for j in range(b):
                layers.append(Block(cin, w, 2 if (i > 0 and j == 0) else 1))
                cin = w
        self.blocks = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(cin, classes)
        self.default = ["relu"] + [f"blocks.{k}.relu2" for k in range(len(layers))] + ["flatten"]

    def forward(self, x):
        x = self.blocks(self.relu(self.bn(self.conv(x))))
        return self.fc(self.flatten(self.pool(x)))


def randomize_batchnorm(model):
    """Non-trivial running statistics and affine parameters, so BatchNorm is really tested."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model


def hooked(model, x):
    """Forward hooks on every module of MODULE_OPS, in execution order."""
    records = []

    def hook(mod, _inp, out):
        records.append((names[mod], type(mod), out.detach().reshape(out.shape[0], -1).numpy().copy()))

    names = {m: n for n, m in model.named_modules()}
    handles = [m.register_forward_hook(hook) for m in model.modules() if type(m) in MODULE_OPS]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return records


def export(model, x, path, exporter, opset, dynamic, external):
    if exporter == "torchscript":
        kwargs = {}
        if dynamic:
            kwargs["dynamic_axes"] = {"x": {0: "batch"}, "logits": {0: "batch"}}
        torch.onnx.export(
            model, (x,), path, dynamo=False, opset_version=opset,
            input_names=["x"], output_names=["logits"], **kwargs,
        )
    else:
        kwargs = {}
        if dynamic:
            kwargs["dynamic_shapes"] = {"x": {0: torch.export.Dim("batch", min=1, max=4096)}}
        prog = torch.onnx.export(
            model, (x,), dynamo=True, opset_version=opset, input_names=["x"],
            output_names=["logits"], **kwargs,
        )
        prog.save(path)
    proto = onnx.load(path)
    if external:
        location = os.path.basename(path) + ".data"
        onnx.save_model(
            proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
            location=location, size_threshold=0,
        )
    onnx.checker.check_model(path)
    return onnx.load(path)


def node_outputs(proto, path, x):
    """Every node's first output through ONNX Runtime (an engine independent of the one tested)."""
    names = [n.output[0] for n in proto.graph.node if n.op_type != "Constant"]
    widened = onnx.load(path)
    have = {o.name for o in widened.graph.output}
    widened.graph.output.extend([oh.make_empty_tensor_value_info(n) for n in names if n not in have])
    session = ort.InferenceSession(widened.SerializeToString(), providers=["CPUExecutionProvider"])
    fetch = [o.name for o in session.get_outputs()]
    values = session.run(fetch, {proto.graph.input[0].name: x})
    return dict(zip(fetch, values))


def onnx_node_name(node):
    return node.name if node.name else node.output[0]


def match_layers(proto, path, records, x, required):
    """Pairs each hooked module with the ONNX node of its kind, in graph order, checked numerically."""
    outputs = node_outputs(proto, path, x)
    used = set()
    matched = []
    for module_name, kind, value in records:
        found = None
        for node in proto.graph.node:
            if node.op_type not in MODULE_OPS[kind] or node.output[0] in used:
                continue
            got = np.asarray(outputs[node.output[0]], dtype=np.float64).reshape(value.shape[0], -1)
            if got.shape == value.shape and np.allclose(got, value, rtol=1e-4, atol=1e-5):
                found = node
                break
        if found is None:
            # The exporter may fuse a module away (the dynamo exporter folds BatchNorm into Gemm).
            if module_name in required:
                raise SystemExit(f"no ONNX node of kind {MODULE_OPS[kind]} matches module {module_name}")
            print(f"  {module_name}: fused away by the exporter, not compared")
            continue
        used.add(found.output[0])
        matched.append((module_name, onnx_node_name(found), value))
    return matched


def write_fixture(out, name, model, x_export, x_test, exporter, opset, dynamic, external=False):
    model.eval()
    path = os.path.join(out, name + ".onnx")
    proto = export(model, x_export, path, exporter, opset, dynamic, external)
    records = hooked(model, x_test)
    x_run = x_test.numpy()
    if not dynamic:
        # A fixed-batch model is evaluated on exactly its batch; the hooks ran on all test rows.
        b = x_export.shape[0]
        matched = match_layers(proto, path, [(n, k, v[:b]) for n, k, v in records], x_run[:b], model.default)
        full = {n: v for n, _, v in records}
        matched = [(m, node, full[m]) for m, node, _ in matched]
    else:
        matched = match_layers(proto, path, records, x_run, model.default)
    arrays = {"input": x_run.astype(np.float32)}
    lines = []
    module_to_node = {}
    for i, (module_name, node_name, value) in enumerate(matched):
        key = f"layer_{i:03d}"
        arrays[key] = value.astype(np.float32)
        lines.append(f"{key}\t{node_name}\t{module_name}")
        module_to_node[module_name] = node_name
    fc = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    arrays["classifier_weight"] = fc.weight.detach().numpy().astype(np.float32)
    arrays["classifier_bias"] = fc.bias.detach().numpy().astype(np.float32)
    lines.append("default\tinput")
    lines += [f"default\t{module_to_node[m]}" for m in model.default]
    lines.append("input_shape\t" + " ".join(str(d) for d in x_export.shape[1:]))
    lines.append("batch\t" + ("dynamic" if dynamic else str(x_export.shape[0])))
    lines.append(f"opset\t{proto.opset_import[0].version}")
    np.savez_compressed(os.path.join(out, name + ".npz"), **arrays)
    with open(os.path.join(out, name + ".txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"{name}: {exporter}, opset {proto.opset_import[0].version}, "
          f"{'dynamic' if dynamic else 'fixed'} batch, {len(matched)} hooked layers")


def two_inputs(out):
    class Two(nn.Module):
        def forward(self, image, mask):
            return torch.relu(image) * mask

    x = torch.randn(2, 4)
    torch.onnx.export(Two(), (x, x), os.path.join(out, "two_inputs.onnx"), dynamo=False,
                      opset_version=17, input_names=["image", "mask"], output_names=["y"])


def unsupported_op(out):
    x = oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 1, 4, 4])
    y = oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 4])
    graph = oh.make_graph(
        [
            oh.make_node("Relu", ["x"], ["r"], name="relu_in"),
            oh.make_node("LpPool", ["r"], ["p"], name="pool_lp", kernel_shape=[2, 2], strides=[2, 2], p=2),
            oh.make_node("Flatten", ["p"], ["y"], name="flat"),
        ],
        "unsupported", [x], [y],
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "unsupported_op.onnx"))


def activations(out):
    """A hand-written graph: MatMul + bias, SiLU as x * Sigmoid(x), GELU through Erf, MatMul head.

    Reference values in float64 numpy, written to ``activations.npz`` (``input``, ``silu``,
    ``gelu``, ``W2``, ``b2``).
    """
    rng = np.random.default_rng(4)
    w1 = rng.standard_normal((4, 6)).astype(np.float32)
    b1 = rng.standard_normal(6).astype(np.float32)
    w2 = rng.standard_normal((6, 3)).astype(np.float32)
    b2 = rng.standard_normal(3).astype(np.float32)
    c = lambda name, v: oh.make_tensor(name, onnx.TensorProto.FLOAT, np.shape(v), np.ravel(v).tolist())
    nodes = [
        oh.make_node("MatMul", ["x", "W1"], ["h1"], name="fc1"),
        oh.make_node("Add", ["h1", "b1"], ["a1"], name="fc1_bias"),
        oh.make_node("Sigmoid", ["a1"], ["s"], name="silu_sigmoid"),
        oh.make_node("Mul", ["a1", "s"], ["g1"], name="silu_mul"),
        oh.make_node("Div", ["g1", "sqrt2"], ["d"], name="gelu_div"),
        oh.make_node("Erf", ["d"], ["e"], name="gelu_erf"),
        oh.make_node("Add", ["e", "one"], ["e1"], name="gelu_add"),
        oh.make_node("Mul", ["g1", "e1"], ["m"], name="gelu_mul"),
        oh.make_node("Mul", ["m", "half"], ["g2"], name="gelu_half"),
        oh.make_node("MatMul", ["g2", "W2"], ["h2"], name="fc2"),
        oh.make_node("Add", ["h2", "b2"], ["logits"], name="fc2_bias"),
    ]
    inits = [c("W1", w1), c("b1", b1), c("W2", w2), c("b2", b2), c("sqrt2", np.float32(np.sqrt(2))),
             c("one", np.float32(1)), c("half", np.float32(0.5))]
    graph = oh.make_graph(
        nodes, "activations", [oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 4])],
        [oh.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["batch", 3])], inits)
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "activations.onnx"))
    x = rng.standard_normal((5, 4)).astype(np.float32)
    a1 = x.astype(np.float64) @ w1 + b1
    silu = a1 / (1 + np.exp(-a1))
    from math import erf
    gelu = 0.5 * silu * (1 + np.vectorize(erf)(silu / np.sqrt(2)))
    np.savez_compressed(os.path.join(out, "activations.npz"), input=x, silu=silu.astype(np.float32),
                        gelu=gelu.astype(np.float32), W2=w2, b2=b2)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "crates", "layerlaw-onnx", "tests", "fixtures")
    os.makedirs(out, exist_ok=True)
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, numpy {np.__version__}")
    g = torch.Generator().manual_seed(2)
    xv = torch.randn(6, 20, generator=g)
    xi = torch.randn(6, 3, 8, 8, generator=g)
    torch.manual_seed(10)
    mlp = randomize_batchnorm(Mlp())
    torch.manual_seed(11)
    cnn = randomize_batchnorm(Cnn())
    torch.manual_seed(12)
    resnet = randomize_batchnorm(ResNet())
    write_fixture(out, "mlp_ts_dynamic", mlp, xv[:2], xv, "torchscript", 13, True)
    write_fixture(out, "mlp_dynamo", mlp, xv[:2], xv, "dynamo", 18, True)
    write_fixture(out, "cnn_ts_fixed", cnn, xi[:4], xi, "torchscript", 15, False)
    write_fixture(out, "cnn_dynamo", cnn, xi[:2], xi, "dynamo", 18, True)
    write_fixture(out, "resnet_ts_dynamic", resnet, xi[:2], xi, "torchscript", 17, True)
    write_fixture(out, "resnet_dynamo_external", resnet, xi[:2], xi, "dynamo", 18, True, external=True)
    two_inputs(out)
    unsupported_op(out)
    activations(out)


if __name__ == "__main__":
    main()
