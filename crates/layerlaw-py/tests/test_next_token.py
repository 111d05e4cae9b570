"""The law of next-token prediction: ``layerlaw.prediction_residual`` and
``layerlaw.torch.measure_next_token`` against ``numpy.linalg.lstsq`` on a tiny causal transformer
built here (random and briefly trained on a deterministic second-order language), both targets,
and the error paths."""

import numpy as np
import pytest

import layerlaw

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import layerlaw.torch as lt  # noqa: E402

V, D, T, LAYERS = 50, 32, 16, 3


class TinyLM(nn.Module):
    """Token + position embeddings, pre-LN causal encoder layers, a linear head; HF-style
    ``output_hidden_states`` (embeddings, then every block)."""

    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.tok = nn.Embedding(V, D)
        self.pos = nn.Embedding(T, D)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(D, 4, 64, dropout=0.0, batch_first=True, norm_first=True)
            for _ in range(LAYERS)
        )
        self.head = nn.Linear(D, V)

    def forward(self, input_ids, attention_mask=None, output_hidden_states=False):
        t = input_ids.shape[1]
        h = self.tok(input_ids) + self.pos(torch.arange(t, device=input_ids.device))
        causal = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        states = [h]
        for block in self.blocks:
            h = block(h, src_mask=causal)
            states.append(h)
        out = {"logits": self.head(h)}
        if output_hidden_states:
            out["hidden_states"] = tuple(states)
        return out


#: The language uses ids 0..WORDS-1 of the V-token vocabulary.
WORDS = 20


def language(n: int, seed: int) -> torch.Tensor:
    """Sequences "a b a b ...": y[t+1] = y[t-1] from two random first words, so the next token
    is not a function of the current one (the embeddings cannot predict it) but one attention
    step to the previous position gives it."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.zeros(n, T, dtype=torch.int64)
    ids[:, :2] = torch.randint(0, WORDS, (n, 2), generator=g)
    for t in range(2, T):
        ids[:, t] = ids[:, t - 2]
    return ids


def train(model: TinyLM, steps: int = 300) -> TinyLM:
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(steps):
        ids = language(32, 1000 + step)
        logits = model(ids)["logits"][:, :-1]
        loss = nn.functional.cross_entropy(logits.reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@pytest.fixture(scope="module")
def models():
    torch.set_num_threads(2)
    return {"random": TinyLM(0), "trained": train(TinyLM(1))}


def batches(seed: int = 7):
    """Four batches, right-padded to random lengths, with their masks."""
    ids = language(64, seed)
    g = torch.Generator().manual_seed(seed + 1)
    lengths = torch.randint(3, T + 1, (64,), generator=g)
    mask = (torch.arange(T)[None, :] < lengths[:, None]).long()
    ids = ids.masked_fill(mask == 0, 0)
    return [(ids[i:i + 16], mask[i:i + 16]) for i in range(0, 64, 16)]


def reference_rows(model, data):
    """Every layer's rows (position j real and j + 1 real) in float64, and the next tokens, in
    eval mode as the front end runs the model (eval-mode encoder layers take another kernel)."""
    xs, ys = None, []
    model.eval()
    with torch.no_grad():
        for ids, mask in data:
            states = model(ids, attention_mask=mask, output_hidden_states=True)["hidden_states"]
            keep = (mask[:, :-1] == 1) & (mask[:, 1:] == 1)
            if xs is None:
                xs = [[] for _ in states]
            for l, h in enumerate(states):
                xs[l].append(h[:, :-1][keep].double().numpy())
            ys.append(ids[:, 1:][keep].numpy())
    return [np.concatenate(x) for x in xs], np.concatenate(ys)


def lstsq_pr(x, y, target):
    """min ||t - [X 1] b||^2 / ||t - mean t||^2 by numpy.linalg.lstsq."""
    t = np.eye(V)[y] if target == "one_hot" else y.astype(np.float64)
    a = np.hstack([x, np.ones((len(x), 1))])
    assert np.linalg.matrix_rank(x - x.mean(0)) == x.shape[1]
    coef = np.linalg.lstsq(a, t, rcond=None)[0]
    return float(((t - a @ coef) ** 2).sum() / ((t - t.mean(0)) ** 2).sum())


@pytest.mark.parametrize("which", ["random", "trained"])
@pytest.mark.parametrize("target", ["one_hot", "token_id"])
def test_torch_front_end_matches_lstsq(models, which, target):
    model = models[which]
    data = batches()
    xs, y = reference_rows(model, data)
    want = [lstsq_pr(x, y, target) for x in xs]
    report = lt.measure_next_token(model, data, vocab_size=V, target=target)
    assert report.names == ["embeddings", "layer1", "layer2", "layer3"]
    assert report.rows == len(y) and report.target == target
    np.testing.assert_allclose(report.pr, want, rtol=1e-8)
    # The NumPy path gives the same numbers from the stored rows.
    direct = layerlaw.prediction_residual(dict(zip(report.names, xs)), y, vocab_size=V, target=target)
    np.testing.assert_allclose(direct.pr, want, rtol=1e-8)
    # The law leaves the embeddings out: layers 1..3.
    law = report.law
    assert law.layers == [1, 2, 3]
    lnpr = np.log(want[1:])
    slope, intercept = np.polyfit(np.arange(3), lnpr, 1)
    assert law.slope == pytest.approx(slope, rel=1e-6, abs=1e-9)
    assert law.intercept == pytest.approx(intercept, rel=1e-6, abs=1e-9)
    assert law.ratio_last_first == pytest.approx(want[3] / want[1], rel=1e-8)
    assert law.pearson_r == pytest.approx(np.corrcoef(np.arange(3), lnpr)[0, 1], rel=1e-6)


def test_training_makes_deep_layers_predict(models):
    """The trained model predicts the next token from its last layer far better than from its
    embeddings (the next token is the one before the current one), and PR falls with depth."""
    trained = lt.measure_next_token(models["trained"], batches(), vocab_size=V)
    random = lt.measure_next_token(models["random"], batches(), vocab_size=V)
    # Measured here: trained 0.770, 0.558, 0.407, 0.363; random 0.774, 0.738, 0.732, 0.727.
    assert np.all(np.diff(trained.pr) < 0)
    assert trained.pr[-1] < 0.6 * trained.pr[0]
    assert trained.pr[-1] < 0.6 * random.pr[-1]
    assert trained.law.rho < 0.9 and trained.law.pearson_r < -0.9


def test_callable_hidden_states_and_padding(models):
    model = models["trained"]
    data = batches()

    def states(m, ids, mask):
        return m(ids, output_hidden_states=True)["hidden_states"]

    a = lt.measure_next_token(model, data, vocab_size=V, hidden_states=states, names=["e", "a", "b", "c"])
    b = lt.measure_next_token(model, data, vocab_size=V)
    assert a.names == ["e", "a", "b", "c"]
    np.testing.assert_allclose(a.pr, b.pr, rtol=1e-12)
    # Other ids at padded positions change nothing: they are dropped (the model is causal).
    noisy = [(ids.masked_fill(mask == 0, 7), mask) for ids, mask in data]
    c = lt.measure_next_token(model, noisy, vocab_size=V)
    np.testing.assert_allclose(c.pr, b.pr, rtol=1e-6)
    # Dicts and an unpadded tensor batch are accepted.
    full = language(16, 3)
    d = lt.measure_next_token(model, [{"input_ids": full}], vocab_size=V)
    assert d.rows == 16 * (T - 1)


def test_streaming_state_merges():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6))
    y = (np.arange(300) * 7) % 11
    x[:, 0] += 0.3 * y
    whole = layerlaw.PredictionResidual("h", 6, 11)
    whole.update(x, y)
    a, b = layerlaw.PredictionResidual("h", 6, 11), layerlaw.PredictionResidual("h", 6, 11)
    a.update(x[:100], y[:100])
    b.update(x[100:200], y[100:200])
    b.update(x[200:], y[200:])
    a.merge(b)
    assert (a.rows, a.batches) == (300, 3)
    assert a.finish()["pr"] == pytest.approx(whole.finish()["pr"], rel=1e-12)
    t = np.eye(11)[y]
    design = np.hstack([x, np.ones((300, 1))])
    r = t - design @ np.linalg.lstsq(design, t, rcond=None)[0]
    assert whole.finish()["pr"] == pytest.approx((r ** 2).sum() / ((t - t.mean(0)) ** 2).sum(), rel=1e-10)


def test_errors_name_layer_batch_row_and_column(models):
    x = np.arange(40.0).reshape(10, 4) % 7
    y = np.arange(10) % 3
    with pytest.raises(ValueError, match="target must be"):
        layerlaw.prediction_residual({"h": x}, y, target="logits")
    bad = x.copy()
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match=r'"h2", batch 0: feature at row 2, column 3 is not finite'):
        layerlaw.prediction_residual({"h1": x, "h2": bad}, y)
    with pytest.raises(ValueError, match=r'"h", batch 0: 10 feature rows but 9 next-token ids'):
        layerlaw.prediction_residual({"h": x}, y[:9])
    with pytest.raises(ValueError, match=r"next-token id at row 4 is 5, but the vocabulary has 3 tokens"):
        layerlaw.prediction_residual({"h": x}, np.where(np.arange(10) == 4, 5, y), vocab_size=3)
    with pytest.raises(ValueError, match=r"next-token id at row 1 is negative"):
        layerlaw.prediction_residual({"h": x}, np.array([0, -1] + [1] * 8), vocab_size=3)
    with pytest.raises(ValueError, match=r"constant \(S_yy = 0\)"):
        layerlaw.prediction_residual({"h": x}, np.full(10, 2))
    with pytest.raises(ValueError, match=r"at least 2 token positions, got 1"):
        layerlaw.prediction_residual({"h": x[:1]}, y[:1], vocab_size=3)
    with pytest.raises(ValueError, match=r"above the limit"):
        layerlaw.PredictionResidual("emb", 8192, 128000)
    # A single layer has no law: a note says why.
    one = layerlaw.prediction_residual([x], y)
    assert one.law is None and "at least 2 layers" in one.notes[0]
    model = models["random"]
    with pytest.raises(ValueError, match=r"batch 0: next-token id at row \d+ is 49, but the vocabulary has 40 tokens"):
        lt.measure_next_token(model, [language(4, 0).clamp(max=49).fill_(49)], vocab_size=40)
    nan_states = lambda m, ids, mask: [torch.full((*ids.shape, 3), float("nan"))]  # noqa: E731
    with pytest.raises(ValueError, match=r"layer 'embeddings', batch 0: feature at row 0, column 0 is not finite"):
        lt.measure_next_token(model, [language(2, 0)], vocab_size=V, hidden_states=nan_states)
    with pytest.raises(ValueError, match="pass vocab_size"):
        lt.measure_next_token(nn.Linear(2, 2), [language(2, 0)])
