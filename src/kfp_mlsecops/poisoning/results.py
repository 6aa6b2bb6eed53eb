"""The poisoning-scan results document (``constants.POISONING_SCHEMA``): reader and writer.

``mlsecops poisoning`` (and ``mlsecops run``) write it through :meth:`PoisoningResults.write`;
the compliance check reads it with :meth:`PoisoningResults.read`. Layout::

    {"schema": "kfp-mlsecops/poisoning-scan/v1", "method": "spectral-signature/robust-whitened",
     "representation": "penultimate", "n_samples": 1438, "suspicious": false,
     "parameters": {"dims": 32, "trim": 0.2, ...},          # every ScanParameters field
     "classes": [{"label": 0, "n_samples": 142, "dims": 32, "separation": 1.31,
                  "cluster_size": 5, "label_disagreement": 0.0, "suspicious": false,
                  "threshold": null, "flagged": []}, ...],
     "train_data_digest": "sha256:...", "model_digest": "sha256:..."}   # model_digest optional

Reading is strict: no NaN/Infinity, no duplicate, missing or unknown keys, numbers never bools
or strings, classes in ascending label order whose sizes add up to ``n_samples``, flagged
indices ascending, unique and in range, and the verdicts exactly what the figures and the
parameters give. Every failure raises InvalidInputError naming the field.
"""

from __future__ import annotations

import dataclasses
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
from kfp_mlsecops.poisoning.spectral import ClassScan, ScanParameters

__all__ = ["METHOD", "REPRESENTATION", "PoisoningResults"]

#: How the samples were scored.
METHOD = "spectral-signature/robust-whitened"
#: Which representation was scored.
REPRESENTATION = "penultimate"
_KEYS = {
    C.SCHEMA,
    "method",
    "representation",
    "n_samples",
    "suspicious",
    "parameters",
    "classes",
    "train_data_digest",
}
_OPTIONAL = {C.MODEL_DIGEST}
_CLASS_KEYS = {f.name for f in dataclasses.fields(ClassScan)}
_PARAMETER_KEYS = {f.name for f in dataclasses.fields(ScanParameters)}


@dataclass(frozen=True)
class PoisoningResults(ResultsDocument):
    """A poisoning scan's per-class figures and what they were computed on.

    Args:
        classes: one scan per class, ascending label.
        parameters: the scan settings.
        train_data_digest: ``data.split_digest`` of the scanned training split.
        model_digest: the model folder's digest as signing computes it (None for a file).

    """

    _FILE = ResultsFile.of_command("poisoning")

    classes: tuple[ClassScan, ...]
    parameters: ScanParameters
    train_data_digest: str
    model_digest: str | None = None

    @property
    def n_samples(self) -> int:
        """How many training samples the scan saw."""
        return sum(c.n_samples for c in self.classes)

    @property
    def suspicious(self) -> bool:
        """Whether any class holds a separated group that looks relabelled (a backdoor)."""
        return any(c.suspicious for c in self.classes)

    @property
    def flagged(self) -> tuple[int, ...]:
        """Every flagged training-split row, ascending."""
        return tuple(sorted(i for c in self.classes for i in c.flagged))

    def summary(self) -> str:
        """Return one line: the verdict, suspicious classes and what they flag, sizes."""
        scored = [c for c in self.classes if c.scored]
        bad = [c for c in self.classes if c.suspicious]
        where = (
            "; ".join(
                f"class {c.label}: {len(c.flagged)} of {c.n_samples} samples flagged "
                f"(separation {c.separation:.2f}, label disagreement "
                f"{c.label_disagreement:.2f})"
                for c in bad
            )
            if bad
            else "no class holds a separated, relabelled-looking group"
        )
        worst = max((c.separation or 0.0 for c in scored), default=0.0)
        return (
            f"poisoning scan {'SUSPICIOUS' if bad else 'clean'}: {where}; largest separation "
            f"{worst:.2f} (suspicious from {self.parameters.min_separation:g}); "
            f"{len(scored)} of {len(self.classes)} classes scored, {self.n_samples} samples"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document (``constants.POISONING_SCHEMA``)."""
        doc: dict[str, Any] = {
            C.SCHEMA: C.POISONING_SCHEMA,
            "method": METHOD,
            "representation": REPRESENTATION,
            "n_samples": self.n_samples,
            "suspicious": self.suspicious,
            "parameters": dataclasses.asdict(self.parameters),
            "classes": [
                {**dataclasses.asdict(c), "flagged": list(c.flagged)} for c in self.classes
            ],
            "train_data_digest": self.train_data_digest,
        }
        if self.model_digest is not None:
            doc[C.MODEL_DIGEST] = self.model_digest
        return doc

    @classmethod
    def _from_json(cls, doc: object) -> PoisoningResults:
        return _parse(doc)


# --- strict parsing ------------------------------------------------------------------------------


def _parameters(value: object) -> ScanParameters:
    raw = _object(value, "parameters", _PARAMETER_KEYS)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(ScanParameters):
        what = f"parameters.{f.name}"
        item = raw[f.name]
        fields[f.name] = (
            _integer(item, what, 1) if isinstance(f.default, int) else _number(item, what)
        )
    try:
        return ScanParameters(**fields)
    except InvalidInputError as e:
        raise ValueError(f"parameters: {e}") from e


def _parse(doc: object) -> PoisoningResults:
    obj = _document(doc, C.POISONING_SCHEMA, _KEYS, _OPTIONAL)
    _expected(obj, "method", METHOD)
    _expected(obj, "representation", REPRESENTATION)
    parameters = _parameters(obj["parameters"])
    n_samples = _integer(obj["n_samples"], "n_samples", 1)
    classes = _classes(obj["classes"], parameters, n_samples)
    if sum(c.n_samples for c in classes) != n_samples:
        raise ValueError(
            f"n_samples={n_samples} but the classes hold {sum(c.n_samples for c in classes)}"
        )
    suspicious = _boolean(obj["suspicious"], "suspicious")
    if suspicious is not any(c.suspicious for c in classes):
        raise ValueError(f"suspicious={suspicious} but the classes' verdicts say otherwise")
    return PoisoningResults(
        classes=classes,
        parameters=parameters,
        train_data_digest=_digest(obj["train_data_digest"], "train_data_digest"),
        model_digest=_optional_digest(obj, C.MODEL_DIGEST),
    )


def _classes(items: object, p: ScanParameters, n_samples: int) -> tuple[ClassScan, ...]:
    if not isinstance(items, list) or not items:
        raise ValueError("classes must be a non-empty list")
    out: list[ClassScan] = []
    for index, item in enumerate(items):
        where = f"classes[{index}]"
        raw = _object(item, where, _CLASS_KEYS)
        label = _integer(raw["label"], f"{where}.label", 0)
        if out and label <= out[-1].label:
            raise ValueError(f"{where}.label={label}: labels must be unique and ascending")
        n = _integer(raw["n_samples"], f"{where}.n_samples", 1)
        dims = _integer(raw["dims"], f"{where}.dims", 0)
        size = _integer(raw["cluster_size"], f"{where}.cluster_size", 0)
        suspicious = _boolean(raw["suspicious"], f"{where}.suspicious")
        flagged = raw["flagged"]
        if not isinstance(flagged, list):
            raise ValueError(f"{where}.flagged must be a list")
        rows = tuple(_integer(i, f"{where}.flagged[]", 0) for i in flagged)
        if list(rows) != sorted(set(rows)) or (rows and rows[-1] >= n_samples):
            raise ValueError(
                f"{where}.flagged must be unique ascending rows below n_samples={n_samples}"
            )
        if raw["separation"] is None:  # not scored
            if (dims, size, suspicious, rows) != (0, 0, False, ()) or any(
                raw[k] is not None for k in ("label_disagreement", "threshold")
            ):
                raise ValueError(f"{where}: an unscored class must have nothing else set")
            out.append(ClassScan(label, n, 0, None, 0, None, False, None, ()))
            continue
        separation = _number(raw["separation"], f"{where}.separation", 0.0)
        disagreement = _number(raw["label_disagreement"], f"{where}.label_disagreement", 0.0)
        if disagreement > 1.0:
            raise ValueError(f"{where}.label_disagreement={disagreement!r} must be in [0, 1]")
        if dims < 1 or size > n:
            raise ValueError(f"{where}: dims must be >= 1 and cluster_size <= n_samples={n}")
        want = separation >= p.min_separation and disagreement >= p.min_disagreement
        if suspicious is not want:
            raise ValueError(
                f"{where}.suspicious={suspicious} but separation {separation!r} and label "
                f"disagreement {disagreement!r} give {want} under the parameters"
            )
        threshold = raw["threshold"]
        if suspicious:
            threshold = _number(threshold, f"{where}.threshold", 0.0)
            if len(rows) != size:
                raise ValueError(f"{where}: {len(rows)} flagged but cluster_size={size}")
        elif threshold is not None or rows:
            raise ValueError(f"{where}: a class that is not suspicious flags nothing")
        out.append(
            ClassScan(label, n, dims, separation, size, disagreement, suspicious, threshold, rows)
        )
    return tuple(out)
