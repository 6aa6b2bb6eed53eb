from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _attestation_helpers as H
import pytest
from _attestation_helpers import ATTACK_CONFIG, DATA_DIGEST, POLICY, make_model, results_doc

from kfp_mlsecops.attestation import create_attestation
from kfp_mlsecops.signing import VerificationConfig, generate_key_pair


@dataclass
class Attested:
    model: Path
    digest: str
    results: dict[str, Any]
    results_path: Path
    attestation: Path
    private_key: Path
    public_key: Path


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("attestation-keys")
    generate_key_pair(folder / "private.pem", folder / "public.pem")
    return folder / "private.pem", folder / "public.pem"


@pytest.fixture(scope="session")
def other_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("attestation-other-keys")
    generate_key_pair(folder / "private.pem", folder / "public.pem")
    return folder / "private.pem", folder / "public.pem"


@pytest.fixture
def attested(tmp_path: Path, keys: tuple[Path, Path]) -> Attested:
    from kfp_mlsecops.signing import model_digest

    model = make_model(tmp_path / "model")
    results = results_doc(model_digest(model))
    results_path = tmp_path / "results" / "robustness.json"
    results_path.parent.mkdir()
    results_path.write_text(json.dumps(results, indent=2))
    out = tmp_path / "attestation" / "robustness.intoto.json"
    digest = create_attestation(
        model_dir=model,
        results_path=results_path,
        policy=POLICY,
        data_digest=DATA_DIGEST,
        attack_config=ATTACK_CONFIG,
        private_key_path=keys[0],
        out_path=out,
    )
    return Attested(model, digest, results, results_path, out, keys[0], keys[1])


@dataclass
class CertAttested:
    """An attestation signed with the certificate method (leaf 'email' of ``pki``)."""

    model: Path
    digest: str
    results_path: Path
    attestation: Path
    pki: H.Pki
    verification: VerificationConfig


@pytest.fixture
def cert_attested(tmp_path: Path, pki: H.Pki) -> CertAttested:
    from kfp_mlsecops.signing import model_digest

    model = H.make_model(tmp_path / "model")
    results_path = tmp_path / "results.json"
    results_path.write_text(json.dumps(H.results_doc(model_digest(model))))
    out = tmp_path / "attestation" / "robustness.bundle.json"
    digest = create_attestation(
        model_dir=model,
        results_path=results_path,
        policy=POLICY,
        data_digest=DATA_DIGEST,
        attack_config=ATTACK_CONFIG,
        signing=H.certificate_signing(pki),
        out_path=out,
    )
    verification = VerificationConfig().use_certificate(
        chain_paths=pki.chain, identity=H.EMAIL_IDENTITY
    )
    return CertAttested(model, digest, results_path, out, pki, verification)
