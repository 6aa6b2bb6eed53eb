"""Signing methods and the in-toto/DSSE attestations (robustness evidence, gate approval).

Every method (the built-ins and any registered later) lives in ``kfp_mlsecops.signing.registry``;
``constants.SIGNING_METHODS`` and ``constants.VERIFY_CONFIGMAPS`` are derived from it.
"""

from __future__ import annotations

__all__ = [
    "APPROVAL_PREDICATE_TYPE",
    "ATTESTATION_DIGEST_ANNOTATION",
    "ATTESTATION_PREDICATE_TYPE",
    "IN_TOTO_PAYLOAD_TYPE",
    "IN_TOTO_STATEMENT_TYPE",
    "MODEL_DIGEST_DEFINITION",
    "SIGNING_METHOD_CERTIFICATE",
    "SIGNING_METHOD_KEY",
    "SIGNING_METHOD_SIGSTORE",
]

#: The built-in methods' names. Every method (these and any registered later), its options and
#: its cluster wiring live in ``kfp_mlsecops.signing.registry``.
SIGNING_METHOD_KEY = "key"
SIGNING_METHOD_CERTIFICATE = "certificate"
SIGNING_METHOD_SIGSTORE = "sigstore"


#: predicateType of the signed in-toto Statement binding robustness evidence to a model digest.
ATTESTATION_PREDICATE_TYPE = "https://kfp-mlsecops.dev/robustness/v1"
#: predicateType of the gate's signed approval (kfp_mlsecops.gate.approval): the only thing that
#: lets deploy and the verified predictor act on a model.
APPROVAL_PREDICATE_TYPE = "https://kfp-mlsecops.dev/approval/v1"
#: The in-toto Statement type and the DSSE payloadType of every attestation we write.
IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
#: Subject annotation naming how the subject's sha256 was computed (our model digest, not a file).
ATTESTATION_DIGEST_ANNOTATION = "kfp-mlsecops/digest-definition"
MODEL_DIGEST_DEFINITION = "kfp-mlsecops/model-digest/v1"
