"""The poisoning scan on real models trained with the repo's training (once per session): a
planted backdoor is found at 4.0% and 8.9% of the target class with most poisoned samples
flagged; a clean model is not flagged; `mlsecops poisoning` end to end and its exit codes; the
MLSVS control fails the poisoned run, passes the clean one and never passes without evidence."""

import json
import shutil

import numpy as np
import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.main import main
from kfp_mlsecops.compliance import CheckContext, RunFolder, load_profile, run_profile
from kfp_mlsecops.poisoning import PoisoningResults, run_poisoning_scan

pytestmark = pytest.mark.slow

CONTROL = "mlsvs-poisoning-scan"
#: The backdoor's target class (conftest.TARGET).
TARGET = 0


def _flagged(results: PoisoningResults, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[list(results.flagged)] = True
    return mask


def _scan(run) -> tuple[int, PoisoningResults]:
    out = run.run_dir / C.POISONING_RESULTS_FILE
    code = main(
        ["poisoning", "--model", str(run.model), "--data", str(run.train), "--out", str(out)]
    )
    return code, PoisoningResults.read(out)


def _control(run_dir):
    report = run_profile(
        load_profile("mlsvs"), CheckContext(run=RunFolder.locate(run_dir)), only=[CONTROL]
    )
    (control,) = report.controls
    return control, report.exit_code


def test_the_backdoor_is_found_and_a_clean_model_is_not_flagged(clean_run, poisoned_runs):
    clean_flags = clean_samples = 0
    for name, run in poisoned_runs.items():
        results = run_poisoning_scan(model_path=run.model, train_path=run.train)
        poisoned = run.poisoned_rows()
        flagged = _flagged(results, len(poisoned))
        target_size = next(c.n_samples for c in results.classes if c.label == TARGET)
        recall = (flagged & poisoned).sum() / poisoned.sum()
        print(
            f"\n{name}: {poisoned.sum()} poisoned of {target_size} in class {TARGET} "
            f"({poisoned.sum() / target_size:.1%}); recall {recall:.2f}; {results.summary()}"
        )
        assert [c.label for c in results.classes if c.suspicious] == [TARGET]
        assert recall >= 0.8
        clean_flags += int((flagged & ~poisoned).sum())
        clean_samples += int((~poisoned).sum())
    assert {n: r.poisoned_rows().sum() for n, r in poisoned_runs.items()} == {"low": 6, "high": 14}

    results = run_poisoning_scan(model_path=clean_run.model, train_path=clean_run.train)
    print(f"clean: {results.summary()}")
    assert not results.suspicious and results.flagged == ()
    assert all(c.scored for c in results.classes) and results.n_samples == 1438
    clean_flags += len(results.flagged)
    clean_samples += results.n_samples
    print(f"false-positive rate {clean_flags}/{clean_samples}")
    assert clean_flags / clean_samples <= 0.005
    assert results.model_digest is not None and results.model_digest.startswith("sha256:")


def test_cli_exit_codes_and_one_line_errors(clean_run, poisoned_runs, tmp_path, capsys):
    code, results = _scan(clean_run)
    (line,) = capsys.readouterr().out.splitlines()
    assert code == 0 and not results.suspicious
    assert line.startswith("mlsecops poisoning: poisoning scan clean: ")

    code, results = _scan(poisoned_runs["high"])
    err = capsys.readouterr().err
    assert code == 3 and results.suspicious  # results written, then refused
    assert err.count("\n") == 1 and err.startswith("mlsecops poisoning: BLOCKED: class(es) 0 ")

    out = tmp_path / "p.json"
    args = ["poisoning", "--model", str(clean_run.model), "--out", str(out), "--data"]
    assert main([*args, str(tmp_path / "nope.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.npz': file not found" in err and not out.exists()
    with pytest.raises(SystemExit) as e:
        main(["poisoning", "--model", "m", "--out", "o"])
    assert e.value.code == 2 and "--data" in capsys.readouterr().err


def test_the_control_fails_the_poisoned_run_and_passes_the_clean_one(clean_run, poisoned_runs):
    assert _scan(clean_run)[0] == 0 and _scan(poisoned_runs["low"])[0] == 3
    bad, code = _control(poisoned_runs["low"].run_dir)
    assert bad.status == "failed" and code == 3  # impact 0.7: critical
    assert "SUSPICIOUS: class 0: " in bad.outcome.detail
    assert C.POISONING_RESULTS_FILE in bad.evidence and "validate-data/manifest" in bad.evidence
    assert [f.id for f in bad.findings if not f.passed] == ["class 0"]
    fine, code = _control(clean_run.run_dir)
    assert fine.status == "passed" and code == 0, fine.outcome.detail
    assert all(f.passed for f in fine.findings) and len(fine.findings) == 10


def test_the_control_never_passes_without_this_runs_evidence(clean_run, poisoned_runs, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(clean_run.run_dir, run_dir)
    (run_dir / C.POISONING_RESULTS_FILE).unlink(missing_ok=True)
    missing, code = _control(run_dir)
    assert missing.status == "failed" and code == 3
    assert f"evidence '{run_dir / C.POISONING_RESULTS_FILE}' is missing" in missing.outcome.detail

    # results of another run (other split, other model) do not count for this one
    _scan(poisoned_runs["high"])
    shutil.copy(
        poisoned_runs["high"].run_dir / C.POISONING_RESULTS_FILE,
        run_dir / C.POISONING_RESULTS_FILE,
    )
    other, _ = _control(run_dir)
    assert other.status == "failed"
    assert "poisoning results are not this run's" in other.outcome.detail

    # a malformed document fails with the reader's one line
    doc = json.loads((run_dir / C.POISONING_RESULTS_FILE).read_text())
    doc["suspicious"] = "no"
    (run_dir / C.POISONING_RESULTS_FILE).write_text(json.dumps(doc))
    bad, _ = _control(run_dir)
    assert bad.status == "failed" and "suspicious='no' must be true or false" in bad.outcome.detail
