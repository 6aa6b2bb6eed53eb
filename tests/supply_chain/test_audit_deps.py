"""`make audit-deps` (supply-chain/audit.py): the ignore file's rules and the report summary.

The audit itself needs a vulnerability service (PyPI's JSON API per version, or OSV); where it is
unreachable the audit fails, which docs/supply-chain.md records. These tests need no network.
"""

from __future__ import annotations

import datetime
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TODAY = datetime.date(2027, 1, 15)


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "supply-chain" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


audit = _load("audit")
ENTRY = """\
ignore:
  - id: GHSA-aaaa-bbbb-cccc
    package: example
    reason: the affected parser is never called
    expires: {expires}
"""


def test_the_committed_ignore_file_loads() -> None:
    assert isinstance(audit.load_ignores(audit.IGNORE_FILE, datetime.date.today()), dict)


def test_a_current_entry_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "ignore.yaml"
    path.write_text(ENTRY.format(expires="2027-03-31"))
    assert list(audit.load_ignores(path, TODAY)) == ["GHSA-aaaa-bbbb-cccc"]


def test_an_expired_entry_fails(tmp_path: Path) -> None:
    path = tmp_path / "ignore.yaml"
    path.write_text(ENTRY.format(expires="2027-01-14"))
    with pytest.raises(
        audit.AuditError, match="GHSA-aaaa-bbbb-cccc .example. expired on 2027-01-14"
    ):
        audit.load_ignores(path, TODAY)


@pytest.mark.parametrize("field", ["reason", "expires", "package"])
def test_an_entry_without_a_reason_or_expiry_fails(tmp_path: Path, field: str) -> None:
    text = "\n".join(
        line for line in ENTRY.format(expires="2027-03-31").splitlines() if f"{field}:" not in line
    )
    path = tmp_path / "ignore.yaml"
    path.write_text(text + "\n")
    with pytest.raises(audit.AuditError, match="needs id, package, reason, expires"):
        audit.load_ignores(path, TODAY)


def test_summary_counts_audited_pins_and_lists_findings() -> None:
    doc = {
        "dependencies": [
            {"name": "a", "version": "1.0", "vulns": []},
            {
                "name": "b",
                "version": "2.0",
                "vulns": [{"id": "PYSEC-1", "fix_versions": ["2.1"], "aliases": ["CVE-1"]}],
            },
            {"name": "c", "skip_reason": "Dependency not found on PyPI"},
        ]
    }
    assert audit.summarise(doc) == (2, ["b==2.0: PYSEC-1 (CVE-1); fixed in: 2.1"])
