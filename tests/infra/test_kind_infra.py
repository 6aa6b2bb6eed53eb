"""tests/infra/kind without a cluster: the scripts pass shellcheck, the docker wrapper rewrites
exactly kind's privileged flags, and the KServe manifest rewrite keeps upstream but for the
offline changes. The cluster itself is exercised by tests/cluster (make test-cluster).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cryptography import x509

REPO = Path(__file__).resolve().parents[2]
KIND = REPO / "tests" / "infra" / "kind"
SCRIPTS = [
    KIND / "lib.sh",
    KIND / "build-binaries.sh",
    KIND / "build-node.sh",
    KIND / "build-kserve.sh",
    KIND / "kind-up.sh",
    KIND / "kind-down.sh",
    KIND / "docker-wrapper" / "docker",
    KIND / "node" / "pre-entrypoint",
    KIND / "node" / "kubeadm",
]


@pytest.mark.slow
def test_scripts_parse_and_pass_shellcheck():
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck missing: `make test-deps` installs it (apt: shellcheck)"
    for script in SCRIPTS:
        shell = "sh" if script.parent.name == "node" else "bash"
        assert subprocess.run([shell, "-n", str(script)]).returncode == 0, script
    out = subprocess.run(
        [shellcheck, "-x", *map(str, SCRIPTS)], cwd=KIND, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout


@pytest.fixture
def wrapped(tmp_path: Path):
    """Run the docker wrapper with a fake `docker` after it on PATH that prints its argv."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    (fake / "docker").chmod(0o755)
    path = f"{KIND / 'docker-wrapper'}:{fake}:{os.environ['PATH']}"

    def run(*args: str) -> list[str]:
        done = subprocess.run(
            ["docker", *args], env={**os.environ, "PATH": path}, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    return run


def test_wrapper_replaces_privileged_for_run(wrapped):
    argv = wrapped("run", "--privileged", "--volume", "/var", "--hostname", "n", "img")
    assert "--privileged" not in argv
    assert argv[:3] == ["run", "--cap-add", "ALL"]
    assert ["--cap-drop", "SYS_RESOURCE"] == argv[3:5]
    assert "systempaths=unconfined" in argv and "/dev/kmsg" in argv
    assert argv[-5:] == ["--volume", "/var", "--hostname", "n", "img"]


def test_wrapper_handles_lib_modules_and_exec(wrapped):
    argv = wrapped("create", "--volume", "/lib/modules:/lib/modules:ro", "img")
    if Path("/lib/modules").is_dir():
        assert argv == ["create", "--volume", "/lib/modules:/lib/modules:ro", "img"]
    else:
        assert argv == ["create", "img"]
    assert wrapped("exec", "--privileged", "-i", "node", "ctr") == ["exec", "-i", "node", "ctr"]
    assert wrapped("ps", "--privileged") == ["ps", "--privileged"]


UPSTREAM = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kserve"}},
    {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": "inferenceservices.serving.kserve.io",
            "annotations": {"cert-manager.io/inject-ca-from": "kserve/serving-cert"},
        },
        "spec": {"group": "serving.kserve.io"},
    },
    {"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "c"}},
    {"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": {"name": "i"}},
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "inferenceservice-config", "namespace": "kserve"},
        "data": {
            "deploy": '{"defaultDeploymentMode": "Serverless"}',
            "ingress": '{"ingressDomain": "example.com", "disableIngressCreation": false}',
        },
    },
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "kserve-controller-manager", "namespace": "kserve"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "manager",
                            "image": "kserve/kserve-controller:latest",
                            "resources": {"limits": {"cpu": "100m", "memory": "300Mi"}},
                        },
                        {"name": "kube-rbac-proxy", "image": "quay.io/brancz/kube-rbac-proxy"},
                    ]
                }
            }
        },
    },
    {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {
            "name": "inferenceservice.serving.kserve.io",
            "annotations": {"cert-manager.io/inject-ca-from": "kserve/serving-cert"},
        },
        "webhooks": [{"name": "v", "clientConfig": {"service": {"name": "s"}}}],
    },
]


def test_kserve_manifests_change_only_what_the_offline_cluster_needs(tmp_path: Path):
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            str(KIND / "kserve_manifests.py"),
            "--image",
            "local:1",
            "--out",
            str(out),
        ],
        input=yaml.safe_dump_all(UPSTREAM),
        text=True,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    crds = list(yaml.safe_load_all((out / "crds.yaml").read_text()))
    rest = {d["kind"]: d for d in yaml.safe_load_all((out / "kserve.yaml").read_text())}
    assert [c["metadata"]["name"] for c in crds] == ["inferenceservices.serving.kserve.io"]
    assert "Certificate" not in rest and "Issuer" not in rest
    assert "cert-manager.io/inject-ca-from" not in json.dumps([crds, rest])
    (manager,) = rest["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert (manager["image"], manager["imagePullPolicy"]) == ("local:1", "Never")
    assert manager["resources"]["limits"] == {"memory": "300Mi"}
    data = rest["ConfigMap"]["data"]
    assert json.loads(data["deploy"]) == {"defaultDeploymentMode": "Standard"}
    assert json.loads(data["ingress"]) == {
        "ingressDomain": "example.com",
        "disableIngressCreation": True,
    }
    # the webhook trusts the CA that issued the Secret's serving certificate
    (webhook,) = rest["ValidatingWebhookConfiguration"]["webhooks"]
    ca = x509.load_pem_x509_certificate(base64.b64decode(webhook["clientConfig"]["caBundle"]))
    secret = rest["Secret"]
    assert secret["metadata"] == {"name": "kserve-webhook-server-cert", "namespace": "kserve"}
    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    leaf.verify_directly_issued_by(ca)
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kserve-webhook-server-service.kserve.svc" in names.get_values_for_type(x509.DNSName)
    # a second run keeps the certificates (re-installs do not break running webhooks)
    first = (out / "ca" / "ca.crt").read_bytes()
    subprocess.run(
        [sys.executable, str(KIND / "kserve_manifests.py"), "--image", "l:1", "--out", str(out)],
        input=yaml.safe_dump_all(UPSTREAM),
        text=True,
        check=True,
    )
    assert (out / "ca" / "ca.crt").read_bytes() == first
