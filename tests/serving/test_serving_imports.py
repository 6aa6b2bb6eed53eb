from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import kfp_mlsecops.serving

PACKAGE = Path(kfp_mlsecops.serving.__file__).resolve().parents[1]


def test_importing_serving_and_its_command_loads_neither_tensorflow_nor_kserve():
    code = (
        "import sys, kfp_mlsecops.serving, kfp_mlsecops.cli.serve_command;"
        "from kfp_mlsecops.serving import metric_names, policy_for_method;"
        "from kfp_mlsecops.deploy import render_verified_predictor_isvc;"
        "print(sorted(m for m in ('tensorflow', 'keras', 'kserve') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def _imported_packages(package: str) -> set[str]:
    """Every ``kfp_mlsecops.<area>`` a package's modules import, at top level or in functions."""
    found = set()
    for path in (PACKAGE / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] == "kfp_mlsecops" and len(parts) > 1:
                    found.add(parts[1])
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        # serving loads models and reference stats written by training: never the reverse
        ("training", {"serving", "deploy"}),
        # deploy renders the predictor's InferenceService without importing the server
        ("deploy", {"serving", "training"}),
        ("serving", {"deploy"}),
    ],
)
def test_no_import_cycles_between_training_serving_and_deploy(package, forbidden):
    imported = _imported_packages(package)
    assert imported, package  # the walk found the package's imports
    assert not imported & forbidden, f"{package} imports {sorted(imported & forbidden)}"
