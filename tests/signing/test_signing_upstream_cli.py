"""Signatures we make verify with the upstream `model_signing` CLI (same venv), and back.

The upstream CLI builds its own hashing config (per-file SHA-256) and cannot be told another,
which is why our default stays per-file SHA-256 (see bench/signing.py for the trade-off).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kfp_mlsecops.errors import VerificationError
from kfp_mlsecops.signing import SigningConfig, VerificationConfig, sign_model, verify_model


def _upstream(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "model_signing", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _model(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "weights.bin").write_bytes(bytes(range(256)) * 64)
    (root / "sub" / "config.json").write_text('{"layers": 3}\n')
    return root


@pytest.mark.slow
def test_upstream_cli_verifies_our_key_signature(tmp_path: Path, keys) -> None:
    model, signature = _model(tmp_path / "model"), tmp_path / "model.sig"
    sign_model(model, signature, private_key_path=keys[0])
    args = ("verify", "key", "--signature", signature, "--public_key", keys[1])
    ok = _upstream(*args, model)
    assert ok.returncode == 0 and "Verification succeeded" in ok.stdout, ok.stderr
    # With .git paths included, as we sign: still fine on a clean model.
    assert _upstream(*args, "--no-ignore-git-paths", model).returncode == 0
    (model / "weights.bin").write_bytes(b"tampered")
    bad = _upstream(*args, model)
    assert bad.returncode != 0 and "Hash mismatch for 'weights.bin'" in bad.stdout + bad.stderr


def test_upstream_cli_verifies_our_certificate_signature(tmp_path: Path, pki) -> None:
    model, signature = _model(tmp_path / "model"), tmp_path / "model.sig"
    key, cert = pki.leaves["email"]
    SigningConfig().use_certificate(
        private_key_path=key, certificate_path=cert, chain_paths=[pki.intermediate]
    ).sign(model, signature)
    chain = ("--certificate_chain", pki.intermediate, "--certificate_chain", pki.root)
    ok = _upstream("verify", "certificate", "--signature", signature, *chain, model)
    assert ok.returncode == 0 and "Verification succeeded" in ok.stdout, ok.stderr
    (model / "extra.bin").write_bytes(b"x")
    bad = _upstream("verify", "certificate", "--signature", signature, *chain, model)
    assert bad.returncode != 0


def test_we_verify_a_signature_made_by_the_upstream_cli(tmp_path: Path, keys) -> None:
    model, signature = _model(tmp_path / "model"), tmp_path / "model.sig"
    made = _upstream("sign", "key", "--private_key", keys[0], "--signature", signature, model)
    assert made.returncode == 0, made.stderr
    # The upstream CLI ignores .git* paths by default and says so in the bundle: we accept
    # that only when the caller approves those unsigned paths explicitly.
    with pytest.raises(VerificationError, match="did not allow"):
        verify_model(model, signature, public_key_path=keys[1])
    git_paths = [".git", ".gitattributes", ".github", ".gitignore"]
    config = VerificationConfig().use_key(public_key_path=keys[1]).set_ignore_paths(git_paths)
    assert config.verify(model, signature) == sign_model(
        model, tmp_path / "ours.sig", private_key_path=keys[0]
    )
