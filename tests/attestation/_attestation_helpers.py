"""Helpers shared by the attestation tests (imported by a unique name; tests/ has no packages)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from _pki import Pki
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner

from kfp_mlsecops import constants as c
from kfp_mlsecops.signing import SigningConfig

#: Upstream model-transparency test vectors, laid beside the repo as ../shared (read-only).
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "model-transparency"


def results_doc(digest: str | None) -> dict[str, Any]:
    """A robustness results document shaped like run_attack_test's output."""
    doc: dict[str, Any] = {
        c.SCHEMA: c.ROBUSTNESS_SCHEMA,
        c.CLEAN_ACCURACY: 1.0,
        c.N_SAMPLES: 200,
        c.EPSILONS: [0.05, 0.1],
        "input_range": {"lower": 0.0, "upper": 1.0},
        c.ATTACKS: [
            {
                "attack": "pgd",
                "norm": "linf",
                "epsilon": 0.1,
                "robust_accuracy": 0.555,
                "params": {"steps": 10},
            }
        ],
        c.WORST_CASE: [{"epsilon": 0.1, "robust_accuracy": 0.52}],
        "invariants": [{"name": n, "description": n} for n in c.ROBUSTNESS_INVARIANTS],
        "wall_time_s": 1.234,
    }
    if digest is not None:
        doc[c.MODEL_DIGEST] = digest
    return doc


POLICY = {"min_clean_accuracy": 0.9, "min_robust_accuracy": 0.5, "robust_attack": "pgd"}
ATTACK_CONFIG = {"attacks": ["pgd"], "epsilons": [0.05, 0.1], "pgd_steps": 10, "seed": 0}
DATA_DIGEST = "sha256:" + "ab" * 32


def make_model(root: Path, content: bytes = b"weights") -> Path:
    (root / "1" / "variables").mkdir(parents=True)
    (root / "1" / "saved_model.pb").write_bytes(b"\x08\x01graph")
    (root / "1" / "variables" / "variables.data-00000-of-00001").write_bytes(content)
    (root / "provenance.json").write_text('{"trained": true}\n')
    return root


def sign_payload(
    payload: bytes, private_key: Path, payload_type: str = c.IN_TOTO_PAYLOAD_TYPE
) -> str:
    """Sign arbitrary payload bytes as a DSSE envelope with the key (for forged statements)."""
    key = serialization.load_pem_private_key(private_key.read_bytes(), None)
    envelope = Envelope(payload, payload_type, {})
    envelope.sign(CryptoSigner(key))  # type: ignore[arg-type]
    return json.dumps(envelope.to_dict())


def decode_statement(attestation: Path) -> dict[str, Any]:
    envelope = json.loads(attestation.read_text())
    return json.loads(base64.b64decode(envelope["payload"]))


# --- a test PKI (root CA -> intermediate CA -> leaves) and certificate-bundle forgery ---

EMAIL_IDENTITY = Pki.email_identity
CN_IDENTITY = Pki.cn_identity


def certificate_signing(pki: Pki, leaf: str = "email") -> SigningConfig:
    """The SigningConfig of the certificate method with one leaf of ``pki``."""
    key, cert = pki.leaves[leaf]
    return SigningConfig().use_certificate(
        private_key_path=key, certificate_path=cert, chain_paths=pki.chain
    )


def pae(payload: bytes, payload_type: str = c.IN_TOTO_PAYLOAD_TYPE) -> bytes:
    """DSSE pre-authentication encoding, written out here independently of the code under test."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def forge_certificate_bundle(
    payload: bytes, private_key: Path, certificates: list[Path], *, keyid: str = ""
) -> str:
    """A certificate-method bundle over ``payload``, signed with any key, carrying any certs."""
    key = serialization.load_pem_private_key(private_key.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    sig = key.sign(pae(payload), ec.ECDSA(hashes.SHA256()))
    ders = [
        x509.load_pem_x509_certificate(p.read_bytes()).public_bytes(serialization.Encoding.DER)
        for p in certificates
    ]
    return json.dumps(
        {
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "x509CertificateChain": {"certificates": [{"rawBytes": _b64(d)} for d in ders]},
                "tlogEntries": [],
            },
            "dsseEnvelope": {
                "payload": _b64(payload),
                "payloadType": c.IN_TOTO_PAYLOAD_TYPE,
                "signatures": [{"sig": _b64(sig), "keyid": keyid}],
            },
        }
    )


def bundle_payload(bundle_path: Path) -> bytes:
    """The signed payload bytes of a bundle file (Sigstore bundle JSON)."""
    return base64.b64decode(json.loads(bundle_path.read_text())["dsseEnvelope"]["payload"])


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
