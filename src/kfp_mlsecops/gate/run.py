"""Run the gate: evaluate every control, always write the decision, sign an approval or raise."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from kfp_mlsecops._io import (
    markdown_table,
    one_line,
    read_json_object,
    sha256_file,
    write_json_atomic,
    write_text_atomic,
)
from kfp_mlsecops.audit import append_record, resolve_log_path
from kfp_mlsecops.errors import GateRejected, InvalidInputError, MLSecOpsError
from kfp_mlsecops.gate.approval import Approval, FloorRef, check_separate_keys, sign_approval
from kfp_mlsecops.gate.artifact_controls import model_scan_control, robustness_attestation_control
from kfp_mlsecops.gate.controls import (
    ControlResult,
    Value,
    clean_accuracy_control,
    evidence_binding_control,
    masking_controls,
    robust_accuracy_control,
    signature_control,
)
from kfp_mlsecops.gate.decision import Decision, decide
from kfp_mlsecops.gate.evidence_controls import (
    evidence_clean_control,
    evidence_data_control,
    evidence_robust_control,
    model_layout_control,
    policy_floor_control,
)
from kfp_mlsecops.gate.rederive import Rederivation, rederive
from kfp_mlsecops.policy import (
    Policy,
    PolicyFloor,
    evaluation_violations,
    load_floor,
    tighten,
)
from kfp_mlsecops.signing import SigningConfig, VerificationConfig, resolve_verification

__all__ = ["render_markdown", "run_gate"]

T = TypeVar("T")
#: The control recorded when a blessed decision cannot be signed (it then blocks).
CONTROL_APPROVAL = "approval_signed"
#: The control recorded when an approval cannot be appended to the audit log (it then blocks).
CONTROL_AUDIT = "audit_recorded"


def run_gate(
    *,
    model_dir: str | os.PathLike[str],
    signature_path: str | os.PathLike[str],
    results_path: str | os.PathLike[str],
    attestation_path: str | os.PathLike[str] | None,
    test_data_path: str | os.PathLike[str],
    test_data_digest: str,
    policy: Policy,
    floor_path: str | os.PathLike[str] | None,
    approval_signing: SigningConfig,
    approval_path: str | os.PathLike[str],
    decision_json_path: str | os.PathLike[str],
    decision_md_path: str | os.PathLike[str],
    public_key_path: str | os.PathLike[str] | None = None,
    verification: VerificationConfig | None = None,
    gate_seed: int | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    audit_signing: SigningConfig | None = None,
    run_id: str = "",
    pipeline: str = "",
) -> Decision:
    """Evaluate all controls, write the decision, sign the approval when blessed, else raise.

    Trust is ``verification`` (any signing method) or, for the key method, ``public_key_path``;
    exactly one. ``test_data_path`` is validate-data's test split and ``test_data_digest`` the
    digest validate-data output for it. ``policy`` holds the run's thresholds; the floor at
    ``floor_path`` (None or "": the built-in default floor) may only tighten them. Controls, in
    order: ``model_layout``, ``signature``, ``model_scan``, ``robustness_attestation``,
    ``evidence_binding``, ``evidence.data``, ``policy_floor``, ``evidence.clean``,
    ``evidence.robust`` (the gate's re-derivation, see :mod:`.rederive`), ``clean_accuracy`` and
    ``robust_accuracy`` (on the re-derived numbers) and one ``masking.<flag>`` per flag. A
    control that cannot be evaluated fails with its reason; the others still run. When every
    control passed, the approval (:mod:`.approval`) is signed with ``approval_signing`` (the
    gate's own key, never the model-signing key) and written to ``approval_path``. Both reports
    are always written; then GateRejected is raised unless the model was approved and signed.
    ``gate_seed`` fixes the re-derivation sample (default: a fresh random seed, recorded).

    ``audit_log`` (None or "": off) is an audit log location (:mod:`kfp_mlsecops.audit`);
    every decision is appended to it, signed with ``audit_signing`` (required then) and tagged
    with ``run_id`` and ``pipeline``, BEFORE GateRejected is raised. Fails closed: when an
    approval cannot be recorded, the approval file is removed and the decision is blocked by a
    failed ``audit_recorded`` control; when a blocked decision cannot be recorded, the model is
    still blocked and the GateRejected message also says the record is missing and why.
    """
    if audit_log and not isinstance(audit_signing, SigningConfig):
        raise InvalidInputError("audit_log needs audit_signing (the audit key); pass both")
    if audit_log:
        resolve_log_path(audit_log)  # an unusable location fails before anything is evaluated
    if not isinstance(policy, Policy):
        raise InvalidInputError(f"policy must be a gate Policy, got {type(policy).__name__}")
    if not isinstance(approval_signing, SigningConfig):
        raise InvalidInputError("approval_signing must be a SigningConfig (the gate's own key)")
    trust = resolve_verification(public_key_path=public_key_path, verification=verification)
    layout = model_layout_control(model_dir)
    signature, digest = signature_control(
        model_dir=model_dir, signature_path=signature_path, verification=trust
    )
    scan = model_scan_control(model_dir)
    results = _once(lambda: _read_results(results_path))
    split = _once(lambda: _read_split(test_data_path))
    floor = _once(lambda: load_floor(floor_path or None))
    tightened = _once(
        lambda: tighten(policy, floor(), input_range=(split()[0].lower, split()[0].upper))
    )
    effective = _attempt(lambda: tightened().policy) or policy

    def violations() -> tuple[str, ...]:
        doc = results()[0]
        return evaluation_violations(
            floor(),
            tier=doc.tier,
            attack_params=doc.attack_params(),
            n_samples=doc.n_samples,
            epsilons=doc.epsilons,
            robust_epsilon=effective.robust_epsilon,
            robust_attack=effective.robust_attack,
        )

    data = evidence_data_control(
        split_digest=lambda: split()[1],
        expected=test_data_digest,
        results=lambda: results()[0],
        split_range=lambda: (split()[0].lower, split()[0].upper),
    )
    floor_control = policy_floor_control(
        floor=floor, violations=violations, notes=lambda: tightened().notes
    )
    prerequisites = (layout, signature, scan, data, floor_control)

    def rederived() -> Rederivation:
        evidence, data_split = results()[0], split()[0]  # unusable inputs: their own reason
        blocking = [ctl.id for ctl in prerequisites if not ctl.passed]
        if blocking:
            raise InvalidInputError(f"not re-derived: {', '.join(blocking)} did not pass")
        return rederive(
            model_dir=model_dir,
            split=data_split,
            results=evidence,
            policy=effective,
            evidence=floor().evidence,
            seed=gate_seed,
        )

    rederivation = _once(rederived)
    controls = (
        layout,
        signature,
        scan,
        robustness_attestation_control(
            attestation_path=attestation_path,
            verification=trust,
            verified_digest=digest,
            raw_results=lambda: results()[1],
        ),
        evidence_binding_control(lambda: results()[0], digest),
        data,
        floor_control,
        evidence_clean_control(rederivation),
        evidence_robust_control(rederivation),
        clean_accuracy_control(lambda: rederivation().clean_accuracy, effective),
        robust_accuracy_control(lambda: rederivation().robust_accuracy, effective),
        *masking_controls(lambda: results()[0], effective),
    )
    loaded_floor = _attempt(floor)
    record = _attempt(rederivation)
    decision = decide(
        controls,
        model_digest=digest,
        policy=effective,
        run_policy=policy,
        floor=None if loaded_floor is None else _floor_ref(loaded_floor),
        notes=tuple(_attempt(lambda: tightened().notes) or ()),
        rederivation=None if record is None else record.to_dict(),
    )
    if decision.blessed and digest is not None and record is not None:
        decision = _sign(
            decision,
            approval=lambda: Approval(
                model_digest=digest,
                model_name=Path(model_dir).resolve().name,
                policy=effective,
                floor=_floor_ref(floor()),
                evidence={
                    "results": _file_digest(results_path),
                    "attestation": _file_digest(attestation_path),
                    "signature": _file_digest(signature_path),
                    "test_data": split()[1],
                },
                measured={
                    "clean_accuracy": record.clean_accuracy,
                    "robust_accuracy": record.robust_accuracy,
                },
                controls=tuple(ctl.id for ctl in decision.controls),
                rederivation=record.to_dict(),
            ),
            signing=approval_signing,
            trust=trust,
            approval_path=approval_path,
        )
    audit = None
    if audit_log and audit_signing is not None:
        audit = functools.partial(
            append_record,
            audit_log,
            kind="gate_decision",
            signing=audit_signing,
            run_id=run_id,
            pipeline=pipeline,
            model_digest=digest or "",
        )
    unrecorded = ""
    if audit is not None and decision.blessed:
        try:
            audit(outcome=decision.decision, message=decision.message, document=approval_path)
        except Exception as e:  # noqa: BLE001 - fail closed: no approval without its record
            Path(approval_path).unlink(missing_ok=True)
            unrecorded = one_line(e)
            decision = decision.blocked_by(
                ControlResult(
                    CONTROL_AUDIT,
                    "the decision was appended to the audit log",
                    None,
                    "audit record",
                    False,
                    unrecorded,
                )
            )
    write_json_atomic(decision_json_path, decision.to_dict())
    write_text_atomic(decision_md_path, render_markdown(decision))
    if not decision.blessed:
        if audit is not None and not unrecorded:
            try:
                audit(
                    outcome=decision.decision, message=decision.message, document=decision_json_path
                )
            except Exception as e:  # noqa: BLE001 - still blocked; the message says why
                unrecorded = one_line(e)
        failed = "; ".join(f"{ctl.id}: {ctl.detail}" for ctl in decision.failed) or decision.message
        missing = f"; the decision is NOT in the audit log ({unrecorded})" if unrecorded else ""
        raise GateRejected(
            f"gate blocked model '{model_dir}' ({failed}); see '{decision_json_path}'; "
            f"do not deploy{missing}"
        )
    return decision


def _sign(
    decision: Decision,
    *,
    approval: Callable[[], Approval],
    signing: SigningConfig,
    trust: VerificationConfig,
    approval_path: str | os.PathLike[str],
) -> Decision:
    """Sign the approval; a failure blocks the decision with a failed ``approval_signed``."""
    try:
        check_separate_keys(signing.public_key_pem(), trust.public_key_pem())
        sign_approval(approval(), signing=signing, out_path=approval_path)
    except MLSecOpsError as e:
        return decision.blocked_by(
            ControlResult(
                CONTROL_APPROVAL,
                "the gate signed its approval with its own key",
                None,
                "signed approval",
                False,
                one_line(e),
            )
        )
    return decision


def _floor_ref(floor: PolicyFloor) -> FloorRef:
    return FloorRef(
        name=floor.name,
        environment=floor.environment,
        version=floor.version,
        digest=floor.digest,
        source=floor.source,
    )


def _file_digest(path: str | os.PathLike[str] | None) -> str:
    if path is None or not str(path):
        raise InvalidInputError("an evidence file is missing; nothing to approve")
    return "sha256:" + sha256_file(path)


def _read_results(path: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    """Read the results once: the typed document and the raw object it came from."""
    from kfp_mlsecops.attacks.results import RobustnessResults

    where = f"robustness results '{path}'"
    try:
        raw = read_json_object(path)
    except FileNotFoundError as e:
        raise InvalidInputError(f"{where} do not exist; run the attack-test step first") from e
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InvalidInputError(f"{where} are unreadable ({one_line(e)})") from e
    try:
        return RobustnessResults.from_dict(raw), raw
    except (ValueError, MLSecOpsError) as e:
        raise InvalidInputError(f"{where}: {one_line(e)}; fix the attack-test output") from e


def _read_split(path: str | os.PathLike[str]) -> tuple[Any, str]:
    from kfp_mlsecops.data.manifest import split_digest
    from kfp_mlsecops.data.split_io import load_split

    split = load_split(path)
    return split, split_digest(split)


def _once(compute: Callable[[], T]) -> Callable[[], T]:
    """Compute on first call; every later call returns the value or re-raises the same error."""
    box: list[Any] = []

    def get() -> T:
        if not box:
            try:
                box.append((True, compute()))
            except Exception as e:  # noqa: BLE001 - each dependent control fails with this
                box.append((False, e))
        ok, value = box[0]
        if not ok:
            raise value
        return value

    return get


def _attempt(get: Callable[[], T]) -> T | None:
    try:
        return get()
    except Exception:  # noqa: BLE001 - the controls that depend on it report why
        return None


def _cell(value: Value) -> Value:
    return "n/a" if value is None else value


def render_markdown(decision: Decision) -> str:
    """Return the decision as Markdown: verdict, floor, controls table, failure reasons."""
    verdict = "APPROVED" if decision.blessed else "BLOCKED"
    digest = f"`{decision.model_digest}`" if decision.model_digest else "not verified"
    floor = (
        f"{decision.floor.name} v{decision.floor.version} ({decision.floor.environment}, "
        f"`{decision.floor.digest}`, from {decision.floor.source})"
        if decision.floor
        else "not loaded"
    )
    rows = [
        (ctl.id, ctl.description, _cell(ctl.measured), _cell(ctl.threshold), _passed(ctl))
        for ctl in decision.controls
    ]
    lines = [
        f"# Gate decision: {verdict}",
        "",
        f"Model digest: {digest}",
        "",
        f"Policy floor: {floor}",
        "",
        "Gradient-masking flags allowed by the policy: "
        + (", ".join(f"`{f}`" for f in decision.policy.allow_masking_flags) or "none"),
        "",
    ]
    if decision.notes:
        lines += ["Tightened by the floor:", "", *(f"- {note}" for note in decision.notes), ""]
    lines.append(markdown_table(("id", "description", "measured", "threshold", "passed"), rows))
    if decision.failed or not decision.blessed:
        lines += ["## Why blocked", ""]
        lines += [f"- `{ctl.id}`: {ctl.detail}" for ctl in decision.failed] or [
            f"- {decision.message}"
        ]
        lines.append("")
    return "\n".join(lines)


def _passed(control: ControlResult) -> str:
    if control.passed and control.waived:
        return "yes (waived by policy)"
    return "yes" if control.passed else "**no**"
