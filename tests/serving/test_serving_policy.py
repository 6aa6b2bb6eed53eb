"""`mlsecops serve` verifies with any signing method: key, certificate (real PKI), sigstore.

Whatever the model-signing method, the gate's approval is verified with the gate's own key.
"""

from __future__ import annotations

import argparse
import dataclasses

import pytest
from _pki import Pki
from _release import Release

from kfp_mlsecops.cli.serve_command import add_serve_parser, run_serve
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.gate import run_gate
from kfp_mlsecops.serving import policy_for_method, stage_verified_model
from kfp_mlsecops.signing import SigningConfig, VerificationConfig

pytestmark = pytest.mark.slow

IDENTITY = Pki.email_identity


def _certificate_signing(pki: Pki) -> SigningConfig:
    return SigningConfig().use_certificate(
        private_key_path=pki.leaves["email"][0],
        certificate_path=pki.leaves["email"][1],
        chain_paths=pki.chain,
    )


@pytest.fixture
def cert_release(fresh_release: Release, pki: Pki) -> Release:
    """The approved chain, re-signed, re-attested and re-gated with the certificate method."""
    signing = _certificate_signing(pki)
    digest = signing.sign(fresh_release.model, fresh_release.signature)
    assert digest == fresh_release.digest  # same bytes, another method
    fresh_release.attest(private_key_path=None, signing=signing)
    trust = VerificationConfig().use_certificate(chain_paths=[pki.root], identity=IDENTITY)
    run_gate(**fresh_release.gate_kwargs(gate_seed=0, public_key_path=None, verification=trust))
    return fresh_release


def _policy(release: Release, method: str = "certificate", **overrides):
    root = overrides.pop("root", None)
    kwargs = dict(
        signature_path=release.signature,
        attestation_path=release.attestation,
        approval_path=release.approval,
        approval_public_key_path=release.approval_public_key,
        chain_paths=[root] if root is not None else [],
        identity=IDENTITY,
    )
    kwargs.update(overrides)
    return policy_for_method(method, **kwargs)


def _serve_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlsecops")
    add_serve_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *argv, "--port", "1"])


def _evidence(release: Release) -> list[str]:
    return [
        "--attestation",
        str(release.attestation),
        "--approval",
        str(release.approval),
        "--approval-public-key",
        str(release.approval_public_key),
    ]


def test_certificate_policy_stages_a_certificate_signed_approved_model(cert_release, pki):
    policy = _policy(cert_release, root=pki.root, expected_digest=cert_release.digest)
    staged = stage_verified_model(cert_release.model, policy)
    try:
        assert staged.digest == cert_release.digest
    finally:
        staged.cleanup()


def test_certificate_policy_refuses_another_identity_and_a_tampered_model(cert_release, pki):
    with pytest.raises(VerificationError, match="x@example.com"):
        stage_verified_model(
            cert_release.model, _policy(cert_release, root=pki.root, identity="x@example.com")
        )
    (cert_release.model / "1" / "saved_model.pb").write_bytes(b"swapped")
    with pytest.raises(VerificationError):
        stage_verified_model(cert_release.model, _policy(cert_release, root=pki.root))


def test_a_key_signed_model_fails_the_certificate_and_sigstore_policies(
    fresh_release, pki, tmp_path
):
    trust_config = tmp_path / "trust_config.json"
    trust_config.write_text("{}")
    for policy in (
        _policy(fresh_release, root=pki.root),
        _policy(
            fresh_release,
            "sigstore",
            issuer="https://accounts.example.com",
            trust_config_path=trust_config,
        ),
    ):
        with pytest.raises(VerificationError):
            stage_verified_model(fresh_release.model, policy)


def test_the_attestation_must_be_signed_with_the_models_method_and_trust(cert_release, pki):
    """A certificate-signed model with a key-signed attestation: right model, wrong method."""
    cert_release.attest()  # the key method, the test chain's model key
    with pytest.raises(VerificationError, match="attestation"):
        stage_verified_model(cert_release.model, _policy(cert_release, root=pki.root))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"method": "key"}, "needs public_key_path"),
        ({"method": "key", "public_key_path": "k", "identity": IDENTITY}, "does not use identity"),
        ({"method": "certificate", "identity": IDENTITY}, "needs chain_paths and identity"),
        ({"method": "sigstore", "identity": IDENTITY}, "needs identity, issuer"),
        ({"method": "pgp"}, "unknown"),
    ],
)
def test_wrong_options_for_a_method_are_input_errors(kwargs, fragment):
    method = kwargs.pop("method")
    with pytest.raises(InvalidInputError, match=fragment):
        policy_for_method(
            method,
            signature_path="model.sig",
            attestation_path="a.json",
            approval_path="approval.json",
            approval_public_key_path="approval.pub",
            **kwargs,
        )


def test_serve_command_verifies_with_the_certificate_method(cert_release, pki, capsys):
    common = [
        "--model-dir",
        str(cert_release.model),
        "--signature",
        str(cert_release.signature),
        *_evidence(cert_release),
        "--method",
        "certificate",
    ]
    args = _serve_args(*common, "--chain", str(pki.root), "--identity", "x@example.com")
    assert (args.method, args.chain, args.identity) == ("certificate", [pki.root], "x@example.com")
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
    evidence = ["--attestation", "a", "--approval", "p", "--approval-public-key", "k"]
    args = _serve_args("--model-dir", "m", "--signature", "s", *evidence, *extra)
    assert run_serve(args) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("mlsecops serve: error: ") and fragment in line, line


def test_the_runtime_serves_the_trained_model_signed_with_a_certificate(cert_release, pki):
    import numpy as np
    from prometheus_client import CollectorRegistry

    from kfp_mlsecops.serving import VerifiedModelRuntime

    policy = _policy(cert_release, root=pki.root, expected_digest=cert_release.digest)
    runtime = VerifiedModelRuntime(
        "digits", model_dir=cert_release.model, policy=policy, registry=CollectorRegistry()
    )
    runtime.load()
    try:
        assert runtime.ready and runtime.digest == cert_release.digest
        probabilities = runtime.predict(np.full((2, 8, 8, 1), 0.5, dtype=np.float32))
        assert probabilities.shape == (2, 10)
    finally:
        runtime.close()


def test_policy_dataclass_is_frozen(cert_release, pki):
    policy = _policy(cert_release, root=pki.root)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.approval_path = cert_release.signature  # type: ignore[misc]
