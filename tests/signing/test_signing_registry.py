"""A signing method is one module behind a registry: a fourth one is picked up everywhere.

The method below stands for a new module (a key-like method named ``key2`` with its own backend
classes, Secret, ConfigMap and file names); registering it is the only other step. Nothing else
is changed, yet from_method, model signing, the attestation and approval Statements, the CLI,
the compiled pipeline and the verified predictor all accept it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfp_mlsecops import constants as C
from kfp_mlsecops.attestation import (
    create_attestation,
    sign_statement,
    verify_attestation,
    verify_statement,
)
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.signing import SigningConfig, VerificationConfig, model_digest, registry
from kfp_mlsecops.signing._key import METHOD as KEY
from kfp_mlsecops.signing._key import KeyPolicy, KeySigner
from kfp_mlsecops.signing.method import (
    SIGNING_OPTIONS,
    VERIFICATION_OPTIONS,
    ClusterWiring,
    SigningMethod,
)

NAME = "key2"


# --- the new method's module ---------------------------------------------------------------------


class Key2Signer(KeySigner):
    """A backend type names its method, so the new method has its own (same behaviour)."""


class Key2Policy(KeyPolicy):
    """As above, for verification."""


def _signer_from(options: Mapping[str, Any]) -> Key2Signer:
    if options["private_key_path"] is None:
        raise InvalidInputError(f"signing method {NAME!r} needs private_key_path; pass it")
    return Key2Signer.create(
        private_key_path=options["private_key_path"], password_path=options["password_path"]
    )


def _policy_from(options: Mapping[str, Any]) -> Key2Policy:
    if options["public_key_path"] is None:
        raise InvalidInputError(f"verification method {NAME!r} needs public_key_path")
    return Key2Policy.create(public_key_path=options["public_key_path"])


METHOD = dataclasses.replace(
    KEY,
    name=NAME,
    description="a second ECDSA key pair",
    signer_type=Key2Signer,
    policy_type=Key2Policy,
    signer_from=_signer_from,
    policy_from=_policy_from,
    wiring=ClusterWiring(
        signing_secret="mlsecops-signing-key2",
        verify_configmap="mlsecops-verify-key2",
        signing_files={"private_key_path": "key2.pem"},
        verify_files={"public_key_path": "key2.pub"},
        predictor_volume="verify-key2",
    ),
)


# --- the registration line, undone after the module's tests -------------------------------------


@pytest.fixture(scope="module", autouse=True)
def registered() -> Iterator[SigningMethod]:
    registry.register_method(METHOD)
    yield METHOD
    registry._METHODS.discard(NAME)


def _model(root: Path) -> Path:
    (root / "1" / "variables").mkdir(parents=True)
    (root / "1" / "saved_model.pb").write_bytes(b"\x08\x01graph")
    (root / "1" / "variables" / "variables.data-00000-of-00001").write_bytes(b"weights")
    return root


def test_the_name_and_derived_tables_include_it():
    assert registry.method_names() == ("key", "certificate", "sigstore", NAME)
    assert C.SIGNING_METHODS == registry.method_names()
    assert C.VERIFY_CONFIGMAPS[NAME] == "mlsecops-verify-key2"
    assert registry.get_method(NAME) is METHOD


def test_from_method_signs_and_verifies_a_model(tmp_path: Path, keys: tuple[Path, Path]):
    model = _model(tmp_path / "model")
    signing = SigningConfig.from_method(NAME, private_key_path=str(keys[0]), chain_paths=[""])
    assert signing.method == NAME and isinstance(signing.signer, Key2Signer)
    assert signing.public_key_pem() == keys[1].read_bytes()
    digest = signing.sign(model, tmp_path / "m.sig")
    verification = VerificationConfig.from_method(NAME, public_key_path=keys[1])
    assert verification.verify(model, tmp_path / "m.sig") == digest == model_digest(model)
    with pytest.raises(InvalidInputError, match=f"signing method '{NAME}' does not use identity"):
        SigningConfig.from_method(NAME, private_key_path=keys[0], identity_token_path="t")
    with pytest.raises(InvalidInputError, match=f"verification method '{NAME}' needs public_key"):
        VerificationConfig.from_method(NAME)


def test_attestation_and_approval_round_trip(
    tmp_path: Path, keys: tuple[Path, Path], other_keys: tuple[Path, Path]
):
    model = _model(tmp_path / "model")
    digest = model_digest(model)
    results = tmp_path / "results.json"
    results.write_text(json.dumps({C.SCHEMA: C.ROBUSTNESS_SCHEMA, C.MODEL_DIGEST: digest}))
    signing = SigningConfig.from_method(NAME, private_key_path=keys[0])
    trust = VerificationConfig.from_method(NAME, public_key_path=keys[1])
    create_attestation(
        model_dir=model,
        results_path=results,
        policy={"min_clean_accuracy": 0.9},
        data_digest="sha256:" + "ab" * 32,
        attack_config={"tier": "fast"},
        out_path=tmp_path / "attestation.json",
        signing=signing,
    )
    predicate = verify_attestation(
        attestation_path=tmp_path / "attestation.json",
        expected_model_digest=digest,
        verification=trust,
    )
    assert predicate.model_digest == digest
    # the gate's approval path: any Statement, same method
    sign_statement(
        model_name="model",
        model_digest=digest,
        predicate_type="https://example.com/approval/v1",
        predicate={"approved": True},
        signing=signing,
        out_path=tmp_path / "approval.json",
    )
    name, approved = verify_statement(
        path=tmp_path / "approval.json",
        verification=trust,
        predicate_type="https://example.com/approval/v1",
        expected_model_digest=digest,
    )
    assert (name, approved) == ("model", {"approved": True})
    with pytest.raises(VerificationError, match="signed by another key"):
        verify_statement(
            path=tmp_path / "approval.json",
            verification=VerificationConfig.from_method(NAME, public_key_path=other_keys[1]),
            predicate_type="https://example.com/approval/v1",
            expected_model_digest=digest,
        )


def test_cli_sign_and_verify_take_it(tmp_path: Path, keys: tuple[Path, Path], capsys):
    from kfp_mlsecops.cli.main import main

    model, sig = _model(tmp_path / "model"), tmp_path / "m.sig"
    common = ["--model", str(model), "--signature", str(sig), "--method", NAME]
    assert main(["sign", *common, "--private-key", str(keys[0])]) == 0
    digest = capsys.readouterr().out.strip()
    assert main(["verify", *common, "--public-key", str(keys[1])]) == 0
    assert capsys.readouterr().out.strip() == digest


def test_cli_run_maps_its_options_to_pipeline_arguments(keys: tuple[Path, Path]):
    from kfp_mlsecops.cli.main import _signing_arguments, build_parser

    run = ["run", "--signing-method", NAME]
    args = build_parser().parse_args([*run, "--private-key", str(keys[0])])
    assert _signing_arguments(args) == {
        "private_key_path": str(keys[0].resolve()),
        "public_key_path": "",
    }
    args = build_parser().parse_args([*run, "--issuer", "https://issuer.example"])
    with pytest.raises(InvalidInputError, match=f"--signing-method {NAME} does not use --issuer"):
        _signing_arguments(args)


def test_the_pipeline_compiles_with_its_secret_configmap_and_paths(tmp_path: Path):
    from kfp_mlsecops.pipelines.compiling import compile_pipeline
    from kfp_mlsecops.pipelines.signing_wiring import WIRINGS

    wiring = WIRINGS[NAME]
    assert (wiring.private_key_path, wiring.public_key_path) == (
        f"{C.SIGNING_KEY_MOUNT}/key2.pem",
        f"{C.VERIFY_KEY_MOUNT}/key2.pub",
    )
    spec, platform = yaml.safe_load_all(
        compile_pipeline(tmp_path / "p.yaml", signing_method=NAME).read_text()
    )
    assert (
        f"Signing method: {NAME} (a second ECDSA key pair)" in spec["pipelineInfo"]["description"]
    )
    root = spec["root"]["inputDefinitions"]["parameters"]
    assert root["signing_secret"]["defaultValue"] == "mlsecops-signing-key2"
    assert root["verify_configmap"]["defaultValue"] == "mlsecops-verify-key2"
    assert root["private_key_path"]["defaultValue"] == f"{C.SIGNING_KEY_MOUNT}/key2.pem"
    assert root["public_key_path"]["defaultValue"] == f"{C.VERIFY_KEY_MOUNT}/key2.pub"
    tasks = spec["root"]["dag"]["tasks"]
    for task in ("sign-model", "attest-robustness", "gate", "deploy"):
        method = tasks[task]["inputs"]["parameters"]["signing_method"]
        assert method["runtimeValue"]["constant"] == NAME, task
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    (secret,) = executors["exec-sign-model"]["secretAsVolume"]
    assert secret["mountPath"] == C.SIGNING_KEY_MOUNT and secret["optional"] is False


def test_the_verified_predictor_mounts_its_configmap_and_passes_its_options():
    from kfp_mlsecops.deploy import PredictorTrust, predictor_args, render_verified_predictor_isvc

    trust = PredictorTrust.from_method(NAME, configmap="", identity="", issuer="")
    assert (trust.configmap, trust.volume_name) == ("mlsecops-verify-key2", "verify-key2")
    args = predictor_args(name="m", trust=trust)
    assert args[4:8] == ["--method", NAME, "--public-key", f"{C.VERIFY_KEY_MOUNT}/key2.pub"]
    isvc = render_verified_predictor_isvc(
        name="m",
        namespace="models",
        storage_uri="s3://bucket/model",
        model_digest="sha256:" + "ab" * 32,
        signature_configmap="m-evidence",
        trust=trust,
    )
    volumes = isvc["spec"]["predictor"]["volumes"]
    assert {"name": "verify-key2", "configMap": {"name": "mlsecops-verify-key2"}} in volumes
    with pytest.raises(InvalidInputError, match="takes no identity; drop it or use the cert"):
        PredictorTrust(method=NAME, identity="CN=x")


def test_the_flat_options_are_exactly_from_methods_parameters():
    import inspect

    for config, options in (
        (SigningConfig, SIGNING_OPTIONS),
        (VerificationConfig, VERIFICATION_OPTIONS),
    ):
        parameters = inspect.signature(config.from_method).parameters
        assert tuple(parameters)[1:] == options, config


def test_registration_refuses_a_taken_name_or_backend():
    with pytest.raises(InvalidInputError, match="'key2' exists; pick another name"):
        registry.register_method(METHOD)
    with pytest.raises(InvalidInputError, match="reuses the backend types of 'key'"):
        registry.register_method(dataclasses.replace(KEY, name="key3"))
    with pytest.raises(InvalidInputError, match="unknown signing options"):
        dataclasses.replace(METHOD, name="key4", signing_options=("private_key_path", "pin"))
    with pytest.raises(InvalidInputError, match="files for public_key_path, which it takes no"):
        dataclasses.replace(METHOD, name="key4", verification_options=("identity",))
    with pytest.raises(InvalidInputError, match="have no file in the verification ConfigMap"):
        dataclasses.replace(
            METHOD, name="key5", wiring=dataclasses.replace(METHOD.wiring, verify_files={})
        )
    assert "key3" not in registry.method_names()
