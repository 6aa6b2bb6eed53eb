from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kfp_mlsecops import constants as c
from kfp_mlsecops.attestation import create_attestation
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.gate import Policy
from kfp_mlsecops.signing import generate_key_pair, sign_model


@dataclass
class Signed:
    model: Path
    signature: Path
    public_key: Path
    digest: str
    private_key: Path
    attestation: Path


@pytest.fixture(scope="session")
def gate_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("gate-keys")
    generate_key_pair(folder / "private.pem", folder / "public.pem")
    return folder / "private.pem", folder / "public.pem"


@pytest.fixture
def signed(tmp_path: Path, gate_keys: tuple[Path, Path]) -> Signed:
    model = tmp_path / "model"
    (model / "1" / "variables").mkdir(parents=True)
    (model / "1" / "variables" / "variables.data-00000-of-00001").write_bytes(b"weights" * 8)
    (model / "1" / "variables" / "variables.index").write_bytes(b"index")
    signature = tmp_path / "signature" / "model.sig"
    digest = sign_model(model, signature, private_key_path=gate_keys[0])
    attestation = tmp_path / "attestation" / "robustness.intoto.json"
    return Signed(model, signature, gate_keys[1], digest, gate_keys[0], attestation)


#: Policy, dataset digest and attack config recorded in the gate tests' attestations.
ATTESTED_POLICY = {"min_clean_accuracy": 0.9, "min_robust_accuracy": 0.5, "robust_attack": "pgd"}
ATTESTED_CONFIG = {"attacks": ["fgsm", "pgd"], "epsilons": [0.05, 0.1], "pgd_steps": 10}
DATA_DIGEST = "sha256:" + "ab" * 32


def attest_signed(signed: Signed, results: Path, *, private_key: Path | None = None) -> Path:
    """Sign an attestation of the results file for the signed model (at ``signed.attestation``)."""
    create_attestation(
        model_dir=signed.model,
        results_path=results,
        policy=ATTESTED_POLICY,
        data_digest=DATA_DIGEST,
        attack_config=ATTESTED_CONFIG,
        private_key_path=private_key or signed.private_key,
        out_path=signed.attestation,
    )
    return signed.attestation


@pytest.fixture
def attest_results() -> Callable[..., Path]:
    """Attest a results file for a Signed model (optionally with another private key)."""
    return attest_signed


@pytest.fixture
def policy() -> Policy:
    return Policy(
        min_clean_accuracy=0.9, min_robust_accuracy=0.5, robust_attack="pgd", robust_epsilon=0.1
    )


def _results_doc(digest: str | None) -> dict[str, Any]:
    """A well-formed robustness results document that passes the ``policy`` fixture."""
    doc: dict[str, Any] = {
        c.SCHEMA: c.ROBUSTNESS_SCHEMA,
        c.CLEAN_ACCURACY: 0.95,
        c.N_SAMPLES: 200,
        c.EPSILONS: [0.0, 0.05, 0.1],
        c.ATTACKS: [
            {
                "attack": "fgsm",
                "norm": "linf",
                "epsilon": 0.1,
                "robust_accuracy": 0.6,
                "params": {},
            },
            {
                "attack": "pgd",
                "norm": "linf",
                "epsilon": 0.05,
                "robust_accuracy": 0.7,
                "params": {"steps": 10},
            },
            {
                "attack": "pgd",
                "norm": "linf",
                "epsilon": 0.1,
                "robust_accuracy": 0.55,
                "params": {"steps": 10},
            },
        ],
        c.WORST_CASE: [
            {"epsilon": 0.05, "robust_accuracy": 0.6},
            {"epsilon": 0.1, "robust_accuracy": 0.52},
        ],
        "invariants": [{"name": n, "description": n} for n in c.ROBUSTNESS_INVARIANTS],
        "tier": "fast",
        "masking": [
            {
                "id": flag,
                "flagged": False,
                "measured": 0.0,
                "threshold": 0.05,
                "detail": f"{flag} not observed",
            }
            for flag in c.MASKING_FLAGS
        ],
    }
    if digest is not None:
        doc[c.MODEL_DIGEST] = digest
    return doc


@pytest.fixture
def results_doc() -> Callable[[str | None], dict[str, Any]]:
    """Build a passing results document for a digest (None: no model_digest key)."""
    return _results_doc


@pytest.fixture
def write_results(tmp_path: Path, signed: Signed) -> Callable[..., Path]:
    """Write a results document (dict -> JSON, str -> raw text) and return its path.

    Unless ``attest=False``, the written results are also attested for the ``signed`` model (as
    attack_test's attest step would); results the attestation step refuses get no attestation.
    """

    def write(doc: Any, *, attest: bool = True) -> Path:
        path = tmp_path / "results" / "robustness.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
        signed.attestation.unlink(missing_ok=True)
        if attest:
            try:
                attest_signed(signed, path)
            except InvalidInputError:
                pass  # e.g. not robustness results, or results of another model
        return path

    return write
