"""Signed robustness attestations: an in-toto Statement binding attack results to a model.

After attack_test, :func:`create_attestation` signs a Statement v1 whose subject is the model
(our model digest) and whose predicate (type ``constants.ATTESTATION_PREDICATE_TYPE``) holds the
robustness results, the gate policy, the dataset digest, the attack configuration and library
versions. It is signed with the same method and material as the model: pass the model's
:class:`~kfp_mlsecops.signing.SigningConfig` (``key``, ``certificate`` or ``sigstore``), or
``private_key_path`` as the key shortcut. The gate and deploy call :func:`verify_attestation`
with the model's :class:`~kfp_mlsecops.signing.VerificationConfig` (or ``public_key_path``):
signature and signer under the model's trust policy, subject == the verified model digest; then
:func:`check_attested_numbers` (the gated numbers are the attested ones).

The signed document is the signing method's (``kfp_mlsecops.signing``, through
``SigningConfig.envelope_signer`` / ``VerificationConfig.envelope_verifier``): ``key`` writes a
bare DSSE envelope; ``certificate`` a Sigstore bundle v0.3 whose ``x509CertificateChain`` holds
the leaf and chain (model-signing's shape, no log entry); ``sigstore`` the bundle sigstore-python
makes (Fulcio certificate, Rekor entry), which needs the network to sign (not run here) and is
verified offline against a trust config.

Libraries (not hand-rolled): the Statement is built and schema-checked with
``in-toto-attestation`` (the in-toto project's reference bindings, also used by model-signing);
canonical JSON from ``rfc8785``. The signing methods use ``securesystemslib`` (DSSE envelope,
PAE, ECDSA), ``sigstore_models`` (bundle schemas), pyOpenSSL (certificate path validation) and
sigstore-python (``sign_dsse`` / ``verify_dsse``).

:func:`sign_statement` / :func:`verify_statement` sign and verify any other Statement about a
model the same way (the gate's approval uses them).
"""

from __future__ import annotations

from kfp_mlsecops.attestation.create import create_attestation
from kfp_mlsecops.attestation.predicate import AttestationPredicate
from kfp_mlsecops.attestation.statement import sign_statement, verify_statement
from kfp_mlsecops.attestation.verify import check_attested_numbers, verify_attestation

__all__ = [
    "AttestationPredicate",
    "check_attested_numbers",
    "create_attestation",
    "sign_statement",
    "verify_attestation",
    "verify_statement",
]
