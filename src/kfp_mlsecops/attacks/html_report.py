"""A self-contained HTML robustness report (what the KFP UI renders) and the step that writes it.

The page embeds its figures as base64 PNG (matplotlib, Agg, no pyplot state): robust accuracy vs
epsilon per attack plus the worst case, and for image data a grid of clean/adversarial examples.
Every piece of text from the results is escaped. matplotlib and TensorFlow are imported lazily.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import write_text_atomic

__all__ = [
    "ExampleImages",
    "attack_metrics",
    "compute_examples",
    "render_html_report",
    "run_attack_report",
]

#: How many clean/adversarial pairs the report shows, and how many candidates are attacked.
EXAMPLE_COUNT = 6
_CANDIDATES = 64
_MASKING = "masking"
_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5em;color:#1d1d1f}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0}
th,td{border:1px solid #c8c8c8;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.worst td{font-weight:bold}tr.flagged td{background:#fde2e1}tr.flagged td.flag{color:#b3261e}
.banner{padding:.6em .9em;border-radius:4px;margin:.8em 0;font-weight:bold}
.bad{background:#fde2e1;color:#8c1d18}.warn{background:#fff4d6;color:#6b4e00}
.good{background:#e3f4e1;color:#1e5e20}code{font-size:.95em}img{max-width:100%}
""".strip()


@dataclass(frozen=True)
class ExampleImages:
    """A few clean inputs, their adversarials, true labels and both predictions (image data)."""

    clean: np.ndarray
    adversarial: np.ndarray
    labels: np.ndarray
    clean_predictions: np.ndarray
    adversarial_predictions: np.ndarray
    attack: str
    epsilon: float
    lower: float
    upper: float


def run_attack_report(
    *,
    model_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    results_path: str | os.PathLike[str],
    report_md_path: str | os.PathLike[str],
    html_report_path: str | os.PathLike[str],
    epsilons: Sequence[float] | str,
    tier: str = "fast",
    pgd_steps: int = 20,
    batch_size: int = 256,
    max_samples: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Run :func:`~kfp_mlsecops.attacks.run_attack_test`, then write the HTML report too.

    For image splits the report shows PGD examples at the largest epsilon. Returns the results.
    The HTML is written atomically after the JSON and Markdown; any failure raises.
    """
    from kfp_mlsecops.attacks.report import run_attack_test

    results = run_attack_test(
        model_path=model_path,
        test_path=test_path,
        results_path=results_path,
        report_md_path=report_md_path,
        epsilons=epsilons,
        tier=tier,
        pgd_steps=pgd_steps,
        batch_size=batch_size,
        max_samples=max_samples,
        seed=seed,
    )
    examples = _examples_for_split(results, model_path=model_path, test_path=test_path, seed=seed)
    write_text_atomic(html_report_path, render_html_report(results, examples=examples))
    return results


def attack_metrics(results: Mapping[str, Any]) -> dict[str, float]:
    """Return every number as a KFP metric: accuracies, wall time, masking flags as 0/1."""
    from kfp_mlsecops.attacks.report import robustness_metrics

    metrics = dict(robustness_metrics(dict(results)))
    metrics["wall_time_s"] = float(results["wall_time_s"])
    for flag in results.get(_MASKING) or []:
        metrics[f"{_MASKING}.{flag['id']}"] = 1.0 if flag["flagged"] is True else 0.0
    return metrics


def compute_examples(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    *,
    lower: float,
    upper: float,
    epsilon: float,
    count: int = EXAMPLE_COUNT,
    steps: int = 20,
    seed: int = 0,
) -> ExampleImages | None:
    """Attack up to 64 correctly classified images with PGD; keep ``count``, fooled ones first.

    ``model`` is a Keras model or a TFModel. Returns None when no sample is classified correctly.
    """
    from kfp_mlsecops.attacks.model import TFModel
    from kfp_mlsecops.attacks.pgd import PGD

    fmodel = model if isinstance(model, TFModel) else TFModel(model, bounds=(lower, upper))
    xs, ys = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)
    clean_pred = fmodel.predict_labels(xs[: _CANDIDATES * 4])
    keep = np.flatnonzero(clean_pred == ys[: len(clean_pred)])[:_CANDIDATES]
    if len(keep) == 0:
        return None
    _, clipped, success = PGD(steps=steps, seed=seed)(
        fmodel, xs[keep], ys[keep], epsilons=[epsilon], lower=lower, upper=upper
    )
    order = np.concatenate([np.flatnonzero(success[0]), np.flatnonzero(~success[0])])[:count]
    adversarial = clipped[0][order]
    return ExampleImages(
        clean=xs[keep][order],
        adversarial=adversarial,
        labels=ys[keep][order],
        clean_predictions=clean_pred[keep][order],
        adversarial_predictions=fmodel.predict_labels(adversarial),
        attack="pgd",
        epsilon=float(epsilon),
        lower=float(lower),
        upper=float(upper),
    )


def render_html_report(results: Mapping[str, Any], *, examples: ExampleImages | None = None) -> str:
    """Return the robustness results as one self-contained HTML page (figures inline)."""
    e = html.escape
    masking = results.get(_MASKING)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Adversarial robustness report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Adversarial robustness report</h1>",
        _banner(masking),
        _summary_table(results),
        "<h2>Robust accuracy vs epsilon</h2>",
        _img(_curve_png(results), "robust accuracy versus epsilon per attack and worst case"),
        "<h2>Robust accuracy per attack</h2>",
        _accuracy_table(results),
        "<p>A sample counts as robust in the worst case only if it survives every attack of the "
        "tier at that epsilon and at every smaller one.</p>",
        "<h2>Gradient-masking diagnostics</h2>",
        _masking_table(masking),
    ]
    if examples is not None and len(examples.clean):
        parts += [
            "<h2>Clean and adversarial examples</h2>",
            f"<p>{e(examples.attack)} at epsilon {examples.epsilon:g}: top row clean, bottom row "
            "adversarial; titles give the true label and the prediction.</p>",
            _img(_examples_png(examples), "clean and adversarial example images"),
        ]
    parts += ["<h2>Invariants checked (all passed)</h2>", "<ul>"]
    parts += [
        f"<li><code>{e(str(item.get('name')))}</code>: {e(str(item.get('description', '')))}</li>"
        for item in results.get("invariants", [])
    ]
    parts += ["</ul>", "</body></html>", ""]
    return "\n".join(parts)


# --- page pieces -------------------------------------------------------------------------------


def _banner(masking: Any) -> str:
    if not isinstance(masking, list):
        return (
            '<div class="banner warn">These results carry no gradient-masking diagnostics; '
            "the gate fails every masking control.</div>"
        )
    flagged = [str(f.get("id")) for f in masking if f.get("flagged") is True]
    if flagged:
        names = ", ".join(html.escape(name) for name in flagged)
        return (
            f'<div class="banner bad">{len(flagged)} gradient-masking flag(s) raised ({names}): '
            "the robust accuracy below may be overstated.</div>"
        )
    return '<div class="banner good">No gradient-masking flag raised.</div>'


def _summary_table(results: Mapping[str, Any]) -> str:
    bounds = results.get("input_range") or {}
    rows = [
        ("tier", str(results.get("tier", "n/a"))),
        ("clean accuracy", _fmt(results[C.CLEAN_ACCURACY])),
        ("test samples", str(results.get(C.N_SAMPLES, "n/a"))),
        ("epsilons", ", ".join(f"{eps:g}" for eps in results[C.EPSILONS])),
        ("input range", f"[{_num(bounds.get('lower'))}, {_num(bounds.get('upper'))}]"),
        ("loss computed from", str(results.get("model_output", "n/a"))),
        ("wall time", f"{float(results['wall_time_s']):.2f} s"),
        ("model digest", str(results.get(C.MODEL_DIGEST, "n/a"))),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _accuracy_table(results: Mapping[str, Any]) -> str:
    e = html.escape
    epsilons = list(results[C.EPSILONS])
    curves, norms, params = _curves(results)
    head = "".join(f"<th>eps={eps:g}</th>" for eps in epsilons)
    rows = [f"<tr><th>attack</th><th>norm</th>{head}<th>parameters</th></tr>"]
    for name, values in curves.items():
        cells = "".join(f'<td class="num">{_fmt(values.get(eps))}</td>' for eps in epsilons)
        rows.append(
            f"<tr><td>{e(name)}</td><td>{e(norms[name])}</td>{cells}"
            f"<td><code>{e(_format_params(params[name]))}</code></td></tr>"
        )
    worst = {row[C.EPSILON]: row[C.ROBUST_ACCURACY] for row in results[C.WORST_CASE]}
    cells = "".join(f'<td class="num">{_fmt(worst.get(eps))}</td>' for eps in epsilons)
    rows.append(f'<tr class="worst"><td>worst case</td><td></td>{cells}<td></td></tr>')
    return "<table>" + "".join(rows) + "</table>"


def _masking_table(masking: Any) -> str:
    if not isinstance(masking, list):
        return "<p>No <code>masking</code> list in the results.</p>"
    e = html.escape
    rows = [
        "<tr><th>flag</th><th>flagged</th><th>measured</th><th>threshold</th><th>detail</th></tr>"
    ]
    for flag in masking:
        flagged = flag.get("flagged") is True
        rows.append(
            f'<tr class="{"flagged" if flagged else "clear"}">'
            f"<td><code>{e(str(flag.get('id')))}</code></td>"
            f'<td class="flag">{"FLAGGED" if flagged else "no"}</td>'
            f'<td class="num">{e(_fmt(flag.get("measured")))}</td>'
            f'<td class="num">{e(_fmt(flag.get("threshold")))}</td>'
            f"<td>{e(str(flag.get('detail', '')))}</td></tr>"
        )
    return "<table>" + "".join(rows) + "</table>"


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


# --- figures -----------------------------------------------------------------------------------


def _curve_png(results: Mapping[str, Any]) -> bytes:
    from matplotlib.figure import Figure

    curves, norms, _ = _curves(results)
    clean = float(results[C.CLEAN_ACCURACY])
    panels = sorted(set(norms.values()), key=lambda n: (n != "linf", n)) or ["linf"]
    fig = Figure(figsize=(6.4 * len(panels), 4.0), layout="constrained")
    for index, norm in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), index + 1)
        for name, values in curves.items():
            if norms[name] == norm:
                eps = sorted(values)
                ax.plot([0.0, *eps], [clean, *(values[v] for v in eps)], marker="o", label=name)
        if index == 0:
            worst = {row[C.EPSILON]: row[C.ROBUST_ACCURACY] for row in results[C.WORST_CASE]}
            eps = sorted(worst)
            ax.plot(
                [0.0, *eps],
                [clean, *(worst[v] for v in eps)],
                color="black",
                linewidth=2.5,
                linestyle="--",
                marker="s",
                label="worst case",
            )
        ax.set_xlabel(f"epsilon ({norm})")
        ax.set_ylabel("robust accuracy")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(loc="best")
    return _png(fig)


def _examples_png(examples: ExampleImages) -> bytes:
    from matplotlib.figure import Figure

    count = len(examples.clean)
    fig = Figure(figsize=(1.6 * count, 3.6), layout="constrained")
    span = examples.upper - examples.lower
    for row, (images, predictions) in enumerate(
        (
            (examples.clean, examples.clean_predictions),
            (examples.adversarial, examples.adversarial_predictions),
        )
    ):
        for col in range(count):
            ax = fig.add_subplot(2, count, row * count + col + 1)
            image = (np.asarray(images[col], dtype=np.float64) - examples.lower) / span
            image = np.clip(image, 0.0, 1.0)
            if image.ndim == 3 and image.shape[-1] in (3, 4):
                ax.imshow(image[..., :3])
            else:
                ax.imshow(image if image.ndim == 2 else image[..., 0], cmap="gray", vmin=0, vmax=1)
            wrong = int(predictions[col]) != int(examples.labels[col])
            ax.set_title(
                f"y={int(examples.labels[col])} pred={int(predictions[col])}",
                fontsize=8,
                color="#b3261e" if wrong else "black",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel("adversarial" if row else "clean", fontsize=9)
    return _png(fig)


def _png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, metadata={"Software": None})
    return buffer.getvalue()


# --- helpers -----------------------------------------------------------------------------------


def _curves(
    results: Mapping[str, Any],
) -> tuple[dict[str, dict[float, float]], dict[str, str], dict[str, dict[str, Any]]]:
    curves: dict[str, dict[float, float]] = {}
    norms: dict[str, str] = {}
    params: dict[str, dict[str, Any]] = {}
    for row in results[C.ATTACKS]:
        name = str(row[C.ATTACK])
        curves.setdefault(name, {})[row[C.EPSILON]] = row[C.ROBUST_ACCURACY]
        norms[name] = str(row.get(C.NORM, "linf"))
        params[name] = dict(row.get(C.PARAMS) or {})
    return curves, norms, params


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "n/a" if value is None else str(value).lower()
    if isinstance(value, (int, float)):
        return f"{value:.4f}" if isinstance(value, float) and math.isfinite(value) else str(value)
    return str(value)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"


def _format_params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items()) or "(none)"


def _examples_for_split(
    results: Mapping[str, Any],
    *,
    model_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    seed: int,
) -> ExampleImages | None:
    from kfp_mlsecops.data.split_io import load_split

    split = load_split(test_path)
    epsilon = max((float(eps) for eps in results[C.EPSILONS]), default=0.0)
    if not split.is_image or epsilon <= 0:
        return None
    from kfp_mlsecops.attacks.loading import load_attack_model

    model = load_attack_model(model_path)
    return compute_examples(
        model, split.x, split.y, lower=split.lower, upper=split.upper, epsilon=epsilon, seed=seed
    )
