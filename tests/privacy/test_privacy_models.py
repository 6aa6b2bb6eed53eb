"""The membership-inference test on real Keras models (trained once per session): an overfit
model leaks clearly more than a regularised one; `mlsecops privacy` end to end; the MLSVS
control fails the overfit run, passes the regularised one and never passes without evidence."""

import json
import shutil

import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.main import main
from kfp_mlsecops.compliance import CheckContext, RunFolder, load_profile, run_profile
from kfp_mlsecops.privacy import MembershipResults, run_membership_test

pytestmark = pytest.mark.slow

CONTROL = "mlsvs-membership-privacy"


def _privacy(run, *extra: str) -> tuple[int, MembershipResults]:
    out = run.run_dir / C.PRIVACY_RESULTS_FILE
    code = main(
        [
            "privacy",
            "--model",
            str(run.model),
            "--train-data",
            str(run.train),
            "--test-data",
            str(run.test),
            "--out",
            str(out),
            *extra,
        ]
    )
    return code, MembershipResults.read(out)


def _control(run_dir, profile="mlsvs"):
    report = run_profile(
        load_profile(profile), CheckContext(run=RunFolder.locate(run_dir)), only=[CONTROL]
    )
    (control,) = report.controls
    return control, report.exit_code


def test_the_overfit_model_leaks_clearly_more_than_the_regularised_one(
    overfit_run, regularised_run
):
    overfit = run_membership_test(
        model_path=overfit_run.model, train_path=overfit_run.train, test_path=overfit_run.test
    )
    regular = run_membership_test(
        model_path=regularised_run.model,
        train_path=regularised_run.train,
        test_path=regularised_run.test,
    )
    print(f"\noverfit:     {overfit.summary()}")
    print(f"regularised: {regular.summary()}")
    assert overfit.model_output == "logits" and regular.model_output == "log-probabilities"
    assert (overfit.figures.n_members, overfit.figures.n_non_members) == (150, 150)
    assert overfit.figures.available_non_members == 350
    assert regular.figures.n_members == regular.figures.n_non_members == 359
    # clearly: far above the overfit run's chance level and at least 0.15 above the other
    assert overfit.advantage > overfit.figures.chance_advantage
    assert overfit.advantage > regular.advantage + 0.15
    assert regular.advantage < 0.10 < overfit.advantage
    assert overfit.worst_attack.auc > regular.worst_attack.auc
    # 150 non-members allow 1 false positive at FPR 1% and none at 0.1%: unsupported, no number
    one, tenth = overfit.worst_attack.low_fpr
    assert one.supported and one.max_false_positives == 1 and one.tpr is not None
    assert not tenth.supported and tenth.tpr is None
    assert regular.worst_attack.low_fpr[0].max_false_positives == 3
    assert overfit.model_digest is not None and overfit.model_digest.startswith("sha256:")


def test_cli_writes_the_results_and_refuses_above_max_advantage(overfit_run, capsys):
    code, results = _privacy(overfit_run, "--seed", "5")
    out = capsys.readouterr().out
    assert code == 0 and results.figures.seed == 5
    (line,) = out.splitlines()
    assert line.startswith("mlsecops privacy: membership advantage ")
    assert f"{results.advantage:.4f}" in line and "150 members vs 150 non-members, seed 5" in line

    code, results = _privacy(overfit_run, "--max-advantage", "0.1")
    err = capsys.readouterr().err
    assert code == 3 and results.figures.seed == 0  # results written, then refused
    assert err.count("\n") == 1 and err.startswith("mlsecops privacy: BLOCKED: membership ")
    assert "exceeds --max-advantage 0.1" in err


def test_cli_one_line_errors_and_usage(overfit_run, tmp_path, capsys):
    code = main(
        [
            "privacy",
            "--model",
            str(overfit_run.model),
            "--train-data",
            str(tmp_path / "nope.npz"),
            "--test-data",
            str(overfit_run.test),
            "--out",
            str(tmp_path / "p.json"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "nope.npz': file not found" in err
    assert not (tmp_path / "p.json").exists()
    with pytest.raises(SystemExit) as e:
        main(["privacy", "--model", "m", "--train-data", "a", "--test-data", "b", "--out", "o",
              "--max-advantage", "2"])  # fmt: skip
    assert e.value.code == 2 and "outside [0, 1]" in capsys.readouterr().err


def test_the_control_fails_the_overfit_run_and_passes_the_regularised_one(
    overfit_run, regularised_run
):
    assert _privacy(overfit_run)[0] == 0 and _privacy(regularised_run)[0] == 0
    leaky, code = _control(overfit_run.run_dir)
    assert leaky.status == "failed" and code == 3  # impact 0.7: critical
    assert "> 0.1 allowed" in leaky.outcome.detail
    assert C.PRIVACY_RESULTS_FILE in leaky.evidence and "validate-data/manifest" in leaky.evidence
    assert not all(f.passed for f in leaky.findings)
    fine, code = _control(regularised_run.run_dir)
    assert fine.status == "passed" and code == 0, fine.outcome.detail
    assert "<= 0.1 allowed" in fine.outcome.detail and all(f.passed for f in fine.findings)


def test_an_advantage_above_the_limit_but_within_chance_is_not_a_leak(
    regularised_run, overfit_run, tmp_path
):
    """The advantage is maximised over thresholds on the same samples: below the chance level it
    is noise, so a stricter limit under it passes, saying why; a real leak still fails."""
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        f"extends: mlsvs\nname: strict\ncontrols:\n  - id: {CONTROL}\n"
        "    parameters: {max_membership_advantage: 0.01}\n"
    )
    _privacy(regularised_run)
    doc = json.loads((regularised_run.run_dir / C.PRIVACY_RESULTS_FILE).read_text())
    assert 0.01 < doc["advantage"] <= doc["chance_advantage"], doc
    noise, code = _control(regularised_run.run_dir, str(strict))
    assert noise.status == "passed" and code == 0, noise.outcome.detail
    assert "not above the chance level" in noise.outcome.detail
    _privacy(overfit_run)
    leak, code = _control(overfit_run.run_dir, str(strict))
    assert leak.status == "failed" and "above the chance level" in leak.outcome.detail


def test_the_control_never_passes_without_this_runs_evidence(
    overfit_run, regularised_run, tmp_path
):
    run_dir = tmp_path / "run"
    shutil.copytree(regularised_run.run_dir, run_dir)
    (run_dir / C.PRIVACY_RESULTS_FILE).unlink(missing_ok=True)
    missing, code = _control(run_dir)
    assert missing.status == "failed" and code == 3
    assert f"evidence '{run_dir / C.PRIVACY_RESULTS_FILE}' is missing" in missing.outcome.detail

    # results of another run (other splits, other model) do not count for this one
    _privacy(overfit_run)
    shutil.copy(overfit_run.run_dir / C.PRIVACY_RESULTS_FILE, run_dir / C.PRIVACY_RESULTS_FILE)
    other, _ = _control(run_dir)
    assert other.status == "failed" and "privacy results are not this run's" in other.outcome.detail

    # a malformed document fails with the reader's one line
    doc = json.loads((run_dir / C.PRIVACY_RESULTS_FILE).read_text())
    doc["advantage"] = "low"
    (run_dir / C.PRIVACY_RESULTS_FILE).write_text(json.dumps(doc))
    bad, _ = _control(run_dir)
    assert bad.status == "failed"
    assert "advantage='low' must be a finite number" in bad.outcome.detail

    # this run's own results with the model digest removed are not bound to the run's model
    _privacy(regularised_run)
    doc = json.loads((regularised_run.run_dir / C.PRIVACY_RESULTS_FILE).read_text())
    del doc[C.MODEL_DIGEST]
    (run_dir / C.PRIVACY_RESULTS_FILE).write_text(json.dumps(doc))
    unbound, _ = _control(run_dir)
    assert unbound.status == "failed"
    assert "not this run's: they name no model digest" in unbound.outcome.detail
