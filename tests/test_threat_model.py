"""THREAT_MODEL.md matches the code: every test it cites exists (a renamed test fails here)."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
#: `path.py`, `path.py::test_name` or a continuation `::test_name` (the last file named).
_REF = re.compile(r"`((?:[\w/]+\.py)?(?:::[\w*]+)?)`")


def _file(name: str) -> Path:
    direct = TESTS / name
    if direct.is_file():
        return direct
    found = sorted(TESTS.rglob(Path(name).name))
    assert len(found) == 1, f"THREAT_MODEL.md cites {name!r}: {len(found)} files match"
    return found[0]


def _test_names(path: Path) -> list[str]:
    return re.findall(r"^def (test_\w+)", path.read_text(), flags=re.MULTILINE)


def test_every_cited_test_exists() -> None:
    text = (REPO / "THREAT_MODEL.md").read_text()
    current: Path | None = None
    cited = 0
    for line in text.splitlines():
        for ref in _REF.findall(line):
            if not ref or ("::" not in ref and not ref.endswith(".py")):
                continue
            name, _, test = ref.partition("::")
            if name and not Path(name).name.startswith("test_"):
                sources = (REPO / name, REPO / "src" / name)
                assert any(p.is_file() for p in sources), f"THREAT_MODEL.md cites {name!r}"
                current = None
                continue
            if name:
                current = _file(name)
            if test:
                assert current is not None, f"{ref!r} names no file"
                names = _test_names(current)
                assert fnmatch.filter(names, test), f"{current.name} has no {test}"
                cited += 1
    assert cited >= 30
