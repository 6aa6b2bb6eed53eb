"""Turn KServe's own install manifests into the offline cluster's: no cert-manager, local image.

Input (stdin): ``kubectl kustomize <kserve module>/config/overlays/standalone/kserve``, i.e.
exactly what KServe's release is built from. Output: ``<out>/crds.yaml`` (the CustomResource
Definitions, applied first, server-side) and ``<out>/kserve.yaml`` (everything else), changed
only where the offline cluster needs it:

- cert-manager's ``Certificate`` and ``Issuer`` are dropped; a CA and a serving certificate
  for ``kserve-webhook-server-service.kserve.svc`` made here go into the
  ``kserve-webhook-server-cert`` Secret and every webhook's ``caBundle`` (CA kept in
  ``<out>/ca``, so a re-install keeps the same certificates);
- the manager runs the locally built image (``--image``, never pulled) without the
  kube-rbac-proxy sidecar (its image cannot be pulled; metrics stay on 127.0.0.1 in the pod)
  and without a CPU limit (100m made the webhooks time out on a loaded 2-core machine);
- ``inferenceservice-config``: RawDeployment ("Standard", its name since KServe 0.16) is the
  default mode and no Ingress is created (there is no ingress controller).

Run with the repo's venv (PyYAML, cryptography): ``python kserve_manifests.py --image REF
--out DIR < kserve-upstream.yaml``.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NAMESPACE = "kserve"
SERVICE = "kserve-webhook-server-service"
SECRET = "kserve-webhook-server-cert"
MANAGER = "kserve-controller-manager"
DROPPED_KINDS = {"Certificate", "Issuer"}
DEPLOYMENT_MODE = "Standard"


def main(argv: list[str] | None = None) -> int:
    """Read upstream YAML on stdin, write crds.yaml and kserve.yaml under --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", required=True, help="the locally built manager image")
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    args = parser.parse_args(argv)
    documents = [d for d in yaml.safe_load_all(sys.stdin) if d]
    args.out.mkdir(parents=True, exist_ok=True)
    ca_pem, cert_pem, key_pem = _certificates(args.out / "ca")
    crds, others = [], []
    for document in documents:
        kind = document.get("kind")
        if kind in DROPPED_KINDS:
            continue
        _drop_cert_manager_annotation(document)
        if kind == "CustomResourceDefinition":
            conversion = document.get("spec", {}).get("conversion", {})
            if conversion.get("strategy") == "Webhook":
                conversion["webhook"]["clientConfig"]["caBundle"] = _b64(ca_pem)
            crds.append(document)
            continue
        if kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            for webhook in document.get("webhooks", []):
                webhook["clientConfig"]["caBundle"] = _b64(ca_pem)
        elif kind == "Deployment" and document["metadata"]["name"] == MANAGER:
            _patch_manager(document, args.image)
        elif kind == "ConfigMap" and document["metadata"]["name"] == "inferenceservice-config":
            _patch_config(document)
        others.append(document)
    others.append(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/tls",
            "metadata": {"name": SECRET, "namespace": NAMESPACE},
            "data": {"tls.crt": _b64(cert_pem), "tls.key": _b64(key_pem), "ca.crt": _b64(ca_pem)},
        }
    )
    (args.out / "crds.yaml").write_text(yaml.safe_dump_all(crds, sort_keys=False))
    (args.out / "kserve.yaml").write_text(yaml.safe_dump_all(others, sort_keys=False))
    return 0


def _patch_manager(deployment: dict[str, Any], image: str) -> None:
    spec = deployment["spec"]["template"]["spec"]
    spec["containers"] = [c for c in spec["containers"] if c["name"] == "manager"]
    (manager,) = spec["containers"]
    manager["image"] = image
    manager["imagePullPolicy"] = "Never"
    manager.get("resources", {}).get("limits", {}).pop("cpu", None)


def _patch_config(config_map: dict[str, Any]) -> None:
    data = config_map["data"]
    deploy = json.loads(data["deploy"])
    deploy["defaultDeploymentMode"] = DEPLOYMENT_MODE
    data["deploy"] = json.dumps(deploy, indent=2)
    ingress = json.loads(data["ingress"])
    ingress["disableIngressCreation"] = True
    data["ingress"] = json.dumps(ingress, indent=2)


def _drop_cert_manager_annotation(document: dict[str, Any]) -> None:
    annotations = document.get("metadata", {}).get("annotations") or {}
    annotations.pop("cert-manager.io/inject-ca-from", None)


def _certificates(folder: Path) -> tuple[bytes, bytes, bytes]:
    """Return (CA cert, serving cert, serving key) PEMs, made once and kept in ``folder``."""
    files = [folder / name for name in ("ca.crt", "tls.crt", "tls.key")]
    if all(f.exists() for f in files):
        ca, cert, key = (f.read_bytes() for f in files)
        return ca, cert, key
    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kfp-mlsecops kind KServe CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    dns = [SERVICE, f"{SERVICE}.{NAMESPACE}", f"{SERVICE}.{NAMESPACE}.svc"]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[-1])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    pems = (
        ca_cert.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    for path, pem in zip(files, pems, strict=True):
        path.write_bytes(pem)
    files[2].chmod(0o600)
    return pems


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


if __name__ == "__main__":
    sys.exit(main())
