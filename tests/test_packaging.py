"""Packaging: every package folder is installed under the kfp_mlsecops namespace."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def _package_dirs() -> set[str]:
    found = set()
    roots = {
        "kfp_mlsecops": REPO / "src" / "kfp_mlsecops",
        "kfp_mlsecops.components": REPO / "components",
        "kfp_mlsecops.pipelines": REPO / "pipelines",
    }
    for prefix, root in roots.items():
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root).parts
            found.add(".".join((prefix, *rel)))
    return found


def test_every_package_folder_is_listed_in_pyproject():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert set(config["tool"]["setuptools"]["packages"]) == _package_dirs()


def test_no_bare_top_level_components_package(tmp_path):
    import subprocess

    code = (
        "import importlib.util as u;"
        "print(u.find_spec('kfp_mlsecops.components') is not None,"
        " u.find_spec('components'), u.find_spec('pipelines'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["True", "None", "None"]


def test_the_gpu_extra_is_runtime_with_cuda_tensorflow_at_the_cpu_pin():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    extras = config["project"]["optional-dependencies"]
    runtime = [r for r in extras["runtime"] if not r.startswith("tensorflow")]
    text = (REPO / "constraints.txt").read_text()
    pins = dict(line.split("==", 1) for line in text.split() if "==" in line)
    assert extras["gpu"] == [f"tensorflow[and-cuda]=={pins['tensorflow_cpu']}", *runtime]
