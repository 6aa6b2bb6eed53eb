"""Every input and output of every compiled component carries a description.

KFP 2.17 fills the ``description`` of ``inputDefinitions`` / ``outputDefinitions`` from the
component function's Google-style docstring: ``Args:`` entries describe the inputs, ``Returns:``
entries the outputs, both the named-tuple fields and the ``Output[...]`` artifact parameters (an
``Output[...]`` parameter listed only under ``Args:`` gets no description; see
``kfp.dsl.component_factory.extract_component_interface``). The files are found by globbing, so
a new component or pipeline is checked without touching this test.

A pipeline's run parameters (``root: inputDefinitions``) are described the same way, from the
``Args:`` section ``kfp_mlsecops.pipelines.parameters.document_parameters`` appends to each
pipeline function; every pipeline x signing method that ``mlsecops compile --output`` can write is
compiled and checked.
"""

# No `from __future__ import annotations`: KFP reads the real annotation objects of the
# component defined below.
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kfp import compiler, dsl
from kfp.dsl import Artifact, Input, Output

from kfp_mlsecops import components as _components
from kfp_mlsecops.constants import SIGNING_METHODS
from kfp_mlsecops.pipelines.compiling import PIPELINE_YAML, PIPELINES, compile_pipeline
from kfp_mlsecops.pipelines.parameters import PARAMETER_DESCRIPTIONS, document_parameters

COMPONENTS_DIR = Path(_components.__file__).resolve().parent
PIPELINES_DIR = PIPELINE_YAML.resolve().parent
COMPONENT_YAMLS = sorted(COMPONENTS_DIR.glob("*/component.yaml"))
PIPELINE_YAMLS = sorted(PIPELINES_DIR.glob("*.yaml"))

#: Every (pipeline, signing method) variant ``mlsecops compile --output`` can write.
VARIANTS = [
    pytest.param(pipeline, method, id=f"{pipeline}-{method}")
    for pipeline in PIPELINES
    for method in SIGNING_METHODS
]

SIDES = ("inputDefinitions", "outputDefinitions")
KINDS = ("parameters", "artifacts")


def _interface(spec: dict) -> Iterator[tuple[str, str, str, dict]]:
    """Yield (side, kind, name, definition) for every input/output of a component or root."""
    for side in SIDES:
        for kind in KINDS:
            for name, definition in ((spec.get(side) or {}).get(kind) or {}).items():
                yield side, kind, name, definition


def _undescribed(spec: dict) -> list[str]:
    return [
        f"{side}.{kind}.{name}"
        for side, kind, name, definition in _interface(spec)
        if not str(definition.get("description") or "").strip()
    ]


def _documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _is_importer(document: dict, component: dict) -> bool:
    """True for a ``dsl.importer`` component: KFP builds its spec, no docstring can describe it."""
    executor = document["deploymentSpec"]["executors"].get(component.get("executorLabel", ""))
    return executor is not None and "importer" in executor


def _missing_in_file(path: Path, *, include_root: bool) -> dict[str, list[str]]:
    """``{component key: undescribed inputs/outputs}`` for every component spec in ``path``."""
    missing: dict[str, list[str]] = {}
    checked = 0
    for document in _documents(path):
        for key, component in (document.get("components") or {}).items():
            if _is_importer(document, component):
                # KFP's own importer interface: exactly ``uri`` in, ``artifact`` out.
                assert [(s, k, n) for s, k, n, _ in _interface(component)] == [
                    ("inputDefinitions", "parameters", "uri"),
                    ("outputDefinitions", "artifacts", "artifact"),
                ], f"{path.name}: {key} is not a plain dsl.importer"
                continue
            checked += sum(1 for _ in _interface(component))
            if _undescribed(component):
                missing[key] = _undescribed(component)
        if include_root and "root" in document:
            checked += sum(1 for _ in _interface(document["root"]))
            if _undescribed(document["root"]):
                missing["root"] = _undescribed(document["root"])
    assert checked, f"{path}: no component inputs or outputs found; is it a compiled KFP spec?"
    return missing


def test_the_globs_find_every_component_and_pipeline():
    folders = sorted(p.parent for p in COMPONENTS_DIR.glob("*/component.py"))
    assert folders, f"no components/*/component.py under {COMPONENTS_DIR}"
    uncompiled = [f.name for f in folders if not (f / "component.yaml").is_file()]
    assert not uncompiled, (
        f"components without a compiled component.yaml: {uncompiled}; add them to "
        "kfp_mlsecops.pipelines.compiling.COMPONENT_NAMES and run `make compile`"
    )
    assert len(COMPONENT_YAMLS) == len(folders)
    assert PIPELINE_YAML in PIPELINE_YAMLS


@pytest.mark.parametrize("path", COMPONENT_YAMLS, ids=lambda p: p.parent.name)
def test_component_yaml_describes_every_input_and_output(path):
    missing = _missing_in_file(path, include_root=True)
    assert not missing, (
        f"{path.relative_to(COMPONENTS_DIR.parent)}: no description for {missing}. Document "
        "inputs under `Args:` and outputs (named-tuple fields and Output[...] parameters) "
        "under `Returns:` in the component's docstring, then `make compile`."
    )


@pytest.mark.parametrize("path", PIPELINE_YAMLS, ids=lambda p: p.name)
def test_pipeline_yaml_describes_every_component_input_and_output(path):
    missing = _missing_in_file(path, include_root=False)
    assert not missing, f"{path.name}: component inputs/outputs without a description: {missing}"


@pytest.mark.parametrize("name", _components.__all__)
def test_component_function_describes_every_input_and_output(name):
    """The in-memory spec too: a component not yet compiled or stale is caught here."""
    spec = getattr(_components, name).component_spec
    interface = {**(spec.inputs or {}), **(spec.outputs or {})}
    assert interface
    missing = sorted(n for n, io in interface.items() if not (io.description or "").strip())
    assert not missing, f"{name}: no docstring description for {missing}"


@dsl.component(base_image="python:3.11-slim")
def _half_documented(
    data: Input[Artifact], report: Output[Artifact], threshold: float, note: str = ""
) -> str:
    """A component documented the way that loses descriptions.

    Args:
        data: Described.
        report: Listed under Args only, so KFP gives the output no description.
        threshold: Described.

    """
    return note


def test_the_check_catches_missing_descriptions(tmp_path):
    path = tmp_path / "component.yaml"
    compiler.Compiler().compile(_half_documented, str(path))
    assert _missing_in_file(path, include_root=True) == {
        "comp-half-documented": [
            "inputDefinitions.parameters.note",
            "outputDefinitions.parameters.Output",
            "outputDefinitions.artifacts.report",
        ],
        "root": [
            "inputDefinitions.parameters.note",
            "outputDefinitions.parameters.Output",
            "outputDefinitions.artifacts.report",
        ],
    }


@pytest.fixture(scope="module")
def compiled_roots(tmp_path_factory) -> dict[tuple[str, str], dict]:
    """``{(pipeline, signing method): root spec}``, compiled as ``mlsecops compile --output``."""
    folder = tmp_path_factory.mktemp("variants")
    roots = {}
    for pipeline, method in (variant.values for variant in VARIANTS):
        path = compile_pipeline(
            folder / f"{pipeline}-{method}.yaml", pipeline=pipeline, signing_method=method
        )
        # The pipeline spec, then kfp-kubernetes' platform spec (the mounts).
        roots[pipeline, method] = _documents(path)[0]["root"]
    return roots


@pytest.mark.parametrize(("pipeline", "method"), VARIANTS)
def test_every_pipeline_variant_describes_every_run_parameter(compiled_roots, pipeline, method):
    root = compiled_roots[pipeline, method]
    parameters = root["inputDefinitions"]["parameters"]
    assert len(parameters) > 10, f"{pipeline} ({method}): run parameters not found in {root}"
    missing = _undescribed(root)
    assert not missing, (
        f"{pipeline} ({method}): no description for {missing}; add them to "
        "PARAMETER_DESCRIPTIONS in kfp_mlsecops.pipelines.parameters, then `make compile`"
    )


def test_every_parameter_description_is_used(compiled_roots):
    """No stale entry: each described name is a run parameter of some pipeline variant."""
    names = {
        name for root in compiled_roots.values() for name in root["inputDefinitions"]["parameters"]
    }
    assert set(PARAMETER_DESCRIPTIONS) - names == set()


def test_document_parameters_refuses_an_undescribed_parameter():
    def pipeline(seed: int, not_described: str):
        """Doc."""

    with pytest.raises(LookupError, match="not_described; add them to PARAMETER_DESCRIPTIONS"):
        document_parameters(pipeline)
