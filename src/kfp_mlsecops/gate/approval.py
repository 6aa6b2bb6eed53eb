"""The gate's signed approval: the one statement that lets a model be deployed and served.

An approval is an in-toto Statement (predicate type ``constants.APPROVAL_PREDICATE_TYPE``) whose
subject is the approved model digest and whose predicate records what was approved and on what
evidence: the effective policy the gate applied, the policy floor it came from (name,
environment, version, digest), the digests of the evidence files (results, robustness
attestation, model signature) and of the evaluation data, the numbers the gate acted on, the
re-derivation record and the controls that passed. The gate signs it with its OWN key or
identity (never the model-signing key, see :func:`check_separate_keys`), so a valid model
signature alone never deploys or serves anything.

:class:`Approval` is the one typed reader/writer of the predicate; :func:`sign_approval` and
:func:`verify_approval` sign and verify it with any signing method.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops._fields import DIGEST_RE as _DIGEST
from kfp_mlsecops._io import is_number
from kfp_mlsecops.attestation import sign_statement, verify_statement
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.policy import Policy
from kfp_mlsecops.signing import SigningConfig, VerificationConfig

__all__ = [
    "EVIDENCE_KEYS",
    "Approval",
    "FloorRef",
    "check_separate_keys",
    "sign_approval",
    "verify_approval",
]

#: Evidence the approval names by digest: evidence files (sha256 of their bytes) and the data.
EVIDENCE_KEYS = ("results", "attestation", "signature", "test_data")
_KEYS = ("decision", "policy", "floor", "evidence", "measured", "rederivation", "controls")
_MEASURED = ("clean_accuracy", "robust_accuracy")


@dataclass(frozen=True)
class FloorRef:
    """Which policy floor an approval was made under (its digest pins the exact content)."""

    name: str
    environment: str
    version: int
    digest: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        """Return the floor reference as a JSON-ready dict."""
        return {
            "name": self.name,
            "environment": self.environment,
            "version": self.version,
            "digest": self.digest,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, obj: object) -> FloorRef:
        """Read a floor reference strictly; ValueError names the bad field."""
        doc = _object(obj, "floor", ("name", "environment", "version", "digest", "source"))
        version = doc["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError(f"floor.version={version!r} must be an integer >= 1")
        return cls(
            name=_text(doc["name"], "floor.name"),
            environment=_text(doc["environment"], "floor.environment"),
            version=version,
            digest=_digest(doc["digest"], "floor.digest"),
            source=_text(doc["source"], "floor.source"),
        )


@dataclass(frozen=True)
class Approval:
    """What the gate approved (the predicate of the signed approval), plus its subject.

    ``measured`` holds the numbers the gate acted on (clean accuracy re-derived on the full test
    split, robust accuracy after removing every claim the gate disproved); ``rederivation`` is
    the gate's re-derivation record (JSON object); ``controls`` the ids of the passed controls.
    """

    model_digest: str
    policy: Policy
    floor: FloorRef
    evidence: Mapping[str, str]
    measured: Mapping[str, float]
    controls: tuple[str, ...]
    rederivation: Mapping[str, Any] = field(default_factory=dict)
    model_name: str = "model"

    def __post_init__(self) -> None:
        """Refuse an approval that could not be read back (InvalidInputError)."""
        try:
            _digest(self.model_digest, "model digest")
            _parse(self.predicate())
        except ValueError as e:
            raise InvalidInputError(f"approval: {e}") from e

    def predicate(self) -> dict[str, Any]:
        """Return the predicate object (JSON-ready)."""
        return {
            "decision": C.DECISION_APPROVED,
            "policy": self.policy.to_dict(),
            "floor": self.floor.to_dict(),
            "evidence": dict(self.evidence),
            "measured": dict(self.measured),
            "rederivation": dict(self.rederivation),
            "controls": list(self.controls),
        }

    @classmethod
    def from_predicate(
        cls, obj: object, *, model_digest: str, model_name: str = "model"
    ) -> Approval:
        """Read a predicate strictly (ValueError names the bad field)."""
        return cls(
            model_digest=_digest(model_digest, "model digest"),
            model_name=model_name,
            **_parse(obj),
        )


def _parse(obj: object) -> dict[str, Any]:
    """Return the Approval fields of a predicate, checked strictly (ValueError names the field)."""
    doc = _object(obj, "predicate", _KEYS)
    if doc["decision"] != C.DECISION_APPROVED:
        raise ValueError(f"decision is {doc['decision']!r}, not {C.DECISION_APPROVED!r}")
    policy_doc = doc["policy"]
    if not isinstance(policy_doc, dict):
        raise ValueError("policy is not an object")
    try:
        policy = Policy(**policy_doc)
    except (TypeError, InvalidInputError) as e:
        raise ValueError(f"policy is invalid ({' '.join(str(e).split())[:200]})") from e
    evidence = _object(doc["evidence"], "evidence", EVIDENCE_KEYS)
    for key in EVIDENCE_KEYS:
        _digest(evidence[key], f"evidence.{key}")
    measured = _object(doc["measured"], "measured", _MEASURED)
    for key in _MEASURED:
        value = measured[key]
        if not is_number(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"measured.{key}={value!r} must be a number in [0, 1]")
    controls = doc["controls"]
    if (
        not isinstance(controls, list)
        or not controls
        or not all(isinstance(c, str) and c for c in controls)
        or len(set(controls)) != len(controls)
    ):
        raise ValueError("controls must be a non-empty list of distinct control ids")
    missing = [cid for cid in C.REQUIRED_CONTROLS if cid not in controls]
    if missing:
        raise ValueError(f"required controls are missing: {', '.join(missing)}")
    if not isinstance(doc["rederivation"], dict):
        raise ValueError("rederivation is not an object")
    return {
        "policy": policy,
        "floor": FloorRef.from_dict(doc["floor"]),
        "evidence": {k: evidence[k] for k in EVIDENCE_KEYS},
        "measured": {k: float(measured[k]) for k in _MEASURED},
        "controls": tuple(controls),
        "rederivation": doc["rederivation"],
    }


def sign_approval(
    approval: Approval, *, signing: SigningConfig, out_path: str | os.PathLike[str]
) -> None:
    """Sign ``approval`` with the gate's own ``signing`` config and write it to ``out_path``."""
    sign_statement(
        model_name=approval.model_name,
        model_digest=approval.model_digest,
        predicate_type=C.APPROVAL_PREDICATE_TYPE,
        predicate=approval.predicate(),
        signing=signing,
        out_path=out_path,
        what="approval",
    )


def verify_approval(
    path: str | os.PathLike[str],
    *,
    verification: VerificationConfig,
    expected_model_digest: str,
) -> Approval:
    """Verify the signed approval at ``path`` for exactly ``expected_model_digest``.

    ``verification`` trusts the GATE's key or identity (not the model signer's). Raises a
    one-line VerificationError ending in "do not deploy" on any failure: missing or unreadable
    file, bad signature, untrusted signer, another model, another predicate type, a predicate
    that is not a complete approval.
    """
    name, predicate = verify_statement(
        path=path,
        verification=verification,
        predicate_type=C.APPROVAL_PREDICATE_TYPE,
        expected_model_digest=expected_model_digest,
        what="approval",
    )
    try:
        return Approval.from_predicate(
            predicate, model_digest=expected_model_digest, model_name=name
        )
    except (ValueError, InvalidInputError) as e:
        raise VerificationError(
            f"approval '{path}' is not a complete approval ({' '.join(str(e).split())[:300]}); "
            "do not deploy"
        ) from e


def check_separate_keys(approval_public_key: bytes | None, model_public_key: bytes | None) -> None:
    """Refuse (InvalidInputError) when the approval key IS the model-signing key.

    Both are PEM public keys (None when that side is not a key, e.g. a certificate identity);
    the approval must come from a different key, so a compromised signing step cannot also
    approve what it signed.
    """
    if approval_public_key is None or model_public_key is None:
        return
    from cryptography.hazmat.primitives import serialization

    def der(pem: bytes) -> bytes:
        key = serialization.load_pem_public_key(pem)
        return key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    try:
        same = der(approval_public_key) == der(model_public_key)
    except (ValueError, TypeError) as e:
        raise InvalidInputError(f"approval key check: a key is not a PEM public key ({e})") from e
    if same:
        raise InvalidInputError(
            "the approval key is the model-signing key; give the gate its own key pair "
            "(separation of duties: a signature alone must never deploy)"
        )


def _object(obj: object, what: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ValueError(f"{what} is not a JSON object")
    if set(obj) != set(keys):
        missing = sorted(set(keys) - set(obj))
        extra = sorted(set(obj) - set(keys))
        raise ValueError(f"{what} fields differ (missing {missing}, unknown {extra})")
    return obj


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}={value!r} must be a non-empty string")
    return value


def _digest(value: object, what: str) -> str:
    if not isinstance(value, str) or not _DIGEST.fullmatch(value):
        raise ValueError(f"{what}={value!r:.80} is not sha256:<64 hex>")
    return value
