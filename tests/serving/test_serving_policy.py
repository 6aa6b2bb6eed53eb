"""`mlsecops serve` verifies with any signing method: key, certificate (real PKI), sigstore."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest
from _pki import Pki

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.serve_command import add_serve_parser, run_serve
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.serving import (
    ConfigAttestationVerifier,
    policy_for_method,
    stage_verified_model,
)
from kfp_mlsecops.signing import SigningConfig, generate_key_pair, sign_model

IDENTITY = Pki.email_identity


def _tiny_model(folder: Path) -> Path:
    (folder / "1").mkdir(parents=True)
    (folder / "model.keras").write_bytes(b"keras-zip-bytes" * 10)
    (folder / "1" / "saved_model.pb").write_bytes(b"graph")
    return folder


def _sign_with_certificate(model: Path, signature: Path, pki: Pki) -> str:
    config = SigningConfig().use_certificate(
        private_key_path=pki.leaves["email"][0],
        certificate_path=pki.leaves["email"][1],
        chain_paths=pki.chain,
    )
    return config.sign(model, signature)


@pytest.fixture
def cert_signed(tmp_path: Path, pki: Pki) -> tuple[Path, Path, str]:
    model = _tiny_model(tmp_path / "model")
    signature = tmp_path / "model.sig"
    return model, signature, _sign_with_certificate(model, signature, pki)


def _serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlsecops")
    add_serve_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *argv, "--port", "1"])


def test_certificate_policy_stages_a_certificate_signed_model(cert_signed, pki):
    model, signature, digest = cert_signed
    policy = policy_for_method(
        "certificate",
        signature_path=signature,
        chain_paths=[pki.root],
        identity=IDENTITY,
        expected_digest=digest,
    )
    staged = stage_verified_model(model, policy)
    try:
        assert staged.digest == digest
        assert (staged.path / "model.keras").read_bytes() == (model / "model.keras").read_bytes()
    finally:
        staged.cleanup()


def test_certificate_policy_refuses_another_identity_and_a_tampered_model(cert_signed, pki):
    model, signature, _ = cert_signed
    other = policy_for_method(
        "certificate", signature_path=signature, chain_paths=[pki.root], identity="x@example.com"
    )
    with pytest.raises(VerificationError, match="x@example.com"):
        stage_verified_model(model, other)
    right = policy_for_method(
        "certificate", signature_path=signature, chain_paths=[pki.root], identity=IDENTITY
    )
    (model / "model.keras").write_bytes(b"swapped")
    with pytest.raises(VerificationError, match="model.keras"):
        stage_verified_model(model, right)


def test_a_key_signed_model_fails_the_certificate_and_sigstore_policies(tmp_path, pki):
    model = _tiny_model(tmp_path / "model")
    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    signature = tmp_path / "model.sig"
    sign_model(model, signature, private_key_path=tmp_path / "k.pem")
    trust_config = tmp_path / "trust_config.json"
    trust_config.write_text("{}")
    for policy in (
        policy_for_method(
            "certificate", signature_path=signature, chain_paths=[pki.root], identity=IDENTITY
        ),
        policy_for_method(
            "sigstore",
            signature_path=signature,
            identity=IDENTITY,
            issuer="https://accounts.example.com",
            trust_config_path=trust_config,
        ),
    ):
        with pytest.raises(VerificationError):
            stage_verified_model(model, policy)


def _attest(model: Path, out: Path, **signer) -> Path:
    """A real robustness attestation for ``model``, signed like the model (key or config)."""
    from kfp_mlsecops.attestation import create_attestation
    from kfp_mlsecops.signing import model_digest

    results = out.with_suffix(".results.json")
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(
        json.dumps(
            {
                C.SCHEMA: C.ROBUSTNESS_SCHEMA,
                C.MODEL_DIGEST: model_digest(model),
                C.CLEAN_ACCURACY: 0.95,
                C.N_SAMPLES: 100,
            }
        )
    )
    create_attestation(
        model_dir=model,
        results_path=results,
        policy={"min_clean_accuracy": 0.9},
        data_digest="sha256:" + "cd" * 32,
        attack_config={"attacks": ["fgsm"], "epsilons": [0.1]},
        out_path=out,
        **signer,
    )
    return out


def test_the_attestation_must_be_signed_with_the_models_method_and_trust(
    cert_signed, pki, tmp_path
):
    model, signature, digest = cert_signed
    signing = SigningConfig().use_certificate(
        private_key_path=pki.leaves["email"][0],
        certificate_path=pki.leaves["email"][1],
        chain_paths=pki.chain,
    )
    good = _attest(model, tmp_path / "ev" / "cert.json", signing=signing)
    generate_key_pair(tmp_path / "k.pem", tmp_path / "k.pub")
    by_key = _attest(model, tmp_path / "ev" / "key.json", private_key_path=tmp_path / "k.pem")

    def policy(attestation: Path, identity: str = IDENTITY):
        return policy_for_method(
            "certificate",
            signature_path=signature,
            chain_paths=[pki.root],
            identity=identity,
            attestation_path=attestation,
        )

    assert isinstance(policy(good).attestation_verifier, ConfigAttestationVerifier)
    staged = stage_verified_model(model, policy(good))
    assert staged.digest == digest
    staged.cleanup()
    with pytest.raises(VerificationError, match="key.json"):
        stage_verified_model(model, policy(by_key))  # right model, wrong method
    # the key method checks an attestation with the same public key as the signature
    key_signature = tmp_path / "key-model.sig"
    sign_model(model, key_signature, private_key_path=tmp_path / "k.pem")
    key_policy = policy_for_method(
        "key", signature_path=key_signature, public_key_path=tmp_path / "k.pub"
    )
    assert key_policy.attestation_verifier is None
    for attestation, ok in ((by_key, True), (good, False)):
        with_attestation = policy_for_method(
            "key",
            signature_path=key_signature,
            public_key_path=tmp_path / "k.pub",
            attestation_path=attestation,
        )
        if ok:
            stage_verified_model(model, with_attestation).cleanup()
        else:
            with pytest.raises(VerificationError, match="cert.json"):
                stage_verified_model(model, with_attestation)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"method": "key"}, "needs public_key_path"),
        ({"method": "key", "public_key_path": "k", "identity": IDENTITY}, "does not use identity"),
        ({"method": "certificate", "identity": IDENTITY}, "needs chain_paths and identity"),
        ({"method": "sigstore", "identity": IDENTITY}, "needs identity, issuer"),
        ({"method": "pgp"}, "unknown"),
        ({"method": "key", "public_key_path": "k", "expected_digest": "md5:1"}, "expected digest"),
    ],
)
def test_wrong_options_for_a_method_are_input_errors(kwargs, fragment):
    method = kwargs.pop("method")
    with pytest.raises(InvalidInputError, match=fragment):
        policy_for_method(method, signature_path="model.sig", **kwargs)


def test_serve_command_verifies_with_the_certificate_method(cert_signed, pki, capsys):
    model, signature, _ = cert_signed
    common = ["--model-dir", str(model), "--signature", str(signature), "--method", "certificate"]
    args = _serve_args(*common, "--chain", str(pki.root), "--identity", "x@example.com")
    assert (args.method, args.chain, args.identity) == (
        "certificate",
        [pki.root],
        "x@example.com",
    )
    assert run_serve(args) == 1  # verification failed: exit 1, nothing served
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("mlsecops serve: error: ") and "x@example.com" in line


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--method", "certificate", "--public-key", "k.pub"], "does not use --public-key"),
        (["--method", "certificate", "--identity", IDENTITY], "needs --chain and --identity"),
        (
            ["--method", "sigstore", "--identity", IDENTITY],
            "needs --identity, --issuer and --trust-config",
        ),
        (["--public-key", "k.pub", "--issuer", "https://a.example"], "does not use --issuer"),
    ],
)
def test_serve_command_names_the_flags_a_method_needs_and_exits_2(extra, fragment, capsys):
    args = _serve_args("--model-dir", "m", "--signature", "s", *extra)
    assert run_serve(args) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("mlsecops serve: error: ") and fragment in line, line


@pytest.mark.slow
def test_the_runtime_serves_the_trained_model_signed_with_a_certificate(
    signed_digits_model, pki, tmp_path
):
    import numpy as np
    from prometheus_client import CollectorRegistry

    from kfp_mlsecops.serving import VerifiedModelRuntime

    model = tmp_path / "model"
    shutil.copytree(signed_digits_model.model_dir, model)
    signature = tmp_path / "model.sig"
    digest = _sign_with_certificate(model, signature, pki)
    assert digest == signed_digits_model.digest  # same bytes, another method
    policy = policy_for_method(
        "certificate",
        signature_path=signature,
        chain_paths=[pki.root],
        identity=IDENTITY,
        expected_digest=digest,
    )
    runtime = VerifiedModelRuntime(
        "digits", model_dir=model, policy=policy, registry=CollectorRegistry()
    )
    runtime.load()
    try:
        assert runtime.ready and runtime.digest == digest
        probabilities = runtime.predict(np.full((2, 8, 8, 1), 0.5, dtype=np.float32))
        assert probabilities.shape == (2, 10)
    finally:
        runtime.close()
