"""KFP component: sign the model directory with OpenSSF model signing (any signing method)."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import List, NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output

from kfp_mlsecops.components._image import IMAGE


# Defaults are literals: only the function travels to the pod (tests pin them to constants).
@dsl.component(base_image=IMAGE, install_kfp_package=False)
def sign_model(
    model: Input[Model],
    signature: Output[Artifact],
    signing_method: str = "key",
    private_key_path: str = "",
    password_path: str = "",
    certificate_path: str = "",
    chain_paths: List[str] = [],  # noqa: B006 - KFP reads the default from here
    identity_token_path: str = "",
    use_ambient_credentials: bool = False,
    sigstore_trust_config_path: str = "",
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-training",
) -> NamedTuple("SignModelOutputs", [("model_digest", str)]):
    """Sign the ``model`` folder with OpenSSF model signing; the bundle is its own artifact.

    Every file is hashed (SHA-256 per file, symlinks refused, ``.git*`` paths not ignored) and the
    signature bundle is written outside the model folder, atomically. ``signing_method`` picks the
    material: ``key`` (``private_key_path``, optional ``password_path``), ``certificate``
    (``private_key_path``, ``certificate_path``, ``chain_paths``) or ``sigstore``
    (``identity_token_path`` or ``use_ambient_credentials``; optional
    ``sigstore_trust_config_path``). Fails closed: an option the method does not use, an unknown
    method (InvalidInputError) or an unusable key, certificate, token or model (SigningError). On a
    cluster the material is a Secret mounted on the signing tasks only.

    Args:
        model: The model folder in the servable layout (train's or import_model's output).
        signing_method: ``key``, ``certificate`` or ``sigstore``; an option the method does not
            use must stay empty.
        private_key_path: key and certificate methods: the PEM ECDSA private key file.
        password_path: key method: file holding the private key's password (empty: unencrypted).
        certificate_path: certificate method: the signing (leaf) certificate file.
        chain_paths: certificate method: the issuing CA certificate files.
        identity_token_path: sigstore method: file holding the OIDC identity token.
        use_ambient_credentials: sigstore method: take the identity token from the environment
            instead of a file (exactly one token source).
        sigstore_trust_config_path: sigstore method: ClientTrustConfig JSON (empty: the public-good
            instance).
        pushgateway_url: Prometheus Pushgateway URL for this step's metrics (empty:
            ``$MLSECOPS_PUSHGATEWAY_URL``, unset: no push); a failed push is only logged.
        run_id: Run id grouping the pushed step metrics (the ``run_id`` label).
        pipeline_name: Pipeline name grouping the pushed step metrics (the ``pipeline`` label).

    Returns:
        signature: The model-signing bundle (Sigstore bundle holding an in-toto statement over
            every file's digest); metadata ``model_digest``.
        model_digest: The signed model's digest (``sha256:<hex>``), which the gate and deploy
            verify against.

    """
    from collections import namedtuple

    from kfp_mlsecops.monitoring import record_step
    from kfp_mlsecops.signing import SigningConfig

    with record_step(
        "sign_model",
        pipeline=pipeline_name,
        run_id=run_id,
        pushgateway=pushgateway_url or None,
        artifacts=None,
    ):
        config = SigningConfig.from_method(
            signing_method,
            private_key_path=private_key_path,
            password_path=password_path,
            certificate_path=certificate_path,
            chain_paths=chain_paths,
            identity_token_path=identity_token_path,
            use_ambient_credentials=use_ambient_credentials,
            trust_config_path=sigstore_trust_config_path,
        )
        digest = config.sign(model.path, signature.path)
    signature.metadata["model_digest"] = digest
    return namedtuple("SignModelOutputs", ["model_digest"])(digest)
