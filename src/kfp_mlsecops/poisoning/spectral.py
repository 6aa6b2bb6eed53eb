"""Spectral signatures of a backdoor in a model's representations, per class; numpy only.

A backdoor attack (Gu et al. 2017) adds training samples of other classes, stamped with a
trigger and relabelled to a target class. A model that learned the backdoor represents them
apart from the target class's genuine samples, and Tran, Li and Madry (2018, *Spectral
Signatures in Backdoor Attacks*) show the shift shows up along the top singular vector of the
class's centred representations: each sample's outlier score is its squared projection on it.

On small models the plain score fails: a few poisoned samples (5% of a class) shift the class's
covariance less than the natural spread of its genuine samples (writing styles of a digit), so
the top singular vector follows the style, not the poison. As SPECTRE (Hayase et al. 2021)
does, the representations are first whitened with a *robust* estimate of the genuine samples'
covariance (the mean and shrunk covariance of the 1 - ``trim`` closest samples by Mahalanobis
distance, iterated), which flattens the natural spread so a compact shifted group stands out;
the top singular vector and scores are then taken as in the paper. Each class is scored in its
own top principal components (``dims``, fewer for small classes) of the representations of all
classes (which keeps the covariance estimable from ~100 samples).

Flagging and the verdict. Projections are put in robust units (``z``: minus the median, over
1.4826 x MAD), oriented so the far tail is positive. Natural outliers trail off gradually; a
poisoned group sits apart. Among the ``max_cluster_fraction`` most extreme samples (at least
``min_cluster``), the split with the widest *relative* empty band is found: the ratio of the
nearest sample above it to the farthest below it (that one counted as at least ``z_floor``).
A natural minority style (a digit 1 written with a base) can form such a group too, so a
second, independent signal confirms it: a dirty-label backdoor relabels samples of *other*
classes, so in the model's input space most of them lie among samples of other classes, while
a style group's members lie among each other. The ``label_disagreement`` of a group is the
fraction of its samples whose ``neighbours`` nearest samples (Euclidean, in input space) mostly
carry another label.

A class is **suspicious** when the ratio is at least ``min_separation`` *and* the group's
label disagreement is at least ``min_disagreement``: its flagged samples are those above the
band (on the far side) and its score threshold (a score is the squared robust ``z``) the
band's middle, squared. A class that is not suspicious flags nothing: its tail is natural
variation, not evidence of poisoning.

Measured on 8x8 digits with the CNN training builds (penultimate Dense(128); a 2x2 corner
trigger; 22 models, 3 to 20 epochs): the ratio of clean models stays at most 1.8; natural groups
in some classes reach 2.7 with a label disagreement of 0.0; backdoored target classes (4% to
14% of the class poisoned) reached 2.1 to 5.2 with a disagreement of 0.87 to 1.0 and every
poisoned sample above the band (a backdoor into class 3 was not separated: it is missed). One
clean sample of 31,504 was flagged. Classes with fewer than ``min_class_samples`` samples are
not scored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kfp_mlsecops.errors import InvalidInputError

__all__ = [
    "ClassScan",
    "ScanParameters",
    "class_signature",
    "robust_z",
    "label_disagreement",
    "separated_cluster",
    "spectral_scan",
]

_MAD_TO_SD = 1.4826
_TRIM_ITERATIONS = 10


@dataclass(frozen=True)
class ScanParameters:
    """The scan's settings (the defaults are the measured ones; see the module docstring).

    Args:
        dims: principal components of all representations each class is scored in (at most).
        trim: fraction of a class left out of its robust mean and covariance (the largest
            poisoned fraction the estimate withstands).
        shrinkage: weight of the scaled identity mixed into the covariance (keeps it invertible).
        max_cluster_fraction: the largest flagged group, as a fraction of the class.
        min_cluster: the smallest flagged group (fewer samples cannot make a backdoor).
        z_floor: the band's lower edge counts as at least this many robust SDs from the median.
        min_separation: the ratio of the band's edges from which a group counts as separated.
        neighbours: nearest samples outside the group whose majority label is compared.
        min_disagreement: the fraction of the group that must look like other classes.
        min_class_samples: classes with fewer samples are not scored.

    """

    dims: int = 32
    trim: float = 0.2
    shrinkage: float = 0.1
    max_cluster_fraction: float = 0.25
    min_cluster: int = 3
    z_floor: float = 4.0
    min_separation: float = 2.0
    neighbours: int = 10
    min_disagreement: float = 0.5
    min_class_samples: int = 20

    def __post_init__(self) -> None:
        """Refuse settings the scan cannot run with; InvalidInputError names the setting."""
        for name in ("dims", "min_cluster", "neighbours", "min_class_samples"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{name}={value!r}: must be an integer >= 1")
        for name, low, high in (
            ("trim", 0.0, 0.5),
            ("shrinkage", 0.0, 1.0),
            ("max_cluster_fraction", 0.0, 0.5),
            ("min_disagreement", 0.0, 1.0),
        ):
            value = getattr(self, name)
            if not _finite(value) or not low < value < high:
                raise InvalidInputError(f"{name}={value!r}: must lie strictly in ({low}, {high})")
        for name in ("z_floor", "min_separation"):
            value = getattr(self, name)
            if not _finite(value) or value <= (0.0 if name == "z_floor" else 1.0):
                raise InvalidInputError(
                    f"{name}={value!r}: must be a finite number above "
                    f"{0 if name == 'z_floor' else 1}"
                )
        if self.min_class_samples < 2 * self.min_cluster + 2:
            raise InvalidInputError(
                f"min_class_samples={self.min_class_samples}: must be at least "
                f"2 * min_cluster + 2 = {2 * self.min_cluster + 2}"
            )


@dataclass(frozen=True)
class ClassScan:
    """The scan of one class.

    ``separation`` is the widest relative empty band found (None: not scored, too few
    samples); ``cluster_size`` the number of samples above it and ``label_disagreement`` the
    fraction of them whose input-space neighbours mostly carry another label; ``threshold``
    the score above which a sample is flagged and ``flagged`` the row indices (of the scanned
    data, ascending) flagged; both are set only when the class is ``suspicious``.
    """

    label: int
    n_samples: int
    dims: int
    separation: float | None
    cluster_size: int
    label_disagreement: float | None
    suspicious: bool
    threshold: float | None
    flagged: tuple[int, ...]

    @property
    def scored(self) -> bool:
        """Whether the class had enough samples to be scored."""
        return self.separation is not None


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def robust_z(values: np.ndarray) -> np.ndarray:
    """Return ``(values - median) / (1.4826 * MAD)`` (a robust z-score; MAD 0 counts as tiny)."""
    v = np.asarray(values, dtype=np.float64)
    median = np.median(v)
    mad = _MAD_TO_SD * float(np.median(np.abs(v - median)))
    return (v - median) / max(mad, 1e-12)


def class_signature(
    features: np.ndarray, *, trim: float, shrinkage: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return each sample's projection on the top singular vector of the robustly whitened class.

    Returns ``(projection, singular_values)``. The mean and covariance come from the
    ``1 - trim`` samples nearest to them (Mahalanobis distance; iterated from all samples until
    the set is stable); the covariance is shrunk towards ``trace / dims * I`` by ``shrinkage``.
    The whitened samples are centred on their mean (as the paper centres) before the SVD.
    """
    r = np.asarray(features, dtype=np.float64)
    n, dims = r.shape
    keep = np.ones(n, dtype=bool)
    for _ in range(_TRIM_ITERATIONS):
        mean = r[keep].mean(axis=0)
        cov = np.atleast_2d(np.cov(r[keep], rowvar=False))
        cov = (1.0 - shrinkage) * cov + shrinkage * (np.trace(cov) / dims) * np.eye(dims)
        try:
            whitener = np.linalg.inv(np.linalg.cholesky(cov))
        except np.linalg.LinAlgError as e:
            raise InvalidInputError(
                "the class's representations have no spread (all samples map to one point); "
                "the model's penultimate layer is degenerate"
            ) from e
        distance = np.sum(((r - mean) @ whitener.T) ** 2, axis=1)
        nearest = distance <= np.quantile(distance, 1.0 - trim)
        if np.array_equal(nearest, keep):
            break
        keep = nearest
    white = (r - mean) @ whitener.T
    white -= white.mean(axis=0)
    _, singular, vt = np.linalg.svd(white, full_matrices=False)
    return white @ vt[0], singular


def separated_cluster(
    z: np.ndarray, *, max_fraction: float, min_cluster: int, z_floor: float
) -> tuple[float, int, float]:
    """Return ``(separation, size, band_middle)`` of the widest relative gap in ``z``'s top tail.

    The candidates are the ``k`` largest values for ``min_cluster <= k <= max_fraction * n``
    (at least ``min_cluster``); the separation of a split below the ``k``-th largest value is
    that value over ``max(the (k+1)-th largest, z_floor)``; the largest separation wins (the
    smallest ``k`` on ties). ``band_middle`` is the middle of that gap.
    """
    ordered = np.sort(np.asarray(z, dtype=np.float64))[::-1]
    n = len(ordered)
    if n < min_cluster + 1:
        raise InvalidInputError(f"{n} samples: need more than min_cluster={min_cluster}")
    top = min(max(min_cluster, int(math.floor(max_fraction * n))), n - 1)
    above = ordered[min_cluster - 1 : top]
    below = ordered[min_cluster : top + 1]
    ratio = above / np.maximum(below, z_floor)
    best = int(np.argmax(ratio))
    return float(ratio[best]), best + min_cluster, float((above[best] + below[best]) / 2.0)


def label_disagreement(
    inputs: np.ndarray, labels: np.ndarray, group: np.ndarray, *, neighbours: int
) -> float:
    """Return the fraction of ``group`` whose nearest samples mostly carry another label.

    ``inputs`` (N, F) are the samples as the model takes them (flattened), ``group`` row
    indices; for each member the ``neighbours`` nearest other samples (Euclidean; members
    included, so a natural style group votes for itself) vote, the most frequent label winning
    (the smallest on ties).
    """
    k = min(neighbours, len(inputs) - 1)
    if k < 1 or len(group) == 0:
        return 0.0
    squared = np.sum(inputs * inputs, axis=1)
    disagree = 0
    for row in group:
        distance = squared - 2.0 * (inputs @ inputs[row])
        distance[row] = np.inf
        nearest = np.argpartition(distance, k - 1)[:k]
        values, counts = np.unique(labels[nearest], return_counts=True)
        disagree += int(values[np.argmax(counts)] != labels[row])
    return disagree / len(group)


def _principal_components(features: np.ndarray, dims: int) -> np.ndarray:
    centred = features - features.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:dims].T


def spectral_scan(
    features: np.ndarray,
    labels: np.ndarray,
    inputs: np.ndarray,
    *,
    parameters: ScanParameters | None = None,
) -> tuple[ClassScan, ...]:
    """Scan each class of ``labels`` for a backdoor cluster in ``features``; one entry per class.

    Args:
        features: (N, D) representations (the penultimate layer's activations) of the samples.
        labels: (N,) integer labels the model was trained with.
        inputs: (N, ...) the samples themselves (for the label-disagreement check).
        parameters: the scan settings (None: the defaults).

    Classes appear in ascending label order; ``flagged`` holds row indices into ``features``.
    Raises InvalidInputError for unusable inputs (shapes, NaN, no samples).

    """
    p = parameters or ScanParameters()
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    flat = np.asarray(inputs, dtype=np.float64).reshape(len(inputs), -1)
    if x.ndim != 2 or y.ndim != 1 or len(x) != len(y) or len(flat) != len(y) or len(x) == 0:
        raise InvalidInputError(
            f"features {x.shape}, labels {y.shape} and inputs {flat.shape}: need N > 0 rows of "
            "each, (N, D) features and N labels"
        )
    if not (np.isfinite(x).all() and np.isfinite(flat).all()):
        raise InvalidInputError("the representations or inputs hold NaN or infinity")
    if not np.issubdtype(y.dtype, np.integer):
        raise InvalidInputError(f"labels are {y.dtype}; need integer class labels")
    reduced = _principal_components(x, min(p.dims, x.shape[1], len(x)))
    scans = []
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        n = len(rows)
        dims = min(reduced.shape[1], n // 4)
        if n < p.min_class_samples or dims < 1:
            scans.append(ClassScan(int(label), n, 0, None, 0, None, False, None, ()))
            continue
        projection, _ = class_signature(reduced[rows, :dims], trim=p.trim, shrinkage=p.shrinkage)
        z = robust_z(projection)
        if -z.min() > z.max():
            z = -z  # orient: the far tail is the positive one
        separation, size, middle = separated_cluster(
            z, max_fraction=p.max_cluster_fraction, min_cluster=p.min_cluster, z_floor=p.z_floor
        )
        group = np.sort(rows[z > middle])
        disagreement = label_disagreement(flat, y, group, neighbours=p.neighbours)
        suspicious = separation >= p.min_separation and disagreement >= p.min_disagreement
        scans.append(
            ClassScan(
                label=int(label),
                n_samples=n,
                dims=dims,
                separation=separation,
                cluster_size=len(group),
                label_disagreement=disagreement,
                suspicious=suspicious,
                threshold=middle * middle if suspicious else None,
                flagged=tuple(int(i) for i in group) if suspicious else (),
            )
        )
    return tuple(scans)
