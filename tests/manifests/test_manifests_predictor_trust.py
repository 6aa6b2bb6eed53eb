"""The verified predictor's InferenceService per signing method: mounts, serve args, refusals."""

from __future__ import annotations

import argparse

import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli.serve_command import add_serve_parser
from kfp_mlsecops.deploy import PredictorTrust, predictor_args, render_verified_predictor_isvc
from kfp_mlsecops.errors import InvalidInputError

DIGEST = "sha256:" + "ab" * 32
IDENTITY = "CN=model-signer,O=Example"
EMAIL = "signer@example.com"
ISSUER = "https://accounts.example.com"


def _render(trust: PredictorTrust, **kwargs) -> dict:
    return render_verified_predictor_isvc(
        name="digits",
        namespace="models",
        storage_uri="s3://bucket/model",
        model_digest=DIGEST,
        signature_configmap="digits-evidence",
        trust=trust,
        **kwargs,
    )


def _serve_args(container: dict) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *container["args"]])


def _mounted(isvc: dict) -> dict[str, tuple[str, str]]:
    """Mount path -> (volume name, ConfigMap name) of the ConfigMap volumes."""
    predictor = isvc["spec"]["predictor"]
    volumes = {v["name"]: v for v in predictor["volumes"]}
    (container,) = predictor["containers"]
    out = {}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            assert mount["readOnly"] is True
            out[mount["mountPath"]] = (mount["name"], volume["configMap"]["name"])
    return out


@pytest.mark.parametrize(
    ("trust", "configmap", "expected"),
    [
        (
            PredictorTrust(),
            "mlsecops-verify-key",
            {"method": "key", "public_key": f"{C.VERIFY_KEY_MOUNT}/{C.VERIFY_KEY_FILE}"},
        ),
        (
            PredictorTrust(method="certificate", identity=IDENTITY),
            "mlsecops-verify-chain",
            {
                "method": "certificate",
                "chain": [f"{C.VERIFY_KEY_MOUNT}/{C.VERIFY_CHAIN_FILE}"],
                "identity": IDENTITY,
            },
        ),
        (
            PredictorTrust(
                method="certificate",
                identity=EMAIL,
                configmap="team-ca",
                chain_files=("intermediate.pem", "root.pem"),
            ),
            "team-ca",
            {
                "method": "certificate",
                "chain": [
                    f"{C.VERIFY_KEY_MOUNT}/intermediate.pem",
                    f"{C.VERIFY_KEY_MOUNT}/root.pem",
                ],
                "identity": EMAIL,
            },
        ),
        (
            PredictorTrust(method="sigstore", identity=EMAIL, issuer=ISSUER),
            "mlsecops-sigstore-trust",
            {
                "method": "sigstore",
                "trust_config": f"{C.VERIFY_KEY_MOUNT}/{C.VERIFY_TRUST_CONFIG_FILE}",
                "identity": EMAIL,
                "issuer": ISSUER,
            },
        ),
    ],
)
def test_each_method_mounts_its_configmap_and_passes_the_matching_serve_options(
    trust, configmap, expected
):
    isvc = _render(trust)
    (container,) = isvc["spec"]["predictor"]["containers"]
    mounts = _mounted(isvc)
    assert mounts == {
        C.SIGNATURE_MOUNT: ("model-signature", "digits-evidence"),
        C.VERIFY_KEY_MOUNT: (trust.volume_name, configmap),
        C.APPROVAL_VERIFY_MOUNT: ("approval-verify", C.APPROVAL_VERIFY_CONFIGMAP),
        "/etc/mlsecops/policy": ("policy", "mlsecops-policy"),
    }
    args = _serve_args(container)
    got = {
        "method": args.method,
        "public_key": None if args.public_key is None else str(args.public_key),
        "chain": [str(p) for p in args.chain],
        "trust_config": None if args.trust_config is None else str(args.trust_config),
        "identity": args.identity,
        "issuer": args.issuer,
    }
    unused = {"public_key": None, "chain": [], "trust_config": None, "identity": None}
    assert got == {**unused, "issuer": None, **expected}
    assert str(args.attestation) == f"{C.SIGNATURE_MOUNT}/{C.ATTESTATION_FILE}"
    assert str(args.approval) == f"{C.SIGNATURE_MOUNT}/{C.APPROVAL_FILE}"
    # the approval is always verified with the gate's key, whatever the model-signing method
    assert str(args.approval_public_key) == f"{C.APPROVAL_VERIFY_MOUNT}/{C.APPROVAL_VERIFY_FILE}"
    assert args.expected_digest == DIGEST
    # every verification file the args name lies in the mounted ConfigMap
    named = [p for p in (args.public_key, args.trust_config, *args.chain) if p is not None]
    assert named and all(str(p.parent) == C.VERIFY_KEY_MOUNT for p in named)


def test_from_method_takes_flat_parameters_with_empty_strings_as_not_given():
    assert PredictorTrust.from_method("key", configmap="", identity="", issuer="") == (
        PredictorTrust()
    )
    trust = PredictorTrust.from_method("sigstore", identity=EMAIL, issuer=ISSUER, configmap="")
    assert (trust.configmap, trust.identity, trust.issuer) == (
        "mlsecops-sigstore-trust",
        EMAIL,
        ISSUER,
    )
    assert predictor_args(name="m", trust=trust)[4:6] == ["--method", "sigstore"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"method": "pgp"}, "method 'pgp' is unknown"),
        ({"method": "key", "configmap": "Bad_Name"}, "not a valid ConfigMap name"),
        ({"method": "key", "identity": EMAIL}, "takes no identity"),
        ({"method": "key", "issuer": ISSUER}, "takes no issuer"),
        ({"method": "key", "chain_files": ("ca.pem",)}, "takes no chain_files"),
        ({"method": "certificate"}, "needs the signer identity"),
        ({"method": "certificate", "identity": " padded"}, "one printable line"),
        ({"method": "certificate", "identity": "a\nb"}, "one printable line"),
        ({"method": "certificate", "identity": "--port"}, "leading '-'"),
        ({"method": "certificate", "identity": EMAIL, "issuer": ISSUER}, "takes no issuer"),
        ({"method": "certificate", "identity": EMAIL, "chain_files": ("../x",)}, "ConfigMap key"),
        ({"method": "certificate", "identity": EMAIL, "chain_files": "ca.pem"}, "not a string"),
        ({"method": "certificate", "identity": EMAIL, "chain_files": ("a", "a")}, "repeat"),
        ({"method": "sigstore", "identity": EMAIL}, "needs the OIDC issuer"),
        ({"method": "sigstore", "identity": EMAIL, "issuer": "accounts.google.com"}, "issuer URL"),
        ({"method": "sigstore", "issuer": ISSUER}, "needs the signer identity"),
    ],
)
def test_bad_trust_settings_are_refused_with_one_line(kwargs, fragment):
    with pytest.raises(InvalidInputError, match=fragment) as info:
        PredictorTrust(**kwargs)
    assert "\n" not in str(info.value)


def test_render_needs_a_predictor_trust():
    with pytest.raises(InvalidInputError, match="PredictorTrust"):
        _render({"method": "key"})  # type: ignore[arg-type]
