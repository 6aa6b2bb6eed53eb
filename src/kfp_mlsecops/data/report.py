"""The validation report: one JSON document and the Markdown rendering of it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._io import markdown_table
from kfp_mlsecops.data.findings import Finding

__all__ = ["build_report", "render_markdown", "report_passed"]


def report_passed(findings: Sequence[Finding]) -> bool:
    """Return True only if there are findings and no error-severity one failed or was skipped."""
    return bool(findings) and not any(f.is_failed_error for f in findings)


def build_report(
    *,
    source: str,
    findings: Sequence[Finding],
    n_samples: int | None,
    feature_shape: Sequence[int] | None,
    n_classes: int | None,
    class_counts: Sequence[int] | None,
    parameters: Mapping[str, Any],
    split_sizes: Mapping[str, int] | None = None,
    class_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Return the JSON-ready report (schema ``VALIDATION_REPORT_SCHEMA``).

    ``None`` marks a value that could not be measured because an earlier check failed, or
    (``class_names``) that the format names no classes: label i is ``class_names[i]``.
    """
    return {
        "schema": C.VALIDATION_REPORT_SCHEMA,
        "source": source,
        "passed": report_passed(findings),
        "n_samples": n_samples,
        "feature_shape": None if feature_shape is None else [int(d) for d in feature_shape],
        "n_classes": n_classes,
        "class_counts": (
            None if class_counts is None else {str(c): int(n) for c, n in enumerate(class_counts)}
        ),
        "n_errors": sum(1 for f in findings if f.is_failed_error and not f.skipped),
        "n_skipped": sum(1 for f in findings if f.skipped),
        "n_warnings": sum(1 for f in findings if f.is_warning),
        "split_sizes": None if split_sizes is None else dict(split_sizes),
        "class_names": None if class_names is None else [str(n) for n in class_names],
        "parameters": dict(parameters),
        "findings": [f.to_dict() for f in findings],
    }


def _measured_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ", ".join(_measured_text(v) for v in value) + "]"
    return str(value)


def _status(finding: Mapping[str, Any]) -> str:
    if finding["skipped"]:
        return "skipped"
    return "yes" if finding["passed"] else "**no**"


def render_markdown(report: Mapping[str, Any]) -> str:
    """Render ``report`` (from :func:`build_report`) as Markdown: a summary and a findings table."""
    verdict = "PASSED" if report["passed"] else "FAILED"
    shape = report["feature_shape"]
    lines = [
        f"# Data validation: {verdict}",
        "",
        f"- source: `{report['source']}`",
        f"- samples: {report['n_samples'] if report['n_samples'] is not None else 'unknown'}",
        f"- feature shape: {tuple(shape) if shape is not None else 'unknown'}",
        f"- classes: {report['n_classes'] if report['n_classes'] is not None else 'unknown'}",
        f"- errors: {report['n_errors']}, warnings: {report['n_warnings']}, "
        f"skipped: {report['n_skipped']}",
    ]
    if report["class_counts"] is not None:
        counts = ", ".join(f"{c}: {n}" for c, n in report["class_counts"].items())
        lines.append(f"- class counts: {counts}")
    if report.get("class_names") is not None:
        names = ", ".join(f"{i}: {n}" for i, n in enumerate(report["class_names"]))
        lines.append(f"- class names (label: folder): {names}")
    if report["split_sizes"] is not None:
        sizes = ", ".join(f"{name}: {n}" for name, n in report["split_sizes"].items())
        lines.append(f"- split sizes: {sizes}")
    rows = [
        (f["id"], f["severity"], _status(f), _measured_text(f["measured"]), f["message"])
        for f in report["findings"]
    ]
    table = markdown_table(["check", "severity", "passed", "measured", "message"], rows)
    return "\n".join(lines) + "\n\n" + table
