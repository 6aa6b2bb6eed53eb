"""The release artifacts: sdist and wheel build, pass ``twine check``, and work when installed.

The wheel goes into a fresh venv made for this test (no repo, no editable install on its path).
Its dependencies are not downloaded again: one ``.pth`` line appends the development venv's
site-packages after the venv's own, so the wheel's ``kfp_mlsecops`` is the one imported (the test
asserts it) and the editable install's import hooks there stay inactive (``.pth`` files in an
appended folder are not processed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import numpy as np
import pytest

from kfp_mlsecops import __version__

#: Builds both artifacts (~25 s): not part of make test-fast.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
_IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "demo-output", "out"
)


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{cmd}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build`` on a copy of the tree: the sdist, then the wheel built from the sdist."""
    root = tmp_path_factory.mktemp("release")
    shutil.copytree(REPO, root / "src", ignore=_IGNORED)
    _run(
        sys.executable,
        "-m",
        "build",
        "--no-isolation",
        "--outdir",
        root / "dist",
        ".",
        cwd=root / "src",
    )
    return root / "dist"


@pytest.fixture(scope="module")
def clean_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with only the wheel installed (no deps); dependencies appended by a .pth line."""
    venv = tmp_path_factory.mktemp("clean") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=venv.parent)
    python = venv / "bin" / "python"
    (wheel,) = dist.glob("*.whl")
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        wheel,
        cwd=venv.parent,
    )
    site = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=venv.parent
        ).strip()
    )
    (site / "zz_dev_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    return env


def test_sdist_and_wheel_pass_twine_check_and_carry_the_release_files(dist: Path):
    (wheel,) = dist.glob(f"kfp_mlsecops-{__version__}-py3-none-any.whl")
    (sdist,) = dist.glob(f"kfp_mlsecops-{__version__}.tar.gz")
    out = _run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist, cwd=dist)
    assert out.count("PASSED") == 2, out
    names = set(zipfile.ZipFile(wheel).namelist())
    assert f"kfp_mlsecops-{__version__}.dist-info/licenses/LICENSE" in names
    for member in (
        "kfp_mlsecops/py.typed",
        "kfp_mlsecops/components/gate/component.yaml",
        "kfp_mlsecops/pipelines/secure_training.yaml",
        "kfp_mlsecops/pipelines/secure_release.yaml",
    ):
        assert member in names
    assert not any(n.startswith(("tests/", "kfp_mlsecops/tests")) for n in names)
    import tarfile

    top = f"kfp_mlsecops-{__version__}/"
    with tarfile.open(sdist) as tar:
        members = {m.name.removeprefix(top) for m in tar.getmembers()}
    for path in (
        "LICENSE",
        "CHANGELOG.md",
        "SECURITY.md",
        "CONTRIBUTING.md",
        "THREAT_MODEL.md",
        "constraints.txt",
        "Dockerfile",
        "manifests/pipeline-rbac/kustomization.yaml",
    ):
        assert path in members, f"{path} missing from the sdist"


def test_the_installed_wheel_compiles_and_validates_without_the_repo(clean_venv: Path, tmp_path):
    python, cli = clean_venv / "bin" / "python", clean_venv / "bin" / "mlsecops"
    where = _run(
        python,
        "-c",
        "import kfp_mlsecops, kfp_mlsecops.components as c, sys;"
        "print(kfp_mlsecops.__file__); print(c.__file__); print(kfp_mlsecops.__version__);"
        "print(sorted(set(sys.path) & set(sys.argv[1:])))",
        REPO,
        REPO / "src",
        REPO / "components",
        REPO / "pipelines",
        cwd=tmp_path,
        env=_clean_env(),
    ).split()
    assert all(Path(p).is_relative_to(clean_venv) for p in where[:2]), where
    assert where[2:] == [__version__, "[]"]
    assert (
        _run(cli, "--version", cwd=tmp_path, env=_clean_env()).strip() == f"mlsecops {__version__}"
    )

    compiled = tmp_path / "secure-training.yaml"
    _run(cli, "compile", "--output", compiled, cwd=tmp_path, env=_clean_env())
    import yaml

    spec = next(yaml.safe_load_all(compiled.read_text()))
    assert spec["pipelineInfo"]["name"] == "secure-training"
    assert f"kfp-mlsecops:{__version__}" in compiled.read_text()

    # The demo's first step (validate-data on the built-in digits), as `mlsecops run` starts.
    out = _run(cli, "validate", "--out-dir", tmp_path / "split", cwd=tmp_path, env=_clean_env())
    assert "sha256:" in out
    with np.load(tmp_path / "split" / "test.npz") as test:
        assert test["x"].shape[0] > 0 and test["x"].shape[0] == test["y"].shape[0]
