"""Audit the pinned dependencies (constraints.txt) for known vulnerabilities (``make audit-deps``).

Usage: ``python supply-chain/audit.py [--service pypi|osv] [--output-dir build/supply-chain]``

Runs pip-audit (the pinned dev tool) on every ``name==version`` pin, without resolving or
installing anything (``--no-deps --disable-pip``) and with ``--strict``: a pin the service cannot
answer for fails the audit instead of being skipped (without it, an unreachable service reports
"No known vulnerabilities found" with every pin skipped). Accepted findings live in
``supply-chain/audit-ignore.yaml``, each with a reason and an expiry; an incomplete or expired
entry fails. Writes pip-audit's JSON report to ``<output-dir>/audit.json``.

Exit 0: every pin audited, no finding outside the ignore file; 1: findings, an unusable ignore
file, or pins that could not be audited.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
IGNORE_FILE = HERE / "audit-ignore.yaml"
_FIELDS = ("id", "package", "reason", "expires")


class AuditError(Exception):
    """The audit could not run, or an ignore entry is unusable."""


def load_ignores(path: Path, today: datetime.date) -> dict[str, dict[str, Any]]:
    """Return the ignore entries by id; raise AuditError on a missing field or an expired entry."""
    doc = yaml.safe_load(path.read_text()) or {}
    entries = doc.get("ignore")
    if not isinstance(entries, list):
        raise AuditError(f"{path}: needs a list 'ignore:' (empty: ignore: [])")
    ignores: dict[str, dict[str, Any]] = {}
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or any(not str(entry.get(f) or "").strip() for f in _FIELDS):
            raise AuditError(f"{path}: entry {number} needs {', '.join(_FIELDS)}, each non-empty")
        expires = entry["expires"]
        if not isinstance(expires, datetime.date):
            raise AuditError(f"{path}: entry {number} ({entry['id']}): expires is not a date")
        if expires < today:
            raise AuditError(
                f"{path}: {entry['id']} ({entry['package']}) expired on {expires}: upgrade the "
                "pin, or review the reason and set a new expiry"
            )
        ignores[str(entry["id"])] = entry
    return ignores


def run_pip_audit(
    constraints: Path, report: Path, *, service: str, ignore_ids: list[str]
) -> subprocess.CompletedProcess[str]:
    """Run pip-audit on the pins; its JSON report goes to ``report``."""
    command = [sys.executable, "-m", "pip_audit", "--strict", "--no-deps", "--disable-pip"]
    command += ["-r", str(constraints), "--vulnerability-service", service]
    command += ["--progress-spinner", "off", "--desc", "off", "-f", "json", "-o", str(report)]
    for vuln_id in ignore_ids:
        command += ["--ignore-vuln", vuln_id]
    return subprocess.run(command, capture_output=True, text=True, timeout=1800)


def summarise(doc: dict[str, Any]) -> tuple[int, list[str]]:
    """Return (pins audited, one line per finding) from pip-audit's JSON report."""
    lines = []
    dependencies = doc.get("dependencies", [])
    for dep in dependencies:
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "none yet"
            aliases = ", ".join(vuln.get("aliases", []))
            lines.append(
                f"{dep['name']}=={dep['version']}: {vuln['id']}"
                + (f" ({aliases})" if aliases else "")
                + f"; fixed in: {fixes}"
            )
    audited = sum(1 for dep in dependencies if "skip_reason" not in dep)
    return audited, lines


def main(argv: list[str] | None = None) -> int:
    """Run the audit; return its exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--constraints", type=Path, default=REPO / "constraints.txt")
    parser.add_argument("--output-dir", type=Path, default=REPO / "build" / "supply-chain")
    parser.add_argument("--service", choices=("pypi", "osv"), default="pypi")
    args = parser.parse_args(argv)
    try:
        ignores = load_ignores(IGNORE_FILE, datetime.date.today())
    except AuditError as e:
        print(f"audit-deps: error: {e}", file=sys.stderr)
        return 1
    args.output_dir.mkdir(parents=True, exist_ok=True)
    report = args.output_dir / "audit.json"
    report.unlink(missing_ok=True)
    done = run_pip_audit(args.constraints, report, service=args.service, ignore_ids=list(ignores))
    if not report.is_file():
        reason = done.stderr.strip().splitlines()[-1:] or ["no output"]
        print(
            f"audit-deps: error: pip-audit (service {args.service}) could not audit "
            f"{args.constraints.name}: {reason[0]}",
            file=sys.stderr,
        )
        return 1
    audited, findings = summarise(json.loads(report.read_text()))
    print(
        f"audit-deps: {audited} pins of {args.constraints.name} audited against "
        f"{args.service}: {len(findings)} finding(s), {len(ignores)} ignored by "
        f"{IGNORE_FILE.name}; report: {report}"
    )
    for line in findings:
        print(f"  {line}")
    return 0 if done.returncode == 0 and not findings else 1


if __name__ == "__main__":
    sys.exit(main())
