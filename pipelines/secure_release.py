"""The ``secure-release`` pipeline: release a model trained elsewhere through the same gate.

Import the model and the evaluation data by URI, validate the data (evaluation only: no
re-split), write the model as the one servable SavedModel, then the chain ``secure-training``
uses: attack-test, attest, sign, gate, deploy (:mod:`kfp_mlsecops.pipelines.release_chain`).
"""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List, Optional

from kfp import dsl

from kfp_mlsecops import constants as C
from kfp_mlsecops.components import import_model, validate_data
from kfp_mlsecops.constants import SIGNING_METHOD_KEY, SIGNING_METHODS
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.pipelines.parameters import document_parameters
from kfp_mlsecops.pipelines.release_chain import (
    MOUNTED_POLICY,
    attest_gate_deploy,
    run_monitoring,
)
from kfp_mlsecops.pipelines.resources import ResourcePlan, apply_resources
from kfp_mlsecops.pipelines.signing_wiring import WIRINGS

PIPELINE_NAME = "secure-release"


def make_secure_release(  # noqa: ANN201 - a KFP pipeline
    signing_method: str = SIGNING_METHOD_KEY,
    *,
    policy_path: str = MOUNTED_POLICY,
    predictor_image: str = "",
    resources: Optional[ResourcePlan] = None,
    attack_shards: int = 1,
):
    """Return the ``secure-release`` pipeline wired for ``signing_method`` (compile-time choice).

    Signing methods, mounts, ``policy_path``, ``predictor_image``, ``resources`` and
    ``attack_shards`` are as in
    :func:`~kfp_mlsecops.pipelines.make_secure_training`.
    """
    if signing_method not in WIRINGS:
        raise InvalidInputError(
            f"signing_method={signing_method!r}: use one of {', '.join(SIGNING_METHODS)}"
        )
    w = WIRINGS[signing_method]

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description=(
            "Release a model trained elsewhere: import it and its evaluation data, validate the "
            "data, attack-test, attest and sign the model, gate it (re-derived evidence, policy "
            "floor, signed approval) and deploy it to KServe only with the gate's approval. "
            f"Signing method: {w.method} ({w.description})."
        ),
    )
    @document_parameters
    def secure_release(
        model_uri: str,
        data_uri: str,
        model_format: str = "",
        data_format: str = "",
        label_column: str = "label",
        value_min: float = 0.0,
        value_max: float = 1.0,
        seed: int = 0,
        epsilons: List[float] = [0.05, 0.1, 0.2],  # noqa: B006 - KFP reads the default from here
        attack_tier: str = "fast",
        pgd_steps: int = 20,
        min_clean_accuracy: float = 0.9,
        min_robust_accuracy: float = 0.5,
        robust_attack: str = "worst_case",
        robust_epsilon: float = 0.05,
        allow_masking_flags: List[str] = [],  # noqa: B006 - KFP reads the default from here
        signing_secret: str = w.signing_secret,
        verify_configmap: str = w.verify_configmap,
        private_key_path: str = w.private_key_path,
        password_path: str = "",
        certificate_path: str = w.certificate_path,
        chain_paths: List[str] = list(w.chain_paths),  # noqa: B006 - KFP reads the default
        identity_token_path: str = w.identity_token_path,
        use_ambient_credentials: bool = False,
        signing_trust_config_path: str = "",
        public_key_path: str = w.public_key_path,
        approval_key_path: str = f"{C.APPROVAL_KEY_MOUNT}/{C.APPROVAL_KEY_FILE}",
        approval_public_key_path: str = f"{C.APPROVAL_VERIFY_MOUNT}/{C.APPROVAL_VERIFY_FILE}",
        audit_log_path: str = "",
        audit_key_path: str = f"{C.AUDIT_KEY_MOUNT}/{C.AUDIT_KEY_FILE}",
        verify_chain_paths: List[str] = list(w.verify_chain_paths),  # noqa: B006 - as above
        signer_identity: str = "",
        oidc_issuer: str = "",
        trust_config_path: str = w.trust_config_path,
        service_name: str = "released-classifier",
        namespace: str = "kubeflow-user-example-com",
        deploy_mode: str = "dry-run",
        service_account: str = "",
        predictor: str = "verified",
        predictor_image: str = predictor_image,
        deploy_wait_seconds: int = C.DEPLOY_WAIT_SECONDS,
        canary_traffic_percent: int = -1,
        pushgateway_url: str = "",
    ):
        """Release the model at ``model_uri``, evaluated on ``data_uri``, through the gate.

        Both are imported with ``dsl.importer`` and the data is used whole as evaluation data (no
        re-split). [``value_min``, ``value_max``] is the model's input range (epsilons are in its
        units). The other parameters, the mounts and the gate are those of ``secure-training``.

        The ``Args:`` section KFP reads (the parameter descriptions in the compiled YAML) is
        appended by ``document_parameters`` from ``PARAMETER_DESCRIPTIONS`` in
        :mod:`kfp_mlsecops.pipelines.parameters`.
        """
        p = dict(locals())  # the run parameters by name (before any other local)
        monitoring = run_monitoring(pushgateway_url, PIPELINE_NAME)
        model_in = dsl.importer(artifact_uri=model_uri, artifact_class=dsl.Model, reimport=False)
        model_in.set_display_name("import model artifact")
        data_in = dsl.importer(artifact_uri=data_uri, artifact_class=dsl.Dataset, reimport=False)
        data_in.set_display_name("import data artifact")

        data = validate_data(
            dataset=data_in.output,
            dataset_format=data_format,
            label_column=label_column,
            value_min=value_min,
            value_max=value_max,
            seed=seed,
            evaluation_only=True,
            **monitoring,
        )
        data.set_display_name("validate data")

        imported = import_model(
            source_model=model_in.output,
            test_data=data.outputs["test_data"],
            model_format=model_format,
            **monitoring,
        )
        imported.set_display_name("import model")

        attest_gate_deploy(
            wiring=w,
            policy_path=policy_path,
            model=imported.outputs["model"],
            test_data=data.outputs["test_data"],
            data_digest=data.outputs["data_digest"],
            test_data_digest=data.outputs["test_data_digest"],
            p=p,
            monitoring=monitoring,
            attack_shards=attack_shards,
        )
        apply_resources(resources, PIPELINE_NAME)

    return secure_release


#: The key-method pipeline (what ``pipelines/secure_release.yaml`` holds).
secure_release = make_secure_release(SIGNING_METHOD_KEY)
