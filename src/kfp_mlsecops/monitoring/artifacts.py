"""Turn the pipeline's JSON artifacts into metric samples.

Each reader takes the file a step wrote (validation report, robustness results, gate decision),
checks its schema and the fields it reads, and returns :class:`Sample` values. An unreadable or
malformed file raises InvalidInputError naming the file; nothing is guessed. Label values come
only from identifiers in the artifact (check ids, attack names, control ids, epsilons), never
from paths or messages.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as c
from kfp_mlsecops._io import finite_json
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.monitoring import names as n
from kfp_mlsecops.monitoring.samples import Sample, format_epsilon

__all__ = [
    "ARTIFACT_READERS",
    "gate_decision_samples",
    "robustness_samples",
    "validation_report_samples",
]

PathArg = str | os.PathLike[str]
_SEVERITIES = ("error", "warning")
_Reader = Callable[[PathArg], list[Sample]]


def _naming_the_file(what: str) -> Callable[[_Reader], _Reader]:
    """Make any error of a reader (e.g. an id that is no label value) name the file it read."""

    def decorate(reader: _Reader) -> _Reader:
        @functools.wraps(reader)
        def read(path: PathArg) -> list[Sample]:
            try:
                return reader(path)
            except InvalidInputError as e:
                if str(path) in str(e):
                    raise
                raise InvalidInputError(f"{what} '{path}': {e}") from e

        return read

    return decorate


@_naming_the_file("validation report")
def validation_report_samples(path: PathArg) -> list[Sample]:
    """Return samples from a validation report (``VALIDATION_REPORT_SCHEMA``, by validate_data).

    ``mlsecops_data_validation_passed`` (1/0) and ``mlsecops_data_validation_findings`` counting
    findings per check, severity and ``passed`` ("true"/"false"; a skipped check is "false").
    """
    doc = _read_object(path, what="validation report", schema=c.VALIDATION_REPORT_SCHEMA)
    where = f"validation report '{path}'"
    passed = _bool(doc, "passed", where)
    findings = doc.get("findings")
    if not isinstance(findings, list) or not findings:
        raise InvalidInputError(f"{where}: 'findings' must be a non-empty list; rerun validate")
    counts: Counter[tuple[str, str, str]] = Counter()
    for index, finding in enumerate(findings):
        if not isinstance(finding, dict):
            raise InvalidInputError(f"{where}: findings[{index}] must be an object")
        check, severity = finding.get("id"), finding.get("severity")
        if not isinstance(check, str) or severity not in _SEVERITIES:
            raise InvalidInputError(
                f"{where}: findings[{index}] needs a string 'id' and a severity in {_SEVERITIES}"
            )
        held = _bool(finding, "passed", f"{where} findings[{index}]")
        counts[(check, str(severity), "true" if held else "false")] += 1
    samples = [Sample(n.DATA_VALIDATION_PASSED, 1.0 if passed else 0.0)]
    samples += [
        Sample(
            n.DATA_VALIDATION_FINDINGS,
            float(count),
            {n.LABEL_CHECK: check, n.LABEL_SEVERITY: severity, n.LABEL_PASSED: held},
        )
        for (check, severity, held), count in sorted(counts.items())
    ]
    return samples


@_naming_the_file("robustness results")
def robustness_samples(path: PathArg) -> list[Sample]:
    """Return samples from robustness results (``ROBUSTNESS_SCHEMA``, written by attack_test).

    The file is read with the results document's strict reader. ``mlsecops_clean_accuracy`` and
    ``mlsecops_robust_accuracy{attack,epsilon}`` for every attack and the ``worst_case`` rows;
    ``mlsecops_gradient_masking_flagged{flag}`` for each masking diagnostic the results carry.
    """
    from kfp_mlsecops.attacks.results import RobustnessResults

    results = RobustnessResults.read(path)
    samples = [Sample(n.CLEAN_ACCURACY, results.clean_accuracy)]
    seen: set[tuple[str, str]] = set()
    for row in (*results.attacks, *results.worst_case):
        key = (row.attack, format_epsilon(row.epsilon))
        if key in seen:
            raise InvalidInputError(
                f"robustness results '{path}': two rows for attack '{key[0]}' at epsilon "
                f"{key[1]}; keep one per attack and epsilon"
            )
        seen.add(key)
        labels = {n.LABEL_ATTACK: key[0], n.LABEL_EPSILON: key[1]}
        samples.append(Sample(n.ROBUST_ACCURACY, row.robust_accuracy, labels))
    for flag in results.masking or ():
        value = 1.0 if flag.flagged else 0.0
        samples.append(Sample(n.GRADIENT_MASKING_FLAGGED, value, {n.LABEL_FLAG: flag.id}))
    return samples


@_naming_the_file("gate decision")
def gate_decision_samples(path: PathArg) -> list[Sample]:
    """Return samples from a gate decision (``DECISION_SCHEMA``), approved or blocked.

    ``mlsecops_gate_blessed`` is 1 only for an approved decision with ``blessed: true``;
    ``mlsecops_gate_decision{control}`` is 1 per passed control; the policy thresholds become
    ``mlsecops_gate_policy_min_clean_accuracy`` and ``..._min_robust_accuracy{attack,epsilon}``.
    """
    from kfp_mlsecops.gate import Decision

    decision = Decision.read(path)
    samples = [Sample(n.GATE_BLESSED, 1.0 if decision.blessed else 0.0)]
    for control in decision.controls:
        labels = {n.LABEL_CONTROL: control.id}
        samples.append(Sample(n.GATE_DECISION, 1.0 if control.passed else 0.0, labels))
    policy = decision.policy
    labels = {
        n.LABEL_ATTACK: policy.robust_attack,
        n.LABEL_EPSILON: format_epsilon(policy.robust_epsilon),
    }
    return [
        *samples,
        Sample(n.GATE_POLICY_MIN_CLEAN_ACCURACY, policy.min_clean_accuracy),
        Sample(n.GATE_POLICY_MIN_ROBUST_ACCURACY, policy.min_robust_accuracy, labels),
    ]


#: Artifact kind (``names.ARTIFACT_KINDS``) -> reader, as used by ``record_step(artifacts=...)``.
ARTIFACT_READERS: dict[str, Callable[[PathArg], list[Sample]]] = {
    n.VALIDATION_REPORT_JSON: validation_report_samples,
    n.ROBUSTNESS_RESULTS_JSON: robustness_samples,
    n.GATE_DECISION_JSON: gate_decision_samples,
}


def _read_object(path: PathArg, *, what: str, schema: str) -> dict[str, Any]:
    where = f"{what} '{path}'"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise InvalidInputError(f"{where} does not exist; run the step that writes it") from e
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"{where} is unreadable ({type(e).__name__})") from e
    try:
        doc = finite_json(text)
    except ValueError as e:
        reason = " ".join(str(e).split())[:200]
        raise InvalidInputError(f"{where} is not valid JSON ({reason})") from e
    if not isinstance(doc, dict):
        raise InvalidInputError(f"{where}: top level must be a JSON object")
    if doc.get(c.SCHEMA) != schema:
        raise InvalidInputError(
            f"{where}: schema is {doc.get(c.SCHEMA)!r}, expected {schema!r}; pass the right file"
        )
    return doc


def _bool(obj: dict[str, Any], key: str, where: str) -> bool:
    value = obj.get(key)
    if not isinstance(value, bool):
        raise InvalidInputError(f"{where}: '{key}' is {value!r}, expected true or false")
    return value
