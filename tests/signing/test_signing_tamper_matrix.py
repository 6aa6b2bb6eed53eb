"""The tamper matrix: every case blocks with a clear reason; a clean signed model passes.

Runs for the two methods that can sign offline (key, certificate). Sigstore verification meets
the same tampering on the upstream bundles in test_signing_interop.py.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from model_signing import signing as ms_signing

from kfp_mlsecops.errors import VerificationError
from kfp_mlsecops.signing import SigningConfig, VerificationConfig
from kfp_mlsecops.signing._contract import hashing_config


@dataclass(frozen=True)
class Signed:
    method: str
    model: Path
    signature: Path
    digest: str
    signing: SigningConfig
    verification: VerificationConfig
    pki: object
    keys: tuple[Path, Path]
    other_keys: tuple[Path, Path]
    other_pki: object


def _make_model(root: Path, flavour: bytes = b"") -> Path:
    (root / "1" / "variables").mkdir(parents=True)
    (root / "1" / "saved_model.pb").write_bytes(b"\x08\x01graph-bytes" * 4 + flavour)
    (root / "1" / "variables" / "variables.data-00000-of-00001").write_bytes(b"\x00weights" * 8)
    (root / "1" / "variables" / "variables.index").write_bytes(b"index")
    (root / "provenance.json").write_text('{"trained": true}\n')
    return root


@pytest.fixture
def signed(request, tmp_path: Path, keys, other_keys, pki, other_pki) -> Signed:
    """A model signed with the method given by indirect parametrization."""
    method = request.param
    if method == "key":
        signing = SigningConfig().use_key(private_key_path=keys[0])
        verification = VerificationConfig().use_key(public_key_path=keys[1])
    else:
        key, cert = pki.leaves["email"]
        signing = SigningConfig().use_certificate(
            private_key_path=key, certificate_path=cert, chain_paths=[pki.intermediate]
        )
        verification = VerificationConfig().use_certificate(
            chain_paths=pki.chain, identity=pki.email_identity
        )
    model = _make_model(tmp_path / "model")
    signature = tmp_path / "out" / "model.sig"
    digest = signing.sign(model, signature)
    return Signed(
        method, model, signature, digest, signing, verification, pki, keys, other_keys, other_pki
    )


@pytest.mark.parametrize("signed", ["key", "certificate"], indirect=True)
def test_clean_signed_model_passes(signed: Signed) -> None:
    assert signed.verification.verify(signed.model, signed.signature) == signed.digest
    pinned = signed.verification.set_expected_digest(signed.digest)
    assert pinned.verify(signed.model, signed.signature) == signed.digest


# Each case tampers with the signed model or its bundle and returns the config to verify with.
Case = Callable[[Signed], VerificationConfig]


def _flip_byte(s: Signed) -> VerificationConfig:
    path = s.model / "1" / "saved_model.pb"
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    return s.verification


def _add_file(s: Signed) -> VerificationConfig:
    (s.model / "1" / "extra.bin").write_bytes(b"payload")
    return s.verification


def _remove_file(s: Signed) -> VerificationConfig:
    (s.model / "1" / "variables" / "variables.index").unlink()
    return s.verification


def _rename_file(s: Signed) -> VerificationConfig:
    (s.model / "provenance.json").rename(s.model / "provenance2.json")
    return s.verification


def _other_signed_model(s: Signed) -> tuple[Path, Path]:
    other = _make_model(s.model.parent / "other-model", flavour=b"evil")
    other_sig = s.model.parent / "other.sig"
    s.signing.sign(other, other_sig)
    return other, other_sig


def _swap_model(s: Signed) -> VerificationConfig:
    other, _ = _other_signed_model(s)
    shutil.rmtree(s.model)
    shutil.copytree(other, s.model)
    return s.verification


def _swap_model_and_signature(s: Signed) -> VerificationConfig:
    other, other_sig = _other_signed_model(s)
    shutil.rmtree(s.model)
    shutil.copytree(other, s.model)
    shutil.copyfile(other_sig, s.signature)
    # The pair verifies on its own (it IS a validly signed model); pinning the digest the sign
    # step reported is what catches the swap.
    s.verification.verify(s.model, s.signature)
    return s.verification.set_expected_digest(s.digest)


def _add_git_dir(s: Signed) -> VerificationConfig:
    (s.model / ".git").mkdir()
    (s.model / ".git" / "x").write_bytes(b"hidden")
    return s.verification


def _add_gitattributes(s: Signed) -> VerificationConfig:
    (s.model / ".gitattributes").write_text("* filter=evil\n")
    return s.verification


def _add_symlink(s: Signed) -> VerificationConfig:
    os.symlink(s.model / "provenance.json", s.model / "link.json")
    return s.verification


def _edit_bundle(s: Signed, change: Callable[[dict], None]) -> None:
    bundle = json.loads(s.signature.read_text())
    change(bundle)
    s.signature.write_text(json.dumps(bundle))


def _edit_signature_bytes(s: Signed) -> VerificationConfig:
    def change(bundle: dict) -> None:
        sig = bytearray(base64.b64decode(bundle["dsseEnvelope"]["signatures"][0]["sig"]))
        sig[-1] ^= 0x01
        bundle["dsseEnvelope"]["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()

    _edit_bundle(s, change)
    return s.verification


def _edit_payload(s: Signed) -> VerificationConfig:
    def change(bundle: dict) -> None:
        statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        statement["predicate"]["resources"][0]["digest"] = "0" * 64
        payload = json.dumps(statement).encode()
        bundle["dsseEnvelope"]["payload"] = base64.b64encode(payload).decode()

    _edit_bundle(s, change)
    return s.verification


def _bundle_not_json(s: Signed) -> VerificationConfig:
    s.signature.write_text("this is not { json")
    return s.verification


def _bundle_empty(s: Signed) -> VerificationConfig:
    s.signature.write_bytes(b"")
    return s.verification


def _signature_missing(s: Signed) -> VerificationConfig:
    s.signature.unlink()
    return s.verification


def _wrong_public_key(s: Signed) -> VerificationConfig:
    return VerificationConfig().use_key(public_key_path=s.other_keys[1])


def _wrong_chain(s: Signed) -> VerificationConfig:
    return VerificationConfig().use_certificate(
        chain_paths=s.other_pki.chain, identity=s.pki.email_identity
    )


def _wrong_identity(s: Signed) -> VerificationConfig:
    return VerificationConfig().use_certificate(
        chain_paths=s.pki.chain, identity="someone-else@example.com"
    )


def _signed_upstream_with_leaf(s: Signed, leaf: str) -> VerificationConfig:
    """Sign with model-signing directly, bypassing our signing-time checks (as if the leaf had
    been valid when it signed, or another tool had signed)."""
    key, cert = s.pki.leaves[leaf]
    ms_signing.Config().use_certificate_signer(
        private_key=key, signing_certificate=cert, certificate_chain=[s.pki.intermediate]
    ).set_hashing_config(hashing_config()).sign(s.model, s.signature)
    return s.verification


def _expired_certificate(s: Signed) -> VerificationConfig:
    return _signed_upstream_with_leaf(s, "expired")


def _not_yet_valid_certificate(s: Signed) -> VerificationConfig:
    return _signed_upstream_with_leaf(s, "future")


def _tls_server_certificate(s: Signed) -> VerificationConfig:
    _signed_upstream_with_leaf(s, "server")
    return VerificationConfig().use_certificate(chain_paths=s.pki.chain, identity="example.com")


def _other_method_bundle(s: Signed) -> VerificationConfig:
    if s.method == "key":
        return VerificationConfig().use_certificate(
            chain_paths=s.pki.chain, identity=s.pki.email_identity
        )
    return VerificationConfig().use_key(public_key_path=s.keys[1])


BOTH = ("key", "certificate")
#: name -> (tamper, methods it applies to, expected reason in the message)
CASES: dict[str, tuple[Case, tuple[str, ...], str]] = {
    "one byte changed": (_flip_byte, BOTH, "files changed: 1/saved_model.pb"),
    "file added": (_add_file, BOTH, "files added: 1/extra.bin"),
    "file removed": (_remove_file, BOTH, "files removed: 1/variables/variables.index"),
    "file renamed": (
        _rename_file,
        BOTH,
        "files added: provenance2.json; files removed: provenance.json",
    ),
    "model swapped for another signed model": (
        _swap_model,
        BOTH,
        "files changed: 1/saved_model.pb",
    ),
    "model and signature swapped, digest pinned": (
        _swap_model_and_signature,
        BOTH,
        "not the expected",
    ),
    ".git/ added": (_add_git_dir, BOTH, "files added: .git/x"),
    ".gitattributes added": (_add_gitattributes, BOTH, "files added: .gitattributes"),
    "symlink added": (_add_symlink, BOTH, "'link.json' is a symlink"),
    "signature bytes edited": (_edit_signature_bytes, BOTH, "invalid signature"),
    "payload edited": (_edit_payload, BOTH, "invalid signature"),
    "bundle not JSON": (_bundle_not_json, BOTH, "signature is not JSON"),
    "bundle empty": (_bundle_empty, BOTH, "signature is not JSON"),
    "signature missing": (_signature_missing, BOTH, "does not exist (was the model signed?)"),
    "bundle of the other method": (_other_method_bundle, BOTH, "verify it with the"),
    "wrong public key": (_wrong_public_key, ("key",), "does not verify against public key"),
    "wrong certificate chain": (
        _wrong_chain,
        ("certificate",),
        "does not verify against certificate chain",
    ),
    "wrong identity": (
        _wrong_identity,
        ("certificate",),
        "identity 'someone-else@example.com' does not match the signer certificate",
    ),
    "expired certificate": (_expired_certificate, ("certificate",), "certificate that expired on"),
    "not-yet-valid certificate": (
        _not_yet_valid_certificate,
        ("certificate",),
        "certificate that is not valid before",
    ),
    "TLS server certificate": (_tls_server_certificate, ("certificate",), "codeSigning"),
}


MATRIX = [
    pytest.param(case, method, id=f"{method}: {case}")
    for case, (_, methods, _) in CASES.items()
    for method in methods
]


@pytest.mark.parametrize(("case", "signed"), MATRIX, indirect=["signed"])
def test_tampering_blocks_with_a_clear_reason(case: str, signed: Signed) -> None:
    tamper, _, reason = CASES[case]
    config = tamper(signed)
    with pytest.raises(VerificationError) as info:
        config.verify(signed.model, signed.signature)
    message = str(info.value)
    assert reason in message
    assert "\n" not in message
    assert message.startswith(f"model '{signed.model}'") and message.endswith("do not deploy")


def test_every_case_of_the_issue_is_in_the_matrix() -> None:
    required = {
        "one byte changed",
        "file added",
        "file removed",
        "file renamed",
        "model swapped for another signed model",
        ".git/ added",
        ".gitattributes added",
        "symlink added",
        "signature bytes edited",
        "payload edited",
        "bundle not JSON",
        "signature missing",
        "wrong public key",
        "wrong certificate chain",
        "wrong identity",
        "expired certificate",
    }
    assert required <= set(CASES)


def test_the_cn_only_leaf_verifies_by_its_subject_dn(tmp_path: Path, pki) -> None:
    key, cert = pki.leaves["cn"]
    model = _make_model(tmp_path / "m")
    signing = SigningConfig().use_certificate(
        private_key_path=key, certificate_path=cert, chain_paths=[pki.intermediate]
    )
    digest = signing.sign(model, tmp_path / "m.sig")
    config = VerificationConfig().use_certificate(chain_paths=pki.chain, identity=pki.cn_identity)
    assert config.verify(model, tmp_path / "m.sig") == digest
    # The root alone is enough as a trust anchor: the bundle carries the intermediate.
    only_root = replace(config, policy=replace(config.policy, chain_paths=(pki.root,)))
    assert only_root.verify(model, tmp_path / "m.sig") == digest
    with pytest.raises(VerificationError, match="it names 'CN=cn-only-signer'"):
        VerificationConfig().use_certificate(chain_paths=pki.chain, identity="CN=cn-only").verify(
            model, tmp_path / "m.sig"
        )


def test_identity_is_the_whole_subject_dn_in_either_order_or_a_san(tmp_path: Path, pki) -> None:
    key, cert = pki.leaves["email"]  # subject CN=model-signer,O=Example; SAN signer@example.com
    model = _make_model(tmp_path / "m")
    SigningConfig().use_certificate(
        private_key_path=key, certificate_path=cert, chain_paths=[pki.intermediate]
    ).sign(model, tmp_path / "m.sig")

    def verify(identity: str) -> str:
        config = VerificationConfig().use_certificate(chain_paths=pki.chain, identity=identity)
        return config.verify(model, tmp_path / "m.sig")

    digests = {
        verify(i)
        for i in ("signer@example.com", "CN=model-signer,O=Example", "O=Example,CN=model-signer")
    }
    assert len(digests) == 1
    for partial in ("CN=model-signer", "model-signer", "SIGNER@example.com", "example.com"):
        with pytest.raises(VerificationError, match="does not match the signer certificate"):
            verify(partial)
