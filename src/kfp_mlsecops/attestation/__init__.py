"""Signed robustness attestations: an in-toto Statement binding attack results to a model.

After attack_test, :func:`create_attestation` signs a Statement v1 whose subject is the model
(our model digest) and whose predicate (type ``constants.ATTESTATION_PREDICATE_TYPE``) holds the
robustness results, the gate policy, the dataset digest, the attack configuration and library
versions, in a DSSE envelope signed with the model's own key. The gate and deploy call
:func:`verify_attestation` (signature, subject == the verified model digest) and
:func:`check_attested_numbers` (the gated numbers are the attested ones).

Libraries (not hand-rolled): the Statement is built and schema-checked with
``in-toto-attestation`` (the in-toto project's reference bindings, already used by
model-signing for its own statements); the DSSE envelope, PAE and ECDSA signing/verification come
from ``securesystemslib`` (the DSSE authors' library; ``dsse.Envelope``, ``CryptoSigner``,
``SSlibKey``); canonical JSON from ``rfc8785``. sigstore-python's ``sigstore.dsse`` signs and
verifies only through private helpers (``_sign``/``_verify``) or keyless Sigstore, so it is kept
for the future ``sigstore`` method, where its public ``sign_dsse`` / ``verify_dsse`` fit.
"""

from __future__ import annotations

from kfp_mlsecops.attestation.create import create_attestation
from kfp_mlsecops.attestation.predicate import AttestationPredicate
from kfp_mlsecops.attestation.verify import check_attested_numbers, verify_attestation

__all__ = [
    "AttestationPredicate",
    "check_attested_numbers",
    "create_attestation",
    "verify_attestation",
]
