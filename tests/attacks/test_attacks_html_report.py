"""The HTML robustness report: self-contained, escaped, flags highlighted, real figures."""

from __future__ import annotations

import base64
import copy
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.attacks.html_report import (
    ExampleImages,
    attack_metrics,
    compute_examples,
    render_html_report,
    run_attack_report,
)
from kfp_mlsecops.attacks.loading import load_attack_model
from kfp_mlsecops.data.split_io import load_split

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FLAG_IDS = (
    "blackbox_beats_whitebox",
    "single_step_beats_iterative",
    "no_convergence_at_large_eps",
    "degenerate_gradients",
)


def _results(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": C.ROBUSTNESS_SCHEMA,
        "tier": "reliable",
        C.CLEAN_ACCURACY: 0.96,
        "n_samples": 120,
        "epsilons": [0.1, 0.2],
        "input_range": {"lower": 0.0, "upper": 1.0},
        "model_output": "softmax-stripped",
        "attacks": [
            {
                "attack": name,
                "norm": "linf",
                "epsilon": eps,
                "robust_accuracy": acc,
                "params": {"steps": 20},
            }
            for name, rows in {"apgd_ce": (0.7, 0.45), "square": (0.75, 0.5)}.items()
            for eps, acc in zip((0.1, 0.2), rows, strict=True)
        ],
        "worst_case": [
            {"epsilon": 0.1, "robust_accuracy": 0.68},
            {"epsilon": 0.2, "robust_accuracy": 0.41},
        ],
        "masking": [
            {
                "id": flag,
                "flagged": flag == "degenerate_gradients",
                "measured": 0.5 if flag == "degenerate_gradients" else 0.0,
                "threshold": 0.1,
                "detail": f"detail of {flag}",
            }
            for flag in FLAG_IDS
        ],
        "invariants": [{"name": n, "description": f"checked {n}"} for n in C.ROBUSTNESS_INVARIANTS],
        "wall_time_s": 3.25,
        "model_digest": "sha256:" + "ab" * 32,
    }
    doc.update(overrides)
    return doc


def _pngs(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]


def test_page_is_self_contained_with_curve_tables_and_summary() -> None:
    page = render_html_report(_results())
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # nothing is fetched: no external src/href, one inline figure
    assert not re.search(r'(src|href)="(?!data:)', page)
    (curve,) = _pngs(page)
    assert curve.startswith(PNG_MAGIC) and len(curve) > 2000
    for needle in (
        "<th>tier</th><td>reliable</td>",
        "<th>clean accuracy</th><td>0.9600</td>",
        "<th>wall time</th><td>3.25 s</td>",
        "<th>input range</th><td>[0, 1]</td>",
        "<th>eps=0.1</th><th>eps=0.2</th>",
        "<td>apgd_ce</td><td>linf</td>",
        '<tr class="worst"><td>worst case</td><td></td><td class="num">0.6800</td>'
        '<td class="num">0.4100</td>',
        "sha256:" + "ab" * 32,
    ):
        assert needle in page, needle
    for name in C.ROBUSTNESS_INVARIANTS:
        assert f"<code>{name}</code>: checked {name}" in page


def test_flagged_masking_rows_are_highlighted_and_announced() -> None:
    page = render_html_report(_results())
    assert "<th>detail</th></tr><tr" in page
    rows = re.findall(r'<tr class="(flagged|clear)"><td><code>(\w+)</code>', page)
    assert rows == [("clear", f) for f in FLAG_IDS[:3]] + [("flagged", "degenerate_gradients")]
    assert "1 gradient-masking flag(s) raised (degenerate_gradients)" in page
    assert 'class="banner bad"' in page


def test_no_flag_and_missing_masking_get_their_own_banners() -> None:
    clear = _results()
    for flag in clear["masking"]:
        flag["flagged"] = False
    assert "No gradient-masking flag raised." in render_html_report(clear)
    missing = _results()
    del missing["masking"]
    page = render_html_report(missing)
    assert "carry no gradient-masking diagnostics" in page
    assert "No <code>masking</code> list in the results." in page


def test_every_text_from_the_results_is_escaped() -> None:
    evil = "<script>alert(1)</script>"
    doc = _results(tier=evil, model_output=evil)
    doc["attacks"][0]["params"] = {"note": evil}
    doc["masking"][0].update(detail=evil, measured=evil)
    doc["masking"][3]["id"] = evil
    doc["invariants"][0]["description"] = evil
    page = render_html_report(doc)
    assert "<script" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 6


@pytest.mark.slow
def test_attacks_in_two_norms_get_one_panel_each() -> None:
    doc = _results()
    doc["attacks"] += [
        {"attack": "pgd_l2", "norm": "l2", "epsilon": e, "robust_accuracy": 0.9, "params": {}}
        for e in (0.1, 0.2)
    ]
    one = _pngs(render_html_report(_results()))[0]
    two = _pngs(render_html_report(doc))[0]
    assert "<td>pgd_l2</td><td>l2</td>" in render_html_report(doc)
    width = int.from_bytes(one[16:20], "big")
    assert int.from_bytes(two[16:20], "big") > 1.8 * width  # PNG IHDR width: two panels


def test_examples_are_drawn_as_a_second_figure() -> None:
    rng = np.random.default_rng(0)
    clean = rng.uniform(0, 1, size=(4, 8, 8, 1)).astype(np.float32)
    examples = ExampleImages(
        clean=clean,
        adversarial=np.clip(clean + 0.1, 0, 1),
        labels=np.array([1, 2, 3, 4]),
        clean_predictions=np.array([1, 2, 3, 4]),
        adversarial_predictions=np.array([7, 2, 8, 4]),
        attack="pgd",
        epsilon=0.2,
        lower=0.0,
        upper=1.0,
    )
    page = render_html_report(_results(), examples=examples)
    assert len(_pngs(page)) == 2 and all(p.startswith(PNG_MAGIC) for p in _pngs(page))
    assert "pgd at epsilon 0.2: top row clean" in page


def test_metrics_cover_every_number_and_flags_as_zero_or_one() -> None:
    metrics = attack_metrics(_results())
    assert metrics[C.CLEAN_ACCURACY] == 0.96
    assert metrics[C.robust_metric_name("apgd_ce", 0.2)] == 0.45
    assert metrics[C.robust_metric_name(C.WORST_CASE, 0.1)] == 0.68
    assert metrics["wall_time_s"] == 3.25
    assert {k: v for k, v in metrics.items() if k.startswith("masking.")} == {
        f"masking.{f}": float(f == "degenerate_gradients") for f in FLAG_IDS
    }


def test_compute_examples_returns_fooled_pairs_first(
    trained_model: Path, digits_splits: tuple[Path, Path]
) -> None:
    split = load_split(digits_splits[1])
    examples = compute_examples(
        load_attack_model(trained_model),
        split.x,
        split.y,
        lower=0.0,
        upper=1.0,
        epsilon=0.3,
        count=4,
    )
    assert examples is not None
    assert examples.clean.shape == examples.adversarial.shape == (4, 8, 8, 1)
    assert np.all(examples.clean_predictions == examples.labels)
    assert np.max(np.abs(examples.adversarial - examples.clean)) <= 0.3 + 1e-6
    # at eps=0.3 PGD fools this small CNN on most samples, and fooled ones come first
    assert examples.adversarial_predictions[0] != examples.labels[0]


@pytest.mark.slow
def test_run_attack_report_writes_all_three_reports(
    trained_model: Path, digits_splits: tuple[Path, Path], tmp_path: Path
) -> None:
    out = {name: tmp_path / name for name in ("results.json", "report.md", "report.html")}
    results = run_attack_report(
        model_path=trained_model,
        test_path=digits_splits[1],
        results_path=out["results.json"],
        report_md_path=out["report.md"],
        html_report_path=out["report.html"],
        epsilons="0.05,0.2",
        tier="fast",
        pgd_steps=5,
        max_samples=60,
    )
    assert results["tier"] == "fast"
    page = out["report.html"].read_text()
    assert len(_pngs(page)) == 2  # curve + examples (digits are images)
    assert "<th>tier</th><td>fast</td>" in page
    assert {f["id"] for f in results["masking"]} == set(C.MASKING_FLAGS)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_results_are_not_modified_by_rendering() -> None:
    doc = _results()
    before = copy.deepcopy(doc)
    render_html_report(doc)
    attack_metrics(doc)
    assert doc == before
