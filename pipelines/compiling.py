"""Compile the pipeline and every component to the committed YAML files, or check them."""

from __future__ import annotations

import difflib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kfp import compiler

from kfp_mlsecops import components as _components
from kfp_mlsecops.constants import SIGNING_METHOD_KEY
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.pipelines.resources import ResourcePlan
from kfp_mlsecops.pipelines.secure_release import make_secure_release, secure_release
from kfp_mlsecops.pipelines.secure_training import make_secure_training, secure_training

__all__ = [
    "COMPONENT_NAMES",
    "PIPELINES",
    "PIPELINE_YAML",
    "RELEASE_YAML",
    "compile_all",
    "compile_pipeline",
    "stale_files",
]

COMPONENT_NAMES = (
    "validate_data",
    "train",
    "import_model",
    "attack_test",
    "merge_attack_results",
    "attest_robustness",
    "sign_model",
    "gate",
    "deploy",
)
_PIPELINES_DIR = Path(__file__).resolve().parent
_COMPONENTS_DIR = Path(_components.__file__).resolve().parent
#: The committed, compiled secure-training pipeline (shipped inside the package too).
PIPELINE_YAML = _PIPELINES_DIR / "secure_training.yaml"
#: The committed, compiled secure-release pipeline (a model trained elsewhere).
RELEASE_YAML = _PIPELINES_DIR / "secure_release.yaml"


def _targets(pipelines_dir: Path, components_dir: Path) -> dict[Path, object]:
    targets: dict[Path, object] = {
        pipelines_dir / PIPELINE_YAML.name: secure_training,
        pipelines_dir / RELEASE_YAML.name: secure_release,
    }
    for name in COMPONENT_NAMES:
        targets[components_dir / name / "component.yaml"] = getattr(_components, name)
    return targets


def compile_all(
    pipelines_dir: Path = _PIPELINES_DIR, components_dir: Path = _COMPONENTS_DIR
) -> list[Path]:
    """Write the pipeline YAML and one YAML per component; return the paths written."""
    written = []
    for path, func in _targets(pipelines_dir, components_dir).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        compiler.Compiler().compile(func, str(path))  # type: ignore[arg-type]
        written.append(path)
    return written


#: The pipelines by name, as ``mlsecops compile --pipeline`` names them.
PIPELINES = {"secure-training": make_secure_training, "secure-release": make_secure_release}


def compile_pipeline(
    path: Path,
    *,
    signing_method: str = SIGNING_METHOD_KEY,
    pipeline: str = "secure-training",
    image: str | None = None,
    predictor_image: str | None = None,
    resources: ResourcePlan | None = None,
    attack_shards: int = 1,
) -> Path:
    """Write ``pipeline`` wired for ``signing_method`` to ``path``; return it.

    ``image`` replaces the project image every component runs in, ``predictor_image`` becomes
    the default of the pipeline's ``predictor_image`` parameter; both are checked image
    references (a digest, ``registry/name@sha256:...``, keeps a moved tag from swapping code).
    ``resources`` sets CPU, memory and accelerators per step (None: none, as committed).
    ``attack_shards`` > 1 fans attack-test out over that many shards and merges them (1: as
    committed).
    """
    from kfp_mlsecops.deploy.names import validate_image

    if pipeline not in PIPELINES:
        raise InvalidInputError(f"pipeline {pipeline!r}: use one of {', '.join(PIPELINES)}")
    if image is not None:
        validate_image(image, "--image")
    if predictor_image is not None:
        validate_image(predictor_image, "--predictor-image")
    with _component_image(image):
        built = PIPELINES[pipeline](
            signing_method,
            predictor_image=predictor_image or "",
            resources=resources,
            attack_shards=attack_shards,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(built, str(path))
    return path


@contextmanager
def _component_image(image: str | None) -> Iterator[None]:
    """Build pipelines with every component's container image set to ``image`` (None: as is)."""
    specs = [getattr(_components, name).component_spec for name in _components.__all__]
    saved = [spec.implementation.container.image for spec in specs]
    try:
        if image is not None:
            for spec in specs:
                spec.implementation.container.image = image
        yield
    finally:
        for spec, original in zip(specs, saved, strict=True):
            spec.implementation.container.image = original


def stale_files(
    pipelines_dir: Path = _PIPELINES_DIR, components_dir: Path = _COMPONENTS_DIR
) -> dict[Path, str]:
    """Compile into a temporary folder; return ``{committed file: unified diff}`` per stale file."""
    stale: dict[Path, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        fresh = compile_all(Path(tmp) / "pipelines", Path(tmp) / "components")
        committed = list(_targets(pipelines_dir, components_dir))
        for new, old in zip(fresh, committed, strict=True):
            new_text = new.read_text()
            old_text = old.read_text() if old.exists() else ""
            if new_text != old_text:
                diff = difflib.unified_diff(
                    old_text.splitlines(True), new_text.splitlines(True), str(old), "fresh compile"
                )
                stale[old] = "".join(diff)
    return stale
