"""Write a CycloneDX 1.6 JSON SBOM of each image ``make image`` built (``make sbom``).

Usage: ``python supply-chain/sbom.py --output-dir build/supply-chain IMAGE [IMAGE ...]``

What is installed IN the image, read from the image itself, offline (``--network none``):

* Python distributions: cyclonedx-bom (``cyclonedx-py environment``, the pinned dev tool) runs
  inside the container against the image's own interpreter, ``/opt/venv/bin/python`` (the
  Dockerfile's venv). The tool is imported from this checkout's venv, mounted read-only and put on
  ``sys.path`` of the tool process only, so the interpreter it inspects sees the image's
  environment and nothing of ours. The root component is the image's kfp-mlsecops.
* Debian packages: ``dpkg-query`` in the image, every package in state ``ii``, added with
  ``pkg:deb/debian/...`` purls.

The SBOM names the image (tag and image ID) in ``metadata.properties`` and is validated against
the CycloneDX 1.6 JSON schema (cyclonedx-python-lib) before it is written.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

#: The image's Python environment (Dockerfile: ``python3 -m venv /opt/venv``).
IMAGE_PYTHON = "/opt/venv/bin/python"
IMAGE_PYPROJECT = "/opt/kfp-mlsecops/pyproject.toml"
SPEC_VERSION = "1.6"
#: Runs cyclonedx-py in the container with our tools on this process's sys.path only: a
#: PYTHONPATH would leak into the interpreter it inspects.
_RUN_TOOL = (
    "import runpy, sys\n"
    "sys.path.insert(0, '/sbom-tools')\n"
    "sys.argv = ['cyclonedx-py', *sys.argv[1:]]\n"
    "runpy.run_module('cyclonedx_py', run_name='__main__', alter_sys=True)\n"
)
_DPKG_FORMAT = "${db:Status-Abbrev}\\t${binary:Package}\\t${Version}\\t${Architecture}\\n"


class SbomError(Exception):
    """The SBOM could not be made or is not valid CycloneDX."""


def _docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SbomError(f"docker {' '.join(args[:6])} ...: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _offline(image: str, entrypoint: str, *args: str, mounts: tuple[str, ...] = ()) -> str:
    volumes = [arg for mount in mounts for arg in ("-v", mount)]
    return _docker(
        *("run", "--rm", "--network", "none", "--entrypoint", entrypoint, *volumes, image, *args)
    )


def _python_components(image: str, out_dir: Path) -> dict[str, Any]:
    tools = sysconfig.get_paths()["purelib"]
    image_python = _offline(
        image, "python", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"
    ).strip()
    ours = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if image_python != ours:
        raise SbomError(
            f"{image}: Python {image_python}, but cyclonedx-bom comes from this venv's Python "
            f"{ours}; run make sbom with a venv of Python {image_python}"
        )
    name = "python-environment.cdx.json"
    _docker(
        *("run", "--rm", "--network", "none", "--entrypoint", "python"),
        *("--user", f"{os.getuid()}:{os.getgid()}"),
        *("-v", f"{tools}:/sbom-tools:ro", "-v", f"{out_dir.resolve()}:/out"),
        *(image, "-c", _RUN_TOOL, "environment", "--pyproject", IMAGE_PYPROJECT),
        *("--sv", SPEC_VERSION, "--output-reproducible", "-o", f"/out/{name}", IMAGE_PYTHON),
    )
    path = out_dir / name
    bom: dict[str, Any] = json.loads(path.read_text())
    path.unlink()
    # pyproject.toml declares the version dynamic (kfp_mlsecops/_version.py), so cyclonedx-py
    # leaves the root component without one: take it from the distribution installed in the image.
    installed = _offline(
        image,
        "python",
        "-c",
        "from importlib.metadata import version; print(version('kfp-mlsecops'))",
    ).strip()
    root = bom["metadata"]["component"]
    if root.get("version", installed) != installed:
        raise SbomError(f"{image}: root component {root.get('version')} but {installed} installed")
    root["version"] = installed
    return bom


def _debian_components(image: str) -> list[dict[str, Any]]:
    from packageurl import PackageURL

    release = _offline(image, "sh", "-c", ". /etc/os-release && echo $ID-$VERSION_ID").strip()
    components = []
    for line in _offline(image, "dpkg-query", "-W", "-f", _DPKG_FORMAT).splitlines():
        status, package, version, arch = line.split("\t")
        if status.strip() != "ii":
            continue
        name = package.split(":", 1)[0]
        purl = PackageURL(
            type="deb",
            namespace="debian",
            name=name,
            version=version,
            qualifiers={"arch": arch, "distro": release},
        ).to_string()
        components.append(
            {"bom-ref": purl, "type": "library", "name": name, "version": version, "purl": purl}
        )
    if not components:
        raise SbomError(f"{image}: dpkg-query listed no installed Debian package")
    return components


def validate(bom_json: str) -> None:
    """Raise SbomError unless ``bom_json`` is valid CycloneDX 1.6 JSON (strict schema)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(bom_json)
    if error is not None:
        raise SbomError(f"not valid CycloneDX {SPEC_VERSION}: {error}")


def image_sbom(image: str, out_dir: Path) -> dict[str, Any]:
    """Return the SBOM of ``image``: its Python distributions and Debian packages."""
    bom = _python_components(image, out_dir)
    bom["components"] = bom.get("components", []) + _debian_components(image)
    image_id = _docker("image", "inspect", "--format", "{{.Id}}", image).strip()
    bom["metadata"].setdefault("properties", []).extend(
        [
            {"name": "kfp-mlsecops:image", "value": image},
            {"name": "kfp-mlsecops:image-id", "value": image_id},
        ]
    )
    return bom


def main(argv: list[str] | None = None) -> int:
    """Write ``<output-dir>/<image name>.cdx.json`` for each image; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("images", nargs="+", metavar="IMAGE")
    args = parser.parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    try:
        for image in args.images:
            bom = image_sbom(image, args.output_dir)
            text = json.dumps(bom, indent=2, sort_keys=True) + "\n"
            validate(text)
            path = args.output_dir / f"{image.split(':', 1)[0].rsplit('/', 1)[-1]}.cdx.json"
            path.write_text(text)
            kinds = [c["purl"].split("/", 1)[0] for c in bom["components"]]
            print(
                f"{path}: {image}: {kinds.count('pkg:pypi')} Python distributions "
                f"(+ root {bom['metadata']['component']['name']}), "
                f"{kinds.count('pkg:deb')} Debian packages; valid CycloneDX {SPEC_VERSION}"
            )
    except SbomError as e:
        print(f"sbom: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
