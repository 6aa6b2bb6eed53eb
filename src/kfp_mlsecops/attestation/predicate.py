"""The robustness predicate: what an attestation says about the model it names."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata
from typing import Any

#: Keys of the predicate object, all required, no others allowed.
RESULTS = "results"
POLICY = "policy"
DATA_DIGEST = "data_digest"
ATTACK_CONFIG = "attack_config"
LIBRARY_VERSIONS = "library_versions"
PREDICATE_KEYS = (RESULTS, POLICY, DATA_DIGEST, ATTACK_CONFIG, LIBRARY_VERSIONS)

#: Distributions whose versions are recorded (the ones that shape the evaluation and its proof).
_DISTRIBUTIONS = (
    "kfp-mlsecops",
    "tensorflow",
    "tensorflow-cpu",
    "keras",
    "numpy",
    "model-signing",
    "securesystemslib",
    "in-toto-attestation",
)


@dataclass(frozen=True)
class AttestationPredicate:
    """A verified robustness attestation: the subject it names and the evidence it carries.

    ``results`` is the robustness results JSON exactly as attested (see
    :func:`kfp_mlsecops.attacks.run_attack_test`); ``model_digest`` is the subject's digest as
    ``sha256:<hex>`` (our model digest, see :func:`kfp_mlsecops.signing.model_digest`).
    """

    model_name: str
    model_digest: str
    results: dict[str, Any]
    policy: dict[str, Any]
    data_digest: str
    attack_config: dict[str, Any]
    library_versions: dict[str, str]


def library_versions() -> dict[str, str]:
    """Return the installed versions of the libraries behind the evaluation (no imports needed)."""
    versions = {"python": platform.python_version()}
    for name in _DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # e.g. only one of tensorflow / tensorflow-cpu is installed
    return versions
