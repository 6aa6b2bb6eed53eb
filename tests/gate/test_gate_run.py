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
        attestation_path=signed.attestation,
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
        "allow_masking_flags": [],
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


MASKING_CONTROLS = {c.CONTROL_MASKING_PREFIX + flag for flag in c.MASKING_FLAGS}
#: Every control that reads the results file: all fail when it cannot be loaded.
RESULTS_CONTROLS = {
    "clean_accuracy",
    "robust_accuracy",
    "evidence_binding",
    "robustness_attestation",
    *MASKING_CONTROLS,
}


def _flag(doc: dict[str, Any], flag: str, **changes: Any) -> dict[str, Any]:
    next(f for f in doc["masking"] if f["id"] == flag).update(changes)
    return doc


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
        RESULTS_CONTROLS,
        "must be a finite number",
    ),
    "bool value": (
        _bool_robust,
        RESULTS_CONTROLS,
        "must be a finite number",
    ),
    "string clean accuracy": (
        _set(c.CLEAN_ACCURACY, "0.99"),
        RESULTS_CONTROLS,
        "must be a finite number",
    ),
    "NaN": (
        _nan_clean,
        RESULTS_CONTROLS,
        "non-finite number NaN",
    ),
    "above one": (
        _set(c.CLEAN_ACCURACY, 1.5),
        RESULTS_CONTROLS,
        "must be in [0, 1]",
    ),
    "wrong schema": (
        _set(c.SCHEMA, "kfp-mlsecops/robustness/v0"),
        RESULTS_CONTROLS,
        "schema is",
    ),
    "duplicate key": (
        _duplicate_key,
        RESULTS_CONTROLS,
        "duplicate key",
    ),
    "not an object": (
        lambda d: "[1, 2]",
        RESULTS_CONTROLS,
        "not an object",
    ),
    "invariant missing": (
        lambda d: (d["invariants"].pop(), d)[1],
        RESULTS_CONTROLS,
        "so the evaluation was incomplete",
    ),
    "worst case malformed": (
        lambda d: (d[c.WORST_CASE][0].update(robust_accuracy="high"), d)[1],
        RESULTS_CONTROLS,
        "worst_case[0].robust_accuracy",
    ),
    "digest mismatch": (
        _set(c.MODEL_DIGEST, "sha256:" + "0" * 64),
        {"evidence_binding", "robustness_attestation"},  # no attestation for another model
        "different model",
    ),
    "masking flag raised": (
        lambda d: _flag(d, "degenerate_gradients", flagged=True, detail="80% zero gradients"),
        {"masking.degenerate_gradients"},
        "flagged: 80% zero gradients",
    ),
    "two masking flags raised": (
        lambda d: _flag(
            _flag(d, "blackbox_beats_whitebox", flagged=True),
            "no_convergence_at_large_eps",
            flagged=True,
        ),
        {"masking.blackbox_beats_whitebox", "masking.no_convergence_at_large_eps"},
        "robust accuracy may be overstated",
    ),
    "masking list absent": (
        lambda d: {k: v for k, v in d.items() if k != "masking"},
        MASKING_CONTROLS,
        "results carry no 'masking' diagnostics",
    ),
    "one masking flag absent": (
        lambda d: (d["masking"].pop(0), d)[1],
        {"masking.blackbox_beats_whitebox"},
        "no masking flag 'blackbox_beats_whitebox'",
    ),
    "flagged as string": (
        lambda d: _flag(d, "degenerate_gradients", flagged="false"),
        RESULTS_CONTROLS,
        "masking[3].flagged='false' must be true or false",
    ),
    "flagged as int": (
        lambda d: _flag(d, "degenerate_gradients", flagged=0),
        RESULTS_CONTROLS,
        "must be true or false",
    ),
    "unknown masking flag": (
        lambda d: (d["masking"].append({**d["masking"][0], "id": "new_flag"}), d)[1],
        RESULTS_CONTROLS,
        "masking[4].id='new_flag' is not a known flag",
    ),
    "duplicate masking flag": (
        lambda d: (d["masking"].append(dict(d["masking"][0])), d)[1],
        RESULTS_CONTROLS,
        "appears twice",
    ),
    "masking not a list": (
        _set("masking", {"degenerate_gradients": False}),
        RESULTS_CONTROLS,
        "masking must be a list",
    ),
    "masking measured as bool": (
        lambda d: _flag(d, "degenerate_gradients", measured=True),
        RESULTS_CONTROLS,
        "masking[3].measured=True must be a finite number",
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
    passed = {ctl["id"] for ctl in doc[c.CONTROLS] if ctl["passed"]}
    assert passed == {"signature", "model_scan"}


def test_bad_signature_blocks_and_omits_the_digest(
    signed, write_results, policy, tmp_path, results_doc
) -> None:
    results = write_results(results_doc(signed.digest))
    weights = signed.model / "1" / "variables" / "variables.data-00000-of-00001"
    weights.write_bytes(b"poisoned")
    with pytest.raises(GateRejected) as info:
        _run(signed, results, policy, tmp_path / "out")
    assert "signature:" in str(info.value)
    assert "files changed: 1/variables/variables.data-00000-of-00001" in str(info.value)
    doc = json.loads((tmp_path / "out" / "decision.json").read_text())
    assert c.MODEL_DIGEST not in doc
    failed = [ctl["id"] for ctl in doc[c.CONTROLS] if not ctl["passed"]]
    # accuracy controls still evaluated; nothing can be bound to an unverified model
    assert failed == ["signature", "evidence_binding", "robustness_attestation"]


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


def _raise_flags(doc: dict[str, Any], *flags: str) -> dict[str, Any]:
    for flag in flags:
        _flag(doc, flag, flagged=True, measured=0.4, detail=f"{flag} observed")
    return doc


def test_allowed_masking_flag_is_reported_but_does_not_block(
    signed, write_results, tmp_path, results_doc
) -> None:
    doc = _raise_flags(results_doc(signed.digest), "blackbox_beats_whitebox")
    lenient = Policy(
        min_clean_accuracy=0.9,
        min_robust_accuracy=0.5,
        robust_attack="pgd",
        robust_epsilon=0.1,
        allow_masking_flags=("blackbox_beats_whitebox",),
    )
    decision = _run(signed, write_results(doc), lenient, tmp_path / "out")
    assert decision.blessed
    saved = json.loads((tmp_path / "out" / "decision.json").read_text())
    control = next(x for x in saved[c.CONTROLS] if x["id"] == "masking.blackbox_beats_whitebox")
    assert control["passed"] is True and control["waived"] is True
    assert control["measured"] == 0.4 and control["detail"].startswith("FLAGGED, allowed")
    assert all("waived" not in x for x in saved[c.CONTROLS] if x is not control)
    assert saved[c.POLICY]["allow_masking_flags"] == ["blackbox_beats_whitebox"]
    markdown = (tmp_path / "out" / "decision.md").read_text()
    assert "yes (waived by policy)" in markdown
    assert "allowed by the policy: `blackbox_beats_whitebox`" in markdown


def test_allowing_one_flag_does_not_allow_another(
    signed, write_results, tmp_path, results_doc
) -> None:
    doc = _raise_flags(
        results_doc(signed.digest), "blackbox_beats_whitebox", "degenerate_gradients"
    )
    lenient = Policy(
        min_clean_accuracy=0.9,
        min_robust_accuracy=0.5,
        robust_attack="pgd",
        robust_epsilon=0.1,
        allow_masking_flags=["blackbox_beats_whitebox"],  # type: ignore[arg-type]
    )
    with pytest.raises(GateRejected) as info:
        _run(signed, write_results(doc), lenient, tmp_path / "out")
    assert "masking.degenerate_gradients: flagged" in str(info.value)
    assert "masking.blackbox_beats_whitebox" not in str(info.value)


def test_default_policy_blocks_every_raised_flag(
    signed, write_results, policy, tmp_path, results_doc
) -> None:
    assert policy.allow_masking_flags == ()
    for flag in c.MASKING_FLAGS:
        doc = _raise_flags(results_doc(signed.digest), flag)
        with pytest.raises(GateRejected, match=f"masking.{flag}: flagged"):
            _run(signed, write_results(doc), policy, tmp_path / flag)


# --- robustness attestation and model scan -------------------------------------------------------


def _failed(out: Path) -> dict[str, str]:
    doc = json.loads((out / "decision.json").read_text())
    assert doc[c.BLESSED] is False
    return {ctl["id"]: ctl["detail"] for ctl in doc[c.CONTROLS] if not ctl["passed"]}


def test_approved_decision_records_the_attestation_and_scan(
    signed, write_results, policy, tmp_path, results_doc
) -> None:
    decision = _run(signed, write_results(results_doc(signed.digest)), policy, tmp_path / "out")
    by_id = {ctl.id: ctl for ctl in decision.controls}
    assert by_id["robustness_attestation"].measured == signed.digest
    assert "attests exactly the gated results" in by_id["robustness_attestation"].detail
    assert by_id["model_scan"].measured == 0 and by_id["model_scan"].threshold == 0


def test_missing_attestation_blocks(signed, write_results, policy, tmp_path, results_doc) -> None:
    results = write_results(results_doc(signed.digest), attest=False)
    with pytest.raises(GateRejected, match="robustness_attestation: .*does not exist"):
        _run(signed, results, policy, tmp_path / "out")
    assert set(_failed(tmp_path / "out")) == {"robustness_attestation"}


def test_no_attestation_path_blocks(signed, write_results, policy, tmp_path, results_doc) -> None:
    results = write_results(results_doc(signed.digest))
    with pytest.raises(GateRejected, match="no robustness attestation was given"):
        run_gate(
            model_dir=signed.model,
            signature_path=signed.signature,
            public_key_path=signed.public_key,
            results_path=results,
            attestation_path=None,
            policy=policy,
            decision_json_path=tmp_path / "out" / "decision.json",
            decision_md_path=tmp_path / "out" / "decision.md",
        )
    assert set(_failed(tmp_path / "out")) == {"robustness_attestation"}


def test_attestation_of_other_numbers_blocks(
    signed, write_results, policy, tmp_path, results_doc
) -> None:
    """Results edited after they were attested (even to a still-passing value) block."""
    results = write_results(results_doc(signed.digest))  # attested as written
    edited = results_doc(signed.digest)
    edited[c.CLEAN_ACCURACY] = 0.99
    results.write_text(json.dumps(edited))
    with pytest.raises(GateRejected) as info:
        _run(signed, results, policy, tmp_path / "out")
    failed = _failed(tmp_path / "out")
    assert set(failed) == {"robustness_attestation"}
    assert (
        "differ from the results being gated on (clean_accuracy)"
        in failed["robustness_attestation"]
    )
    assert "robustness_attestation:" in str(info.value)


def test_attestation_signed_with_another_key_blocks(
    signed, write_results, policy, tmp_path, results_doc, attest_results
) -> None:
    from kfp_mlsecops.signing import generate_key_pair

    generate_key_pair(tmp_path / "other.pem", tmp_path / "other.pub.pem")
    results = write_results(results_doc(signed.digest), attest=False)
    attest_results(signed, results, private_key=tmp_path / "other.pem")
    with pytest.raises(GateRejected, match="robustness_attestation"):
        _run(signed, results, policy, tmp_path / "out")
    failed = _failed(tmp_path / "out")
    assert set(failed) == {"robustness_attestation"}
    assert "do not deploy" in failed["robustness_attestation"]


def test_attestation_of_another_model_blocks(
    signed, write_results, policy, tmp_path, results_doc, attest_results, gate_keys
) -> None:
    """A genuine attestation made for a different signed model does not carry over."""
    import shutil

    from kfp_mlsecops.signing import sign_model

    results = write_results(results_doc(signed.digest))
    other = tmp_path / "other-model"
    shutil.copytree(signed.model, other)
    (other / "1" / "variables" / "variables.index").write_bytes(b"another index")
    other_digest = sign_model(other, tmp_path / "other.sig", private_key_path=gate_keys[0])
    other_results = tmp_path / "other-results.json"
    other_results.write_text(json.dumps(results_doc(other_digest)))
    from dataclasses import replace

    attest_results(replace(signed, model=other), other_results)
    with pytest.raises(GateRejected, match="not the signed model"):
        _run(signed, results, policy, tmp_path / "out")
    assert set(_failed(tmp_path / "out")) == {"robustness_attestation"}


def _resign(signed, gate_keys) -> None:
    from kfp_mlsecops.signing import sign_model

    signed.digest = sign_model(signed.model, signed.signature, private_key_path=gate_keys[0])


def test_model_with_a_pickle_is_blocked_by_model_scan(
    signed, write_results, policy, tmp_path, results_doc, gate_keys
) -> None:
    import os
    import pickle

    class RunsShell:
        def __reduce__(self):
            return (os.system, ("true",))

    (signed.model / "extra.bin").write_bytes(pickle.dumps(RunsShell()))  # never unpickled
    _resign(signed, gate_keys)  # signed by the trusted key: only the scan can catch it
    results = write_results(results_doc(signed.digest))
    with pytest.raises(GateRejected, match="model_scan: .*extra.bin") as info:
        _run(signed, results, policy, tmp_path / "out")
    failed = _failed(tmp_path / "out")
    assert set(failed) == {"model_scan"} and "pickle" in failed["model_scan"]
    doc = json.loads((tmp_path / "out" / "decision.json").read_text())
    scan = next(ctl for ctl in doc[c.CONTROLS] if ctl["id"] == "model_scan")
    assert scan["measured"] >= 1
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_keras_lambda_layer_is_blocked_by_model_scan(
    signed, write_results, policy, tmp_path, results_doc, gate_keys
) -> None:
    import keras

    inputs = keras.Input((3,))
    outputs = keras.layers.Lambda(lambda t: t * 2.0, name="double")(inputs)
    keras.Model(inputs, outputs).save(signed.model / c.KERAS_FILE)
    _resign(signed, gate_keys)
    results = write_results(results_doc(signed.digest))
    with pytest.raises(GateRejected, match="model_scan"):
        _run(signed, results, policy, tmp_path / "out")
    failed = _failed(tmp_path / "out")
    assert set(failed) == {"model_scan"} and "Lambda" in failed["model_scan"]
