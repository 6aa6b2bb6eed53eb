"""The membership-inference results document (``constants.MEMBERSHIP_SCHEMA``): reader and writer.

``mlsecops privacy`` (and ``mlsecops run``) write it through :meth:`MembershipResults.write`; the
compliance check reads it with :meth:`MembershipResults.read`. Layout::

    {"schema": "kfp-mlsecops/membership-inference/v1", "seed": 0, "score": "cross_entropy",
     "model_output": "softmax-stripped",
     "members": {"used": 360, "available": 1437}, "non_members": {"used": 360, "available": 360},
     "advantage": 0.07, "chance_advantage": 0.113,
     "attacks": [{"attack": "loss", "advantage": 0.07, "threshold": 0.01, "auc": 0.53,
                  "low_fpr": [{"fpr": 0.01, "max_false_positives": 3, "supported": true,
                               "tpr": 0.02, "true_positives": 7},
                              {"fpr": 0.001, "max_false_positives": 0, "supported": false,
                               "tpr": null, "true_positives": null}]},
                 {"attack": "class_calibrated_loss", ...}],
     "train_data_digest": "sha256:...", "test_data_digest": "sha256:...",
     "model_digest": "sha256:..."}          # model_digest only for a model folder

Reading is strict: no NaN/Infinity, no duplicate, missing or unknown keys, numbers never bools
or strings, rates in [0, 1], equal member and non-member counts, every attack of
:data:`~kfp_mlsecops.privacy.membership.ATTACKS` once and in order, and the derived figures
(``advantage`` the maximum over the attacks, ``chance_advantage``, each ``max_false_positives``,
``supported`` and ``tpr``) exactly what the counts give. Every failure raises InvalidInputError
naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._fields import digest as _digest
from kfp_mlsecops._fields import document as _document
from kfp_mlsecops._fields import expected as _expected
from kfp_mlsecops._fields import integer as _integer
from kfp_mlsecops._fields import json_object as _object
from kfp_mlsecops._fields import number as _number
from kfp_mlsecops._fields import optional_digest as _optional_digest
from kfp_mlsecops._fields import rate as _rate
from kfp_mlsecops._fields import text as _text
from kfp_mlsecops._results_file import ResultsDocument, ResultsFile
from kfp_mlsecops.privacy.membership import (
    ATTACKS,
    LOW_FPRS,
    AttackMetrics,
    LowFprPoint,
    MembershipFigures,
    chance_advantage,
)

__all__ = ["SCORE", "MembershipResults"]

#: The per-sample score every attack starts from.
SCORE = "cross_entropy"
_MAX_SEED = 2**31
_EPS = 1e-9
_KEYS = {
    C.SCHEMA,
    "seed",
    "score",
    "model_output",
    "members",
    "non_members",
    "advantage",
    "chance_advantage",
    "attacks",
    "train_data_digest",
    "test_data_digest",
}
_OPTIONAL = {C.MODEL_DIGEST}
_ATTACK_KEYS = {"attack", "advantage", "threshold", "auc", "low_fpr"}
_POINT_KEYS = {"fpr", "max_false_positives", "supported", "tpr", "true_positives"}


@dataclass(frozen=True)
class MembershipResults(ResultsDocument):
    """The figures of a membership-inference test and what they were computed on.

    Args:
        figures: the attacks' figures and the balanced sample sizes and seed.
        model_output: how the loss was computed (``TFModel.output_kind``).
        train_data_digest: ``data.split_digest`` of the member (training) split.
        test_data_digest: ``data.split_digest`` of the non-member (test) split.
        model_digest: the model folder's digest as signing computes it (None for a file).

    """

    _FILE = ResultsFile.of_command("privacy")

    figures: MembershipFigures
    model_output: str
    train_data_digest: str
    test_data_digest: str
    model_digest: str | None = None

    @property
    def advantage(self) -> float:
        """The highest membership advantage over the attacks."""
        return self.figures.advantage

    @property
    def worst_attack(self) -> AttackMetrics:
        """The attack with the highest advantage (the first one on ties)."""
        return max(self.figures.attacks, key=lambda a: a.advantage)

    def leaks(self, limit: float, advantage: float | None = None) -> bool:
        """Whether ``advantage`` (default: the worst attack's) shows a leak beyond ``limit``.

        Above ``limit`` is not enough: the advantage is maximised over thresholds on the same
        samples, so a leak-free model reaches the chance level (exceeded with probability 1% at
        this size); a value at most that level is noise, not evidence.
        """
        value = self.advantage if advantage is None else advantage
        return value > limit and value > self.figures.chance_advantage

    def summary(self) -> str:
        """Return one line: advantage, AUC, TPR at low FPR (with its support), sizes and seed."""
        worst = self.worst_attack
        points = []
        for p in worst.low_fpr:
            if p.supported:
                points.append(
                    f"TPR {p.tpr:.3f} at FPR<={p.fpr:g} ({p.max_false_positives} of "
                    f"{self.figures.n_non_members} non-members may be false positives)"
                )
            else:
                points.append(
                    f"TPR at FPR<={p.fpr:g} unsupported (needs >= {math.ceil(1 / p.fpr - _EPS)} "
                    f"non-members, have {self.figures.n_non_members})"
                )
        return (
            f"membership advantage {self.advantage:.4f} ({worst.attack}; chance level "
            f"{self.figures.chance_advantage:.4f}), AUC {worst.auc:.4f}, {'; '.join(points)}; "
            f"{self.figures.n_members} members vs {self.figures.n_non_members} non-members, "
            f"seed {self.figures.seed}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document (``constants.MEMBERSHIP_SCHEMA``)."""
        f = self.figures
        doc: dict[str, Any] = {
            C.SCHEMA: C.MEMBERSHIP_SCHEMA,
            "seed": f.seed,
            "score": SCORE,
            "model_output": self.model_output,
            "members": {"used": f.n_members, "available": f.available_members},
            "non_members": {"used": f.n_non_members, "available": f.available_non_members},
            "advantage": f.advantage,
            "chance_advantage": f.chance_advantage,
            "attacks": [
                {
                    "attack": a.attack,
                    "advantage": a.advantage,
                    "threshold": a.threshold,
                    "auc": a.auc,
                    "low_fpr": [
                        {
                            "fpr": p.fpr,
                            "max_false_positives": p.max_false_positives,
                            "supported": p.supported,
                            "tpr": p.tpr,
                            "true_positives": p.true_positives,
                        }
                        for p in a.low_fpr
                    ],
                }
                for a in f.attacks
            ],
            "train_data_digest": self.train_data_digest,
            "test_data_digest": self.test_data_digest,
        }
        if self.model_digest is not None:
            doc[C.MODEL_DIGEST] = self.model_digest
        return doc

    @classmethod
    def _from_json(cls, doc: object) -> MembershipResults:
        return _parse(doc)


# --- strict parsing ------------------------------------------------------------------------------


def _same(value: float, want: float, what: str) -> None:
    if not math.isclose(value, want, rel_tol=0.0, abs_tol=_EPS):
        raise ValueError(f"{what}={value!r} but the document's counts give {want!r}")


def _parse(doc: object) -> MembershipResults:
    obj = _document(doc, C.MEMBERSHIP_SCHEMA, _KEYS, _OPTIONAL)
    seed = _integer(obj["seed"], "seed", 0, _MAX_SEED)
    _expected(obj, "score", SCORE)
    model_output = _text(obj["model_output"], "model_output")
    sizes = {}
    for key in ("members", "non_members"):
        raw = _object(obj[key], key, {"used", "available"})
        used = _integer(raw["used"], f"{key}.used", 1)
        available = _integer(raw["available"], f"{key}.available", used)
        sizes[key] = (used, available)
    n = sizes["members"][0]
    if sizes["non_members"][0] != n:
        raise ValueError(
            f"members.used={n} but non_members.used={sizes['non_members'][0]}; the sets must "
            "be balanced"
        )
    if min(sizes["members"][1], sizes["non_members"][1]) != n:
        raise ValueError(f"members.used={n} must be the smaller set's size (nothing left out)")
    attacks = _attacks(obj["attacks"], n)
    figures = MembershipFigures(
        seed=seed,
        n_members=n,
        n_non_members=n,
        available_members=sizes["members"][1],
        available_non_members=sizes["non_members"][1],
        attacks=attacks,
    )
    _same(_rate(obj["advantage"], "advantage"), figures.advantage, "advantage")
    _same(
        _number(obj["chance_advantage"], "chance_advantage"),
        chance_advantage(n),
        "chance_advantage",
    )
    return MembershipResults(
        figures=figures,
        model_output=model_output,
        train_data_digest=_digest(obj["train_data_digest"], "train_data_digest"),
        test_data_digest=_digest(obj["test_data_digest"], "test_data_digest"),
        model_digest=_optional_digest(obj, C.MODEL_DIGEST),
    )


def _attacks(items: object, n: int) -> tuple[AttackMetrics, ...]:
    if not isinstance(items, list):
        raise ValueError("attacks must be a list")
    names = [item.get("attack") if isinstance(item, dict) else None for item in items]
    if names != list(ATTACKS):
        raise ValueError(f"attacks must be {list(ATTACKS)} in this order, got {names}")
    out = []
    for index, item in enumerate(items):
        where = f"attacks[{index}]"
        raw = _object(item, where, _ATTACK_KEYS)
        threshold = raw["threshold"]
        out.append(
            AttackMetrics(
                attack=raw["attack"],
                advantage=_rate(raw["advantage"], f"{where}.advantage"),
                threshold=None if threshold is None else _number(threshold, f"{where}.threshold"),
                auc=_rate(raw["auc"], f"{where}.auc"),
                low_fpr=_points(raw["low_fpr"], n, f"{where}.low_fpr"),
            )
        )
    return tuple(out)


def _points(items: object, n: int, where: str) -> tuple[LowFprPoint, ...]:
    if not isinstance(items, list) or len(items) != len(LOW_FPRS):
        raise ValueError(f"{where} must list one entry per FPR {list(LOW_FPRS)}")
    points = []
    for index, (item, fpr) in enumerate(zip(items, LOW_FPRS, strict=True)):
        what = f"{where}[{index}]"
        raw = _object(item, what, _POINT_KEYS)
        if _rate(raw["fpr"], f"{what}.fpr") != fpr:
            raise ValueError(f"{what}.fpr={raw['fpr']!r}, expected {fpr!r}")
        allowed = _integer(raw["max_false_positives"], f"{what}.max_false_positives", 0)
        if allowed != math.floor(fpr * n + _EPS):
            raise ValueError(
                f"{what}.max_false_positives={allowed} but floor({fpr:g} * {n}) non-members is "
                f"{math.floor(fpr * n + _EPS)}"
            )
        supported = raw["supported"]
        if supported is not (allowed >= 1):
            raise ValueError(
                f"{what}.supported={supported!r} but {allowed} false positive(s) are allowed "
                "(supported means at least 1)"
            )
        if not supported:
            if raw["tpr"] is not None or raw["true_positives"] is not None:
                raise ValueError(
                    f"{what}: an unsupported rate must have tpr and true_positives null"
                )
            points.append(LowFprPoint(fpr, allowed, False, None, None))
            continue
        hits = _integer(raw["true_positives"], f"{what}.true_positives", 0, n + 1)
        tpr = _rate(raw["tpr"], f"{what}.tpr")
        _same(tpr, hits / n, f"{what}.tpr")
        points.append(LowFprPoint(fpr, allowed, True, tpr, hits))
    return tuple(points)
