"""The certificate-method pipeline end to end on kfp.local: approve, and block a wrong identity.

The pipeline is compiled for ``certificate`` (make_secure_training); the leaf, its CA chain and
the trusted chain are real X.509 files from the test PKI (tests/_pki.py), passed as the path
parameters that point into the mounted Secret / ConfigMap on a cluster.
"""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
import json

import pytest
from _leaks import assert_no_key_material

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.run_local import run_pipeline_locally
from kfp_mlsecops.errors import InvalidInputError

pytestmark = pytest.mark.slow

FAST = {"epochs": 3, "epsilons": [0.05, 0.1], "pgd_steps": 10}


def _certificate_arguments(pki, identity: str) -> dict:
    key, certificate = pki.leaves["email"]
    return {
        **FAST,
        "private_key_path": str(key),
        "certificate_path": str(certificate),
        "chain_paths": [str(p) for p in pki.chain],
        "public_key_path": "",
        "verify_chain_paths": [str(pki.root)],
        "signer_identity": identity,
    }


def test_certificate_pipeline_approves_the_expected_signer(pki, tmp_path):
    run = run_pipeline_locally(
        output_dir=tmp_path,
        arguments=_certificate_arguments(pki, pki.email_identity),
        signing_method=C.SIGNING_METHOD_CERTIFICATE,
    )
    assert run.succeeded, run.error
    keys = run.run_dir / "throwaway-keys"
    assert not (keys / C.SIGNING_KEY_FILE).exists()  # the model is signed with the certificate
    assert (keys / "approval-private-key.pem").is_file()  # the gate's own throwaway key
    assert run.decision is not None and run.decision[C.BLESSED] is True
    controls = {c["id"]: c for c in run.decision[C.CONTROLS]}
    assert "certificate chain" in controls["signature"]["detail"]
    assert controls["robustness_attestation"]["passed"] is True
    # the attestation is signed with the same certificate as the model
    bundle = json.loads(run.reports["robustness attestation"].read_text())
    assert "x509CertificateChain" in json.dumps(bundle["verificationMaterial"])
    assert "dsseEnvelope" in bundle
    assert sorted(run.run_dir.glob("pipeline-root/*/deploy/manifest"))
    # the leaf's private key is in no log and no artifact (only its path was passed)
    outputs = [p for p in (run.run_dir / "pipeline-root").rglob("*") if p.is_file()]
    key = pki.leaves["email"][0].read_text()
    assert assert_no_key_material(key, [run.log_path, *outputs]) > 20


def test_certificate_pipeline_blocks_another_identity(pki, tmp_path):
    run = run_pipeline_locally(
        output_dir=tmp_path,
        arguments=_certificate_arguments(pki, "someone-else@example.com"),
        signing_method=C.SIGNING_METHOD_CERTIFICATE,
    )
    assert run.blocked_by_gate
    assert "deploy" not in run.statuses
    failed = {
        c["id"]: c["detail"]
        for c in run.decision[C.CONTROLS]
        if not c["passed"] and not c["detail"].startswith("not re-derived")
    }
    # no verified digest: the controls that need one fail too (fail closed)
    assert set(failed) == {"signature", "evidence_binding", "robustness_attestation"}
    assert "someone-else@example.com" in failed["signature"]


def test_key_options_are_refused_for_other_methods(tmp_path, pki):
    key, _ = pki.leaves["email"]
    with pytest.raises(InvalidInputError, match="belong to the key method"):
        run_pipeline_locally(
            output_dir=tmp_path,
            arguments=FAST,
            private_key=key,
            public_key=key,
            signing_method=C.SIGNING_METHOD_CERTIFICATE,
        )
