"""The saliency sanity-check document (``constants.EXPLANATIONS_SCHEMA``): reader and writer.

``mlsecops explanations`` (and ``mlsecops run``) write it through
:meth:`ExplanationsResults.write`; the compliance check reads it with
:meth:`ExplanationsResults.read`. Layout::

    {"schema": "kfp-mlsecops/saliency-sanity/v1",
     "test": "cascading-model-parameter-randomization", "target": "predicted-class-logit",
     "similarity_measure": "mean-abs-spearman-of-abs-maps",
     "parameters": {"n_samples": 64, "seed": 0, "max_similarity": 0.5},
     "n_samples": 64, "layers": ["logits", "dense", "conv2d_1", "conv2d"], "passed": true,
     "methods": [{"name": "gradient", "gates": true, "passed": true,
                  "similarity": 0.108, "rank_correlation": 0.079,
                  "cascade": [{"layer": "logits", "similarity": 0.219,
                               "rank_correlation": 0.212}, ...]}, ...],
     "test_data_digest": "sha256:...", "model_digest": "sha256:..."}   # model_digest optional

``layers`` is the randomization order (top layer first); each method's cascade follows it and
its ``similarity`` and ``rank_correlation`` are those of the last step (every layer
randomized). Reading is strict: no NaN/Infinity, no duplicate, missing or unknown keys, numbers
never bools or strings, similarities in [0, 1] and correlations in [-1, 1], unique names, at
least one gating method, and the verdicts exactly what the figures and ``max_similarity`` give.
Every failure raises InvalidInputError naming the field.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._fields import boolean as _boolean
from kfp_mlsecops._fields import digest as _digest
from kfp_mlsecops._fields import document as _document
from kfp_mlsecops._fields import expected as _expected
from kfp_mlsecops._fields import integer as _integer
from kfp_mlsecops._fields import json_object as _object
from kfp_mlsecops._fields import number as _number
from kfp_mlsecops._fields import optional_digest as _optional_digest
from kfp_mlsecops._results_file import ResultsDocument, ResultsFile
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.explanations.sanity import LayerStep, MethodSanity, SanityParameters

__all__ = ["SIMILARITY_MEASURE", "TARGET", "TEST", "ExplanationsResults"]

#: The randomization test that was run.
TEST = "cascading-model-parameter-randomization"
#: What each map explains.
TARGET = "predicted-class-logit"
#: How alike two sets of maps are scored.
SIMILARITY_MEASURE = "mean-abs-spearman-of-abs-maps"
_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_KEYS = {
    C.SCHEMA,
    "test",
    "target",
    "similarity_measure",
    "parameters",
    "n_samples",
    "layers",
    "passed",
    "methods",
    "test_data_digest",
}
_OPTIONAL = {C.MODEL_DIGEST}
_METHOD_KEYS = {"name", "gates", "passed", "similarity", "rank_correlation", "cascade"}
_STEP_KEYS = {f.name for f in dataclasses.fields(LayerStep)}
_PARAMETER_KEYS = {f.name for f in dataclasses.fields(SanityParameters)}


@dataclass(frozen=True)
class ExplanationsResults(ResultsDocument):
    """A saliency sanity check's per-method cascades and what they were computed on.

    Args:
        methods: one result per saliency method (at least one gating).
        parameters: the check's settings.
        n_samples: test samples the maps were computed on.
        test_data_digest: ``data.split_digest`` of the test split the samples came from.
        model_digest: the model folder's digest as signing computes it (None for a file).

    """

    _FILE = ResultsFile.of_command("explanations")

    methods: tuple[MethodSanity, ...]
    parameters: SanityParameters
    n_samples: int
    test_data_digest: str
    model_digest: str | None = None

    @property
    def layers(self) -> tuple[str, ...]:
        """The randomized layers, in randomization order (top layer first)."""
        return tuple(step.layer for step in self.methods[0].cascade) if self.methods else ()

    def method_passed(self, method: MethodSanity, max_similarity: float | None = None) -> bool:
        """Whether ``method`` passes under ``max_similarity`` (None: the document's)."""
        limit = self.parameters.max_similarity if max_similarity is None else max_similarity
        return method.passed(limit)

    def passed_under(self, max_similarity: float) -> bool:
        """Whether every gating method passes under ``max_similarity``."""
        return all(m.passed(max_similarity) for m in self.methods if m.gates)

    @property
    def passed(self) -> bool:
        """Whether every gating method's maps changed under randomization (the verdict)."""
        return self.passed_under(self.parameters.max_similarity)

    def summary(self, max_similarity: float | None = None) -> str:
        """Return one line: the verdict and each method's similarity (gating ones first)."""
        limit = self.parameters.max_similarity if max_similarity is None else max_similarity
        ordered = sorted(self.methods, key=lambda m: not m.gates)
        figures = ", ".join(
            f"{m.name} {m.similarity:.2f} ({'pass' if m.passed(limit) else 'FAIL'}"
            f"{'' if m.gates else ', reported only'})"
            for m in ordered
        )
        verdict = "passed" if self.passed_under(limit) else "FAILED"
        return (
            f"saliency sanity check {verdict}: similarity of the maps after randomizing all "
            f"{len(self.layers)} layers: {figures} (passes below {limit:g}); "
            f"{self.n_samples} test samples"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document (``constants.EXPLANATIONS_SCHEMA``)."""
        doc: dict[str, Any] = {
            C.SCHEMA: C.EXPLANATIONS_SCHEMA,
            "test": TEST,
            "target": TARGET,
            "similarity_measure": SIMILARITY_MEASURE,
            "parameters": dataclasses.asdict(self.parameters),
            "n_samples": self.n_samples,
            "layers": list(self.layers),
            "passed": self.passed,
            "methods": [
                {
                    "name": m.name,
                    "gates": m.gates,
                    "passed": self.method_passed(m),
                    "similarity": m.similarity,
                    "rank_correlation": m.rank_correlation,
                    "cascade": [dataclasses.asdict(s) for s in m.cascade],
                }
                for m in self.methods
            ],
            "test_data_digest": self.test_data_digest,
        }
        if self.model_digest is not None:
            doc[C.MODEL_DIGEST] = self.model_digest
        return doc

    @classmethod
    def _from_json(cls, doc: object) -> ExplanationsResults:
        return _parse(doc)


# --- strict parsing ------------------------------------------------------------------------------


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.fullmatch(value):
        raise ValueError(f"{what}={value!r} must be a name of letters, digits, '_', '.' or '-'")
    return value


def _parameters(value: object) -> SanityParameters:
    raw = _object(value, "parameters", _PARAMETER_KEYS)
    n_samples = _integer(raw["n_samples"], "parameters.n_samples", 2)
    seed = _integer(raw["seed"], "parameters.seed", 0)
    limit = _number(raw["max_similarity"], "parameters.max_similarity", 0.0, 1.0)
    try:
        return SanityParameters(n_samples=n_samples, seed=seed, max_similarity=limit)
    except InvalidInputError as e:
        raise ValueError(f"parameters: {e}") from e


def _parse(doc: object) -> ExplanationsResults:
    obj = _document(doc, C.EXPLANATIONS_SCHEMA, _KEYS, _OPTIONAL)
    _expected(obj, "test", TEST)
    _expected(obj, "target", TARGET)
    _expected(obj, "similarity_measure", SIMILARITY_MEASURE)
    parameters = _parameters(obj["parameters"])
    n_samples = _integer(obj["n_samples"], "n_samples", 2)
    if n_samples > parameters.n_samples:
        raise ValueError(f"n_samples={n_samples} exceeds parameters.n_samples")
    layers = obj["layers"]
    if not isinstance(layers, list) or not layers:
        raise ValueError("layers must be a non-empty list")
    names = [_name(layer, "layers[]") for layer in layers]
    if len(set(names)) != len(names):
        raise ValueError(f"layers {names} must be unique")
    methods = _methods(obj["methods"], names, parameters.max_similarity)
    passed = _boolean(obj["passed"], "passed")
    results = ExplanationsResults(
        methods=methods,
        parameters=parameters,
        n_samples=n_samples,
        test_data_digest=_digest(obj["test_data_digest"], "test_data_digest"),
        model_digest=_optional_digest(obj, C.MODEL_DIGEST),
    )
    if passed is not results.passed:
        raise ValueError(f"passed={passed} but the gating methods' verdicts say otherwise")
    return results


def _methods(items: object, layers: list[str], limit: float) -> tuple[MethodSanity, ...]:
    if not isinstance(items, list) or not items:
        raise ValueError("methods must be a non-empty list")
    out: list[MethodSanity] = []
    for index, item in enumerate(items):
        where = f"methods[{index}]"
        raw = _object(item, where, _METHOD_KEYS)
        name = _name(raw["name"], f"{where}.name")
        if any(m.name == name for m in out):
            raise ValueError(f"{where}.name={name!r} appears twice")
        steps = raw["cascade"]
        if not isinstance(steps, list) or len(steps) != len(layers):
            raise ValueError(f"{where}.cascade must hold one step per layer ({len(layers)})")
        cascade = []
        for i, step in enumerate(steps):
            at = f"{where}.cascade[{i}]"
            s = _object(step, at, _STEP_KEYS)
            if s["layer"] != layers[i]:
                raise ValueError(f"{at}.layer={s['layer']!r}, expected {layers[i]!r}")
            cascade.append(
                LayerStep(
                    layer=layers[i],
                    similarity=_number(s["similarity"], f"{at}.similarity", 0.0, 1.0),
                    rank_correlation=_number(
                        s["rank_correlation"], f"{at}.rank_correlation", -1.0, 1.0
                    ),
                )
            )
        method = MethodSanity(name, _boolean(raw["gates"], f"{where}.gates"), tuple(cascade))
        for key in ("similarity", "rank_correlation"):
            value = _number(raw[key], f"{where}.{key}", -1.0, 1.0)
            if not math.isclose(value, getattr(method, key), rel_tol=0.0, abs_tol=1e-12):
                raise ValueError(f"{where}.{key}={value!r} is not the last cascade step's")
        passed = _boolean(raw["passed"], f"{where}.passed")
        if passed is not method.passed(limit):
            raise ValueError(
                f"{where}.passed={passed} but similarity {method.similarity!r} gives "
                f"{method.passed(limit)} under max_similarity={limit:g}"
            )
        out.append(method)
    if not any(m.gates for m in out):
        raise ValueError("no method gates the verdict; at least one must")
    return tuple(out)
