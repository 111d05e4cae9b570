"""Collects out/figure1/*/law.json into the Markdown table of REPRODUCTION.md."""
import json
import pathlib
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "out/figure1")
print("| run | depth | optimizer | lr | rho | R^2 | Pearson r | D_0 | D_last | train acc | test acc | seconds |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for p in sorted(root.glob("*/law.json"), key=lambda p: (p.parent.name.startswith("control"), int(p.parent.name.split("-")[0][5:]) if p.parent.name.startswith("depth") else 0, p.parent.name)):
    r = json.loads(p.read_text())
    c, law, layers = r["config"], r["law"], r["layers"]
    print(
        f"| {p.parent.name} | {c['depth']} | {c['optimizer']} | {c['lr']} | {law['rho']:.3f} | {law['r2']:.4f} | "
        f"{law['pearson_r']:.4f} | {layers[0]['fuzziness']:.3g} | {layers[-1]['fuzziness']:.3g} | "
        f"{r['train_accuracy']:.3f} | {r['test_accuracy']:.3f} | {r['train_seconds']:.1f} |"
    )
