"""The saliency sanity check on a real model trained with the repo's training (once per session):
gradient maps change under cascading weight randomization and pass; methods that ignore the
model (the input, its edges) fail, which shows the check can fail (Adebayo et al. 2018); the
trained weights are restored; `mlsecops explanations` end to end and its exit codes; the MLSVS
control passes, fails and fails without evidence, is informational by default and gates when a
profile raises its impact."""

import dataclasses
import json
import re
import shutil
import time

import numpy as np
import pytest
from scipy import ndimage

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.main import main
from kfp_mlsecops.compliance import CheckContext, RunFolder, load_profile, run_profile
from kfp_mlsecops.data.split_io import load_split
from kfp_mlsecops.explanations import (
    METHODS,
    ExplanationsResults,
    run_explanations_check,
    saliency_sanity_check,
)

pytestmark = pytest.mark.slow

CONTROL = "mlsvs-saliency-sanity"


def _input(gradients: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.abs(x)  # the input itself: no model in it


def _edges(gradients: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.hypot(ndimage.sobel(x, axis=1), ndimage.sobel(x, axis=2))  # an edge detector


def _sample(run, n: int = 64) -> np.ndarray:
    x = load_split(run.test).x
    return x[np.sort(np.random.default_rng(0).choice(len(x), n, replace=False))]


def test_gradient_maps_change_under_randomization(trained_run):
    started = time.monotonic()
    results = run_explanations_check(model_path=trained_run.model, test_path=trained_run.test)
    seconds = time.monotonic() - started
    print(f"\n{results.summary()} ({seconds:.1f} s)")
    for m in results.methods:
        print(f"  {m.name}: " + ", ".join(f"{s.layer} {s.similarity:.3f}" for s in m.cascade))
    assert results.passed and results.n_samples == 64
    # top layer first; Keras numbers layer names per process ("dense_12" after other tests)
    kinds = [re.sub(r"_\d+$", "", name) for name in results.layers]
    assert kinds == ["logits", "dense", "conv2d", "conv2d"]
    assert len(set(results.layers)) == 4
    upper, lower = (
        int(m.group(1)) if (m := re.search(r"_(\d+)$", n)) else 0 for n in results.layers[2:]
    )
    assert upper > lower  # the second convolution is randomized before the first
    gradient, gxi = results.methods
    assert (gradient.name, gradient.gates, gxi.name, gxi.gates) == (
        "gradient",
        True,
        "gradient_x_input",
        False,
    )
    assert gradient.similarity < 0.25 and gradient.cascade[0].similarity < 0.35
    # gradient x input follows the input (zero where a pixel is): Adebayo et al.'s finding
    assert gxi.similarity > 0.8 and not gxi.passed(0.5)
    assert results.model_digest is not None and results.model_digest.startswith("sha256:")


def test_methods_that_ignore_the_model_fail(trained_run):
    from kfp_mlsecops.attacks.loading import load_attack_model

    model = load_attack_model(trained_run.model)
    x = _sample(trained_run)
    before = model.predict(x)
    methods = {**METHODS, "input": _input, "edges": _edges}
    results = saliency_sanity_check(model, x, methods=methods, gating=("input", "edges"))
    scores = {m.name: m.similarity for m in results}
    print(f"\nsimilarity with every layer randomized: {scores}")
    for name in ("input", "edges"):
        (method,) = [m for m in results if m.name == name]
        assert method.similarity > 0.99 and not method.passed(0.5)
        assert all(step.similarity > 0.99 for step in method.cascade)
    assert scores["gradient"] < 0.5
    np.testing.assert_array_equal(model.predict(x), before)  # trained weights restored


def _explain(run, *extra: str) -> tuple[int, ExplanationsResults]:
    out = run.run_dir / C.EXPLANATIONS_RESULTS_FILE
    code = main(
        ["explanations", "--model", str(run.model), "--data", str(run.test), "--out", str(out)]
        + list(extra)
    )
    return code, ExplanationsResults.read(out)


def test_cli_exit_codes_and_one_line_errors(trained_run, tmp_path, capsys):
    code, results = _explain(trained_run, "--max-similarity", "0.05")
    err = capsys.readouterr().err
    assert code == 3 and not results.passed  # results written, then refused
    assert err.count("\n") == 1 and err.startswith("mlsecops explanations: FAILED: saliency maps")

    code, results = _explain(trained_run)
    (line,) = capsys.readouterr().out.splitlines()
    assert code == 0 and results.passed
    assert line.startswith("mlsecops explanations: saliency sanity check passed: ")

    out = tmp_path / "e.json"
    args = ["explanations", "--model", str(trained_run.model), "--out", str(out), "--data"]
    assert main([*args, str(tmp_path / "nope.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.npz': file not found" in err and not out.exists()
    assert main([*args, str(trained_run.test), "--max-similarity", "1.5"]) == 2
    assert "max_similarity=1.5" in capsys.readouterr().err and not out.exists()


def _control(run_dir, profile="mlsvs"):
    report = run_profile(
        load_profile(profile), CheckContext(run=RunFolder.locate(run_dir)), only=[CONTROL]
    )
    (control,) = report.controls
    return control, report.exit_code


def _profile(tmp_path, **fields) -> str:
    lines = "".join(f"    {k}: {v}\n" for k, v in fields.items())
    path = tmp_path / "strict.yaml"
    path.write_text(f"extends: mlsvs\nname: strict\ncontrols:\n  - id: {CONTROL}\n{lines}")
    return str(path)


def test_the_control_passes_and_is_informational_by_default(trained_run, tmp_path):
    builtin = load_profile("mlsvs").control(CONTROL)
    assert builtin is not None and builtin.impact == 0.0
    assert builtin.tags == ("mlsvs:interpretability",)
    assert any("Adebayo" in r for r in builtin.references)
    assert builtin.parameter("max_similarity") == 0.5

    assert _explain(trained_run)[0] == 0
    fine, code = _control(trained_run.run_dir)
    assert fine.status == "passed" and code == 0, fine.outcome.detail
    assert (
        C.EXPLANATIONS_RESULTS_FILE in fine.evidence and "validate-data/manifest" in fine.evidence
    )
    assert [(f.id, f.passed) for f in fine.findings] == [
        ("gradient", True),
        ("gradient_x_input (reported only)", False),
    ]

    # a profile that tightens the threshold fails the same evidence, still informational
    tight, code = _control(
        trained_run.run_dir, _profile(tmp_path, parameters="{max_similarity: 0.05}")
    )
    assert tight.status == "failed" and code == 0
    assert "saliency sanity check FAILED" in tight.outcome.detail


@pytest.mark.parametrize(("impact", "exit_code"), [(0.5, 4), (0.7, 3)])
def test_a_profile_that_raises_the_impact_gates_it(trained_run, tmp_path, impact, exit_code):
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run.run_dir, run_dir)
    (run_dir / C.EXPLANATIONS_RESULTS_FILE).unlink(missing_ok=True)
    gated = _profile(tmp_path, impact=impact)
    missing, code = _control(run_dir, gated)
    assert missing.status == "failed" and code == exit_code
    assert f"evidence '{run_dir / C.EXPLANATIONS_RESULTS_FILE}' is missing" in (
        missing.outcome.detail
    )
    assert _control(run_dir)[1] == 0  # the built-in profile: reported, exit 0

    args = ["check", "--run", str(run_dir), "--controls", CONTROL, "--profile"]
    assert main([*args, "mlsvs"]) == 0
    assert main([*args, gated]) == exit_code


def test_the_control_never_passes_without_this_runs_evidence(trained_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run.run_dir, run_dir)
    path = run_dir / C.EXPLANATIONS_RESULTS_FILE
    path.unlink(missing_ok=True)
    missing, code = _control(run_dir)
    assert missing.status == "failed" and code == 0  # informational
    assert f"evidence '{path}' is missing" in missing.outcome.detail

    # results computed on another split or another model do not count for this run
    _explain(trained_run)
    results = ExplanationsResults.read(trained_run.run_dir / C.EXPLANATIONS_RESULTS_FILE)
    other = "sha256:" + "0" * 64
    for changes, what in (
        ({"test_data_digest": other}, "test split"),
        ({"model_digest": other}, "model"),
    ):
        dataclasses.replace(results, **changes).write(path)
        bad, _ = _control(run_dir)
        assert bad.status == "failed"
        assert f"explanations results are not this run's: {what} {other}" in bad.outcome.detail

    # a malformed document fails with the reader's one line
    doc = results.to_dict()
    doc["passed"] = "yes"
    path.write_text(json.dumps(doc))
    bad, _ = _control(run_dir)
    assert bad.status == "failed" and "passed='yes' must be true or false" in bad.outcome.detail
