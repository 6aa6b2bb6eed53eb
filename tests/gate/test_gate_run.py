from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kfp_mlsecops import constants as c
from kfp_mlsecops.errors import GateRejected, InvalidInputError
from kfp_mlsecops.gate import Policy, run_gate


def _run(signed: Any, results: Path, policy: Policy, out: Path):
    return run_gate(
        model_dir=signed.model,
        signature_path=signed.signature,
        public_key_path=signed.public_key,
        results_path=results,
        policy=policy,
        decision_json_path=out / "decision.json",
        decision_md_path=out / "decision.md",
    )


def test_approved_path_writes_both_reports(
    signed, write_results, policy, tmp_path, results_doc
) -> None:
    results = write_results(results_doc(signed.digest))
    decision = _run(signed, results, policy, tmp_path / "out")
    assert decision.blessed and decision.decision == c.DECISION_APPROVED
    assert decision.model_digest == signed.digest
    doc = json.loads((tmp_path / "out" / "decision.json").read_text())
    assert doc[c.SCHEMA] == c.DECISION_SCHEMA
    assert doc[c.DECISION] == c.DECISION_APPROVED and doc[c.BLESSED] is True
    assert doc[c.MODEL_DIGEST] == signed.digest
    assert [ctl["id"] for ctl in doc[c.CONTROLS]] == list(c.REQUIRED_CONTROLS)
    assert all(ctl["passed"] is True for ctl in doc[c.CONTROLS])
    robust = doc[c.CONTROLS][2]
    assert robust["measured"] == 0.55 and robust["threshold"] == 0.5
    assert doc[c.POLICY] == {
        "min_clean_accuracy": 0.9,
        "min_robust_accuracy": 0.5,
        "robust_attack": "pgd",
        "robust_epsilon": 0.1,
    }
    markdown = (tmp_path / "out" / "decision.md").read_text()
    assert "# Gate decision: APPROVED" in markdown
    assert "| id | description | measured | threshold | passed |" in markdown
    assert "| robust_accuracy |" in markdown and "| 0.5500 | 0.5000 | yes |" in markdown


def test_decision_json_is_byte_stable(signed, write_results, policy, tmp_path, results_doc) -> None:
    results = write_results(results_doc(signed.digest))
    _run(signed, results, policy, tmp_path / "a")
    _run(signed, results, policy, tmp_path / "b")
    assert (tmp_path / "a" / "decision.json").read_bytes() == (
        tmp_path / "b" / "decision.json"
    ).read_bytes()


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    def mutate(doc: dict[str, Any]) -> Any:
        doc[key] = value
        return doc

    return mutate


def _drop_pgd_attack(doc: dict[str, Any]) -> Any:
    doc[c.ATTACKS] = [a for a in doc[c.ATTACKS] if a["attack"] != "pgd"]
    return doc


def _drop_pgd_eps(doc: dict[str, Any]) -> Any:
    doc[c.ATTACKS] = [a for a in doc[c.ATTACKS] if a["epsilon"] != 0.1 or a["attack"] != "pgd"]
    return doc


def _nan_clean(doc: dict[str, Any]) -> Any:
    return json.dumps(doc).replace('"clean_accuracy": 0.95', '"clean_accuracy": NaN')


def _string_robust(doc: dict[str, Any]) -> Any:
    doc[c.ATTACKS][2]["robust_accuracy"] = "1.0' or True or '"
    return doc


def _bool_robust(doc: dict[str, Any]) -> Any:
    doc[c.ATTACKS][2]["robust_accuracy"] = True
    return doc


def _duplicate_key(doc: dict[str, Any]) -> Any:
    return json.dumps(doc)[:-1] + ', "clean_accuracy": 1.0}'


#: case -> (mutation of the results document, controls expected to fail, reason fragment)
CASES: dict[str, tuple[Callable[[dict[str, Any]], Any], set[str], str]] = {
    "low clean accuracy": (_set(c.CLEAN_ACCURACY, 0.89), {"clean_accuracy"}, "0.8900 < 0.9000"),
    "low robust accuracy": (
        lambda d: (d[c.ATTACKS][2].update(robust_accuracy=0.49), d)[1],
        {"robust_accuracy"},
        "0.4900 < 0.5000",
    ),
    "missing attack": (_drop_pgd_attack, {"robust_accuracy"}, "no 'pgd' at epsilon 0.1"),
    "missing epsilon": (_drop_pgd_eps, {"robust_accuracy"}, "no 'pgd' at epsilon 0.1"),
    "string value": (
        _string_robust,
        {"clean_accuracy", "robust_accuracy", "evidence_binding"},
        "must be a finite number",
    ),
    "bool value": (
        _bool_robust,
        {"clean_accuracy", "robust_accuracy", "evidence_binding"},
        "must be a finite number",
    ),
    "string clean accuracy": (
        _set(c.CLEAN_ACCURACY, "0.99"),
        {"clean_accuracy", "robust_accuracy", "evidence_binding"},
        "must be a finite number",
    ),
    "NaN": (
        _nan_clean,
        {"clean_accuracy", "robust_accuracy", "evidence_binding"},
        "non-finite number NaN",
    ),
    "above one": (
        _set(c.CLEAN_ACCURACY, 1.5),
        {"clean_accuracy", "robust_accuracy", "evidence_binding"},
        "must be in [0, 1]",
    ),
    "wrong schema": (
        _set(c.SCHEMA, "kfp-mlsecops/robustness/v0"),
        {"clean_accuracy", "robust_accuracy", "evidence_binding"},
        "schema is",
    ),
    "duplicate key": (
        _duplicate_key,
        {"clean_accuracy", "robust_accuracy", "evidence_binding"},
        "duplicate key",
    ),
    "not an object": (
        lambda d: "[1, 2]",
        {"clean_accuracy", "robust_accuracy", "evidence_binding"},
        "not an object",
    ),
    "invariant missing": (
        lambda d: (d["invariants"].pop(), d)[1],
        {"clean_accuracy", "robust_accuracy", "evidence_binding"},
        "so the evaluation was incomplete",
    ),
    "worst case malformed": (
        lambda d: (d[c.WORST_CASE][0].update(robust_accuracy="high"), d)[1],
        {"clean_accuracy", "robust_accuracy", "evidence_binding"},
        "worst_case[0].robust_accuracy",
    ),
    "digest mismatch": (
        _set(c.MODEL_DIGEST, "sha256:" + "0" * 64),
        {"evidence_binding"},
        "different model",
    ),
    "digest absent": (
        lambda d: {k: v for k, v in d.items() if k != c.MODEL_DIGEST},
        {"evidence_binding"},
        "no model_digest",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_failing_control_blocks_and_still_writes_the_decision(
    case: str, signed, write_results, policy, tmp_path, results_doc
) -> None:
    mutate, expected_failed, fragment = CASES[case]
    results = write_results(mutate(results_doc(signed.digest)))
    with pytest.raises(GateRejected) as info:
        _run(signed, results, policy, tmp_path / "out")
    message = str(info.value)
    assert "\n" not in message and fragment in message
    doc = json.loads((tmp_path / "out" / "decision.json").read_text())
    assert doc[c.DECISION] == c.DECISION_BLOCKED and doc[c.BLESSED] is False
    assert [ctl["id"] for ctl in doc[c.CONTROLS]] == list(c.REQUIRED_CONTROLS)
    failed = {ctl["id"] for ctl in doc[c.CONTROLS] if not ctl["passed"]}
    assert failed == expected_failed
    for cid in failed:
        assert f"{cid}:" in message
    assert doc[c.MODEL_DIGEST] == signed.digest  # the signature itself still verified
    assert "# Gate decision: BLOCKED" in (tmp_path / "out" / "decision.md").read_text()


def test_missing_results_file_blocks(signed, policy, tmp_path) -> None:
    with pytest.raises(GateRejected, match="do not exist"):
        _run(signed, tmp_path / "absent.json", policy, tmp_path / "out")
    doc = json.loads((tmp_path / "out" / "decision.json").read_text())
    assert doc[c.DECISION] == c.DECISION_BLOCKED
    assert [ctl["passed"] for ctl in doc[c.CONTROLS]] == [True, False, False, False]


def test_bad_signature_blocks_and_omits_the_digest(
    signed, write_results, policy, tmp_path, results_doc
) -> None:
    results = write_results(results_doc(signed.digest))
    (signed.model / "1" / "saved_model.pb").write_bytes(b"poisoned")
    with pytest.raises(GateRejected) as info:
        _run(signed, results, policy, tmp_path / "out")
    assert "signature:" in str(info.value) and "files changed: 1/saved_model.pb" in str(info.value)
    doc = json.loads((tmp_path / "out" / "decision.json").read_text())
    assert c.MODEL_DIGEST not in doc
    failed = [ctl["id"] for ctl in doc[c.CONTROLS] if not ctl["passed"]]
    assert failed == ["signature", "evidence_binding"]  # accuracy controls still evaluated


def test_missing_signature_blocks(signed, write_results, policy, tmp_path, results_doc) -> None:
    results = write_results(results_doc(signed.digest))
    signed.signature.unlink()
    with pytest.raises(GateRejected, match="signature: .* does not exist"):
        _run(signed, results, policy, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "decision.json").read_text())[c.BLESSED] is False


def test_epsilon_is_matched_with_a_tolerance(signed, write_results, tmp_path, results_doc) -> None:
    results = write_results(results_doc(signed.digest))
    near = Policy(
        min_clean_accuracy=0.9,
        min_robust_accuracy=0.5,
        robust_attack="pgd",
        robust_epsilon=0.1 + 1e-12,
    )
    assert _run(signed, results, near, tmp_path / "a").blessed
    far = Policy(
        min_clean_accuracy=0.9, min_robust_accuracy=0.5, robust_attack="pgd", robust_epsilon=0.1001
    )
    with pytest.raises(GateRejected, match="no 'pgd' at epsilon 0.1001"):
        _run(signed, results, far, tmp_path / "b")


def test_ambiguous_attack_entries_block(
    signed, write_results, policy, tmp_path, results_doc
) -> None:
    doc = results_doc(signed.digest)
    doc[c.ATTACKS].append(
        {"attack": "pgd", "norm": "l2", "epsilon": 0.1, "robust_accuracy": 0.9, "params": {}}
    )
    with pytest.raises(GateRejected, match="2 entries for 'pgd'"):
        _run(signed, write_results(doc), policy, tmp_path / "out")


def test_policy_must_be_a_policy(signed, write_results, tmp_path, results_doc) -> None:
    results = write_results(results_doc(signed.digest))
    with pytest.raises(InvalidInputError, match="gate Policy"):
        _run(signed, results, {"min_clean_accuracy": 0.9}, tmp_path / "out")  # type: ignore[arg-type]


def test_policy_may_gate_on_the_worst_case(signed, write_results, tmp_path, results_doc) -> None:
    results = write_results(results_doc(signed.digest))
    worst = Policy(
        min_clean_accuracy=0.9,
        min_robust_accuracy=0.5,
        robust_attack=c.WORST_CASE,
        robust_epsilon=0.1,
    )
    decision = _run(signed, results, worst, tmp_path / "a")
    assert decision.controls[2].measured == 0.52
    strict = Policy(
        min_clean_accuracy=0.9,
        min_robust_accuracy=0.53,
        robust_attack=c.WORST_CASE,
        robust_epsilon=0.1,
    )
    with pytest.raises(GateRejected, match="0.5200 < 0.5300"):
        _run(signed, results, strict, tmp_path / "b")
