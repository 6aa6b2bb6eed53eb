from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kfp_mlsecops import constants as c
from kfp_mlsecops.errors import GateRejected, InvalidInputError, VerificationError
from kfp_mlsecops.gate import ControlResult, Decision, Policy, read_blessing, run_gate
from kfp_mlsecops.gate.decision import decide

GOOD = dict(
    min_clean_accuracy=0.9, min_robust_accuracy=0.5, robust_attack="pgd", robust_epsilon=0.1
)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("min_clean_accuracy", 1.01),
        ("min_clean_accuracy", -0.1),
        ("min_clean_accuracy", "0.9"),
        ("min_clean_accuracy", True),
        ("min_robust_accuracy", float("nan")),
        ("min_robust_accuracy", None),
        ("robust_attack", ""),
        ("robust_attack", " pgd"),
        ("robust_attack", 3),
        ("robust_epsilon", -0.01),
        ("robust_epsilon", float("inf")),
        ("robust_epsilon", "0.1"),
    ],
)
def test_policy_rejects_bad_values_naming_the_parameter(field: str, value: Any) -> None:
    with pytest.raises(InvalidInputError, match=field):
        Policy(**{**GOOD, field: value})


def test_policy_has_no_defaults() -> None:
    with pytest.raises(TypeError):
        Policy()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Policy(min_clean_accuracy=0.9, min_robust_accuracy=0.5, robust_attack="pgd")  # type: ignore[call-arg]


def test_policy_normalizes_ints_to_floats() -> None:
    policy = Policy(
        min_clean_accuracy=1, min_robust_accuracy=0, robust_attack="pgd", robust_epsilon=0
    )
    assert policy.to_dict() == {
        "min_clean_accuracy": 1.0,
        "min_robust_accuracy": 0.0,
        "robust_attack": "pgd",
        "robust_epsilon": 0.0,
        "allow_masking_flags": [],
    }


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (("gradient_masking",), "unknown flag id(s) ['gradient_masking']"),
        (("degenerate_gradients", "Degenerate_Gradients"), "unknown flag id(s)"),
        ((3,), "unknown flag id(s) [3]"),
        ("degenerate_gradients", "must be a list of flag ids"),
        (None, "must be a list of flag ids"),
        ({"degenerate_gradients": True}, "must be a list of flag ids"),
    ],
)
def test_policy_refuses_unknown_or_malformed_masking_allow_lists(value: Any, fragment: str) -> None:
    with pytest.raises(InvalidInputError, match="allow_masking_flags") as info:
        Policy(**GOOD, allow_masking_flags=value)
    assert fragment in str(info.value)


def test_policy_masking_allow_list_is_canonical() -> None:
    policy = Policy(
        **GOOD,
        allow_masking_flags=[
            "degenerate_gradients",
            "blackbox_beats_whitebox",
            "degenerate_gradients",
        ],
    )
    assert policy.allow_masking_flags == ("blackbox_beats_whitebox", "degenerate_gradients")
    assert Policy(**GOOD).allow_masking_flags == ()
    assert policy.to_dict()["allow_masking_flags"] == [
        "blackbox_beats_whitebox",
        "degenerate_gradients",
    ]


def test_every_masking_flag_is_a_required_control() -> None:
    for flag in c.MASKING_FLAGS:
        assert f"masking.{flag}" in c.REQUIRED_CONTROLS
    assert {"robustness_attestation", "model_scan"} <= set(c.REQUIRED_CONTROLS)


def _passing_controls() -> tuple[ControlResult, ...]:
    return tuple(ControlResult(cid, cid, 1.0, 0.5, True, "ok") for cid in c.REQUIRED_CONTROLS)


def test_empty_or_incomplete_control_lists_never_approve() -> None:
    policy = Policy(**GOOD)
    digest = "sha256:" + "a" * 64
    assert not decide((), model_digest=digest, policy=policy).blessed
    assert not decide(_passing_controls()[:3], model_digest=digest, policy=policy).blessed
    assert not decide(_passing_controls(), model_digest=None, policy=policy).blessed
    assert decide(_passing_controls(), model_digest=digest, policy=policy).blessed


def test_blessed_requires_every_control_to_pass_even_if_labelled_approved() -> None:
    controls = (
        *_passing_controls()[:3],
        ControlResult("evidence_binding", "", None, None, False, "x"),
    )
    forged = Decision(c.DECISION_APPROVED, controls, "sha256:" + "a" * 64, Policy(**GOOD), "")
    assert forged.blessed is False
    assert (
        Decision(c.DECISION_APPROVED, (), "sha256:" + "a" * 64, Policy(**GOOD), "").blessed is False
    )


@pytest.fixture
def approved(signed, write_results, policy, tmp_path, results_doc) -> Path:
    path = tmp_path / "out" / "decision.json"
    run_gate(
        model_dir=signed.model,
        signature_path=signed.signature,
        public_key_path=signed.public_key,
        results_path=write_results(results_doc(signed.digest)),
        attestation_path=signed.attestation,
        policy=policy,
        decision_json_path=path,
        decision_md_path=tmp_path / "out" / "decision.md",
    )
    return path


def test_read_blessing_accepts_an_approved_decision(approved: Path, signed, policy) -> None:
    blessing = read_blessing(approved)
    assert blessing.model_digest == signed.digest
    assert blessing.controls == c.REQUIRED_CONTROLS
    assert blessing.policy == policy


def test_read_blessing_refuses_a_blocked_decision(
    signed, write_results, policy, tmp_path, results_doc
) -> None:
    path = tmp_path / "decision.json"
    with pytest.raises(GateRejected):
        run_gate(
            model_dir=signed.model,
            signature_path=signed.signature,
            public_key_path=signed.public_key,
            results_path=write_results(results_doc(None)),
            attestation_path=signed.attestation,
            policy=policy,
            decision_json_path=path,
            decision_md_path=tmp_path / "decision.md",
        )
    with pytest.raises(VerificationError, match="decision is 'blocked'"):
        read_blessing(path)


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


TAMPERS = {
    "blessed as string": (lambda d: d.update(blessed="true"), "blessed is 'true'"),
    "blessed as 1": (lambda d: d.update(blessed=1), "blessed is 1"),
    "control failed": (lambda d: d["controls"][1].update(passed=False), "'clean_accuracy' did not"),
    "control passed as string": (lambda d: d["controls"][0].update(passed="yes"), "did not pass"),
    "control removed": (lambda d: d["controls"].pop(), "required controls are missing"),
    "masking control removed": (
        lambda d: d.update(
            controls=[x for x in d["controls"] if not x["id"].startswith("masking")]
        ),
        "required controls are missing: masking.blackbox_beats_whitebox",
    ),
    "masking control failed": (
        lambda d: d["controls"][-1].update(passed=False),
        "'masking.degenerate_gradients' did not pass",
    ),
    "waived without policy": (
        lambda d: d["controls"][-1].update(waived=True),
        "is waived but its policy does not allow it",
    ),
    "waived as string": (
        lambda d: (
            d["policy"].update(allow_masking_flags=["degenerate_gradients"]),
            d["controls"][-1].update(waived="yes"),
        ),
        "is waived but its policy does not allow it",
    ),
    "policy allows unknown flag": (
        lambda d: d["policy"].update(allow_masking_flags=["everything"]),
        "policy is invalid",
    ),
    "no controls": (lambda d: d.update(controls=[]), "lists no controls"),
    "attestation control removed": (
        lambda d: d.update(
            controls=[x for x in d["controls"] if x["id"] != "robustness_attestation"]
        ),
        "required controls are missing: robustness_attestation",
    ),
    "model scan control removed": (
        lambda d: d.update(controls=[x for x in d["controls"] if x["id"] != "model_scan"]),
        "required controls are missing: model_scan",
    ),
    "digest removed": (lambda d: d.pop("model_digest"), "model_digest None"),
    "digest malformed": (
        lambda d: d.update(model_digest="sha256:xyz"),
        "model_digest 'sha256:xyz'",
    ),
    "schema changed": (lambda d: d.update(schema="other"), "schema is 'other'"),
    "decision changed": (lambda d: d.update(decision="APPROVED"), "decision is 'APPROVED'"),
    "policy removed": (lambda d: d.pop("policy"), "no policy"),
    "policy invalid": (lambda d: d["policy"].update(min_clean_accuracy=2), "policy is invalid"),
}


def test_read_blessing_accepts_a_waiver_the_policy_allows(approved: Path) -> None:
    def waive(doc: dict[str, Any]) -> None:
        doc["policy"]["allow_masking_flags"] = ["degenerate_gradients"]
        doc["controls"][-1]["waived"] = True

    _edit(approved, waive)
    assert read_blessing(approved).policy.allow_masking_flags == ("degenerate_gradients",)


@pytest.mark.parametrize("case", list(TAMPERS), ids=list(TAMPERS))
def test_read_blessing_refuses_tampered_decisions(approved: Path, case: str) -> None:
    change, fragment = TAMPERS[case]
    _edit(approved, change)
    with pytest.raises(VerificationError) as info:
        read_blessing(approved)
    assert fragment in str(info.value) and "do not deploy" in str(info.value)


def test_read_blessing_refuses_missing_or_garbled_files(tmp_path: Path) -> None:
    with pytest.raises(VerificationError, match="does not exist"):
        read_blessing(tmp_path / "absent.json")
    (tmp_path / "garbled.json").write_text('{"blessed": true')
    with pytest.raises(VerificationError, match="unreadable"):
        read_blessing(tmp_path / "garbled.json")
