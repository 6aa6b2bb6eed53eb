"""Reporters of a compliance :class:`~kfp_mlsecops.compliance.evaluate.Report`.

``cli`` (text on stdout), ``json:FILE``, ``junit:FILE`` (one testsuite per profile, one testcase
per control; failed controls carry ``<failure>``, not-run and waived ones ``<skipped>``) and
``markdown:FILE``; several at once.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET  # noqa: S405 - used to write XML only, never to parse
from pathlib import Path
from typing import Any, TextIO

from kfp_mlsecops._io import markdown_table, write_text_atomic
from kfp_mlsecops.compliance.checks.base import FAILED, NOT_RUN, PASSED
from kfp_mlsecops.compliance.evaluate import (
    CRITICAL_IMPACT,
    INFORMATIONAL_IMPACT,
    WAIVED,
    ControlReport,
    Report,
)
from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "REPORTERS",
    "REPORT_SCHEMA",
    "parse_reporter",
    "render_cli",
    "render_junit",
    "render_markdown",
    "report_to_dict",
    "write_reports",
]

REPORT_SCHEMA = "kfp-mlsecops/compliance-report/v1"
#: Reporter names; all but ``cli`` need ``:FILE``.
REPORTERS = ("cli", "json", "junit", "markdown")
_LABEL = {PASSED: "PASS", FAILED: "FAIL", NOT_RUN: "NOT RUN", WAIVED: "WAIVED"}
_STATUSES = (PASSED, FAILED, WAIVED, NOT_RUN)


def parse_reporter(spec: str) -> tuple[str, Path | None]:
    """Parse ``cli`` or ``NAME:FILE`` (InvalidInputError naming the spec)."""
    name, sep, file = spec.partition(":")
    if name == "cli" and not sep:
        return name, None
    if name not in REPORTERS or name == "cli" or not file:
        raise InvalidInputError(
            f"--reporter {spec!r}: use cli, json:FILE, junit:FILE or markdown:FILE"
        )
    return name, Path(file)


def _summary(report: Report) -> str:
    counts = ", ".join(f"{report.count(s)} {s.replace('_', ' ')}" for s in _STATUSES)
    return f"{len(report.controls)} control(s): {counts}"


def _target(report: Report) -> str:
    parts = [f"run `{report.run}`"] if report.run is not None else []
    parts += [f"namespace `{report.namespace}`"] if report.namespace is not None else []
    return ", ".join(parts)


def _waiver_note(item: ControlReport) -> str:
    if item.waiver is None:
        return ""
    if item.waiver_expired:
        return f"waiver expired on {item.waiver.expires}, not applied ({item.waiver.reason})"
    return f"waived until {item.waiver.expires}: {item.waiver.reason}"


def _detail(item: ControlReport) -> str:
    note = _waiver_note(item)
    return f"{item.outcome.detail} [{note}]" if note else item.outcome.detail


def report_to_dict(report: Report) -> dict[str, Any]:
    """Return the JSON report: profile, summary, exit code and every control with evidence."""
    profile = report.profile
    return {
        "schema": REPORT_SCHEMA,
        "profile": {
            "name": profile.name,
            "title": profile.title,
            "version": profile.version,
            "source": profile.source,
        },
        "run": report.run,
        "namespace": report.namespace,
        "summary": {s: report.count(s) for s in _STATUSES} | {"total": len(report.controls)},
        "exit_code": report.exit_code,
        "controls": [
            {
                "id": c.control.id,
                "title": c.control.title,
                "impact": c.control.impact,
                "tags": list(c.control.tags),
                "references": list(c.control.references),
                "description": c.control.description,
                "check": c.control.check,
                "gate_controls": list(c.control.gate_controls),
                "parameters": dict(c.control.parameters),
                "status": c.status,
                "check_status": c.outcome.status,
                "detail": c.outcome.detail,
                "evidence": list(c.evidence),
                "findings": [
                    {"id": f.id, "passed": f.passed, "detail": f.detail} for f in c.findings
                ],
                "waiver": None
                if c.waiver is None
                else {
                    "reason": c.waiver.reason,
                    "expires": c.waiver.expires.isoformat(),
                    "expired": c.waiver_expired,
                },
            }
            for c in report.controls
        ],
    }


def render_cli(report: Report) -> str:
    """Return the human-readable report: one line per control, then the summary."""
    lines = [f"Profile {report.profile.name}: {report.profile.title}"]
    lines += [f"Run {report.run}"] if report.run is not None else []
    lines += [f"Namespace {report.namespace}"] if report.namespace is not None else []
    for c in report.controls:
        lines.append(
            f"  [{_LABEL[c.status]:>7}] {c.control.id} (impact {c.control.impact:.1f}) "
            f"{c.control.title}: {_detail(c)}"
        )
    lines.append(_summary(report) + f"; exit {report.exit_code}")
    return "\n".join(lines) + "\n"


def render_junit(report: Report) -> str:
    """Return JUnit XML: one testsuite (the profile), one testcase per control."""
    suites = ET.Element("testsuites", name="mlsecops check")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=report.profile.name,
        tests=str(len(report.controls)),
        failures=str(report.count(FAILED)),
        errors="0",
        skipped=str(report.count(NOT_RUN) + report.count(WAIVED)),
        time="0",
    )
    for c in report.controls:
        case = ET.SubElement(
            suite, "testcase", name=c.control.id, classname=report.profile.name, time="0"
        )
        if c.status == FAILED:
            severity = (
                "critical"
                if c.control.impact >= CRITICAL_IMPACT
                else "minor"
                if c.control.impact > INFORMATIONAL_IMPACT
                else "informational (does not change the exit code)"
            )
            failure = ET.SubElement(
                case, "failure", message=_detail(c), type=f"impact {c.control.impact:g}"
            )
            failure.text = f"{severity}: {c.control.title}"
        elif c.status in (NOT_RUN, WAIVED):
            ET.SubElement(case, "skipped", message=f"{c.status}: {_detail(c)}")
        out = ET.SubElement(case, "system-out")
        out.text = "\n".join(
            [
                c.control.title,
                f"impact: {c.control.impact:g}",
                f"tags: {', '.join(c.control.tags)}",
                f"references: {', '.join(c.control.references)}",
                f"evidence: {', '.join(c.evidence)}",
            ]
        )
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def render_markdown(report: Report) -> str:
    """Return the Markdown report: summary, a table of controls, then the evidence."""
    rows = [
        (_LABEL[c.status], c.control.id, f"{c.control.impact:.1f}", c.control.title, _detail(c))
        for c in report.controls
    ]
    parts = [
        f"# Compliance: {report.profile.title}\n",
        f"Profile `{report.profile.name}` (version {report.profile.version}), {_target(report)}."
        f" {_summary(report)}; exit code {report.exit_code}.\n",
        markdown_table(("status", "control", "impact", "title", "detail"), rows),
        "## Evidence\n",
    ]
    for c in report.controls:
        refs = ", ".join(c.control.references)
        parts.append(
            f"- `{c.control.id}` ({', '.join(c.control.tags)}; {refs}): "
            f"{', '.join(f'`{e}`' for e in c.evidence) or 'none read'}"
        )
    return "\n".join(parts) + "\n"


def write_reports(report: Report, specs: list[tuple[str, Path | None]], stdout: TextIO) -> None:
    """Write ``report`` with every reporter in ``specs`` (from :func:`parse_reporter`)."""
    for name, path in specs:
        if name == "cli" or path is None:
            stdout.write(render_cli(report))
        elif name == "json":
            write_text_atomic(path, json.dumps(report_to_dict(report), indent=2) + "\n")
        elif name == "junit":
            write_text_atomic(path, render_junit(report))
        else:
            write_text_atomic(path, render_markdown(report))
