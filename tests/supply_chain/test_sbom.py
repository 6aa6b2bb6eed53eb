"""`make sbom` (supply-chain/sbom.py): CycloneDX SBOMs of the real images, valid and complete.

Complete means: every Python distribution the image's own pip lists and every Debian package
dpkg lists as installed, and nothing from the host venv that runs the tool. Needs Docker and the
images (tests/infra/images/build.sh builds or reuses them), hence the `container` marker.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "tests" / "infra" / "images" / "build.sh"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "supply-chain" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sbom = _load("sbom")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _in_image(image: str, entrypoint: str, *args: str) -> str:
    done = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", entrypoint, image, *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.slow
def test_validate_rejects_a_bom_that_breaks_the_schema() -> None:
    bad = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": [{}]}
    with pytest.raises(sbom.SbomError, match="not valid CycloneDX 1.6"):
        sbom.validate(json.dumps(bad))
    sbom.validate(json.dumps({**bad, "components": [{"type": "library", "name": "x"}]}))


@pytest.fixture(scope="module")
def images() -> tuple[str, str]:
    done = subprocess.run([str(BUILD)], capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr[-3000:]
    component, predictor = done.stdout.split()
    return component, predictor


@pytest.fixture(scope="module")
def sboms(images: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("sbom")
    assert sbom.main(["--output-dir", str(out), *images]) == 0
    return {
        image: json.loads((out / f"{image.split(':')[0]}.cdx.json").read_text()) for image in images
    }


@pytest.mark.container
def test_each_image_sbom_is_valid_and_lists_exactly_what_is_installed(sboms) -> None:
    for image, bom in sboms.items():
        sbom.validate(json.dumps(bom))
        assert bom["specVersion"] == "1.6"
        pip = json.loads(_in_image(image, "python", "-m", "pip", "list", "--format", "json"))
        expected_python = {_norm(d["name"]): d["version"] for d in pip}
        root = bom["metadata"]["component"]
        assert (root["name"], root["version"]) == (
            "kfp-mlsecops",
            expected_python.pop("kfp-mlsecops"),
        )
        python = {
            _norm(c["name"]): c["version"]
            for c in bom["components"]
            if c["purl"].startswith("pkg:pypi/")
        }
        assert python == expected_python, image
        dpkg = _in_image(
            image, "dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Package} ${Version}\n"
        )
        expected_deb = {
            (name, version)
            for status, name, version in (line.rsplit(" ", 2) for line in dpkg.splitlines())
            if status.strip() == "ii"
        }
        deb = {
            (c["name"], c["version"]) for c in bom["components"] if c["purl"].startswith("pkg:deb/")
        }
        assert deb == expected_deb, image
        assert all(
            "distro=debian-12" in c["purl"]
            for c in bom["components"]
            if c["purl"].startswith("pkg:deb/")
        )
        properties = {p["name"]: p["value"] for p in bom["metadata"]["properties"]}
        image_id = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", image],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        # cyclonedx-py --output-reproducible adds cdx:reproducible=true (no timestamp, no serial).
        assert properties == {
            "kfp-mlsecops:image": image,
            "kfp-mlsecops:image-id": image_id,
            "cdx:reproducible": "true",
        }


@pytest.mark.container
def test_the_sboms_tell_the_images_apart_and_hold_nothing_of_the_host(sboms) -> None:
    (component, predictor) = sboms.values()
    names = [{_norm(c["name"]) for c in bom["components"]} for bom in (component, predictor)]
    assert "tensorflow-cpu" in names[0] and "tensorflow-cpu" in names[1]
    assert "kserve" in names[1] and "kserve" not in names[0]
    for host_only in (
        "pytest",
        "ruff",
        "mypy",
        "pip-audit",
        "cyclonedx-bom",
        "cyclonedx-python-lib",
    ):
        assert host_only not in names[0] | names[1]
