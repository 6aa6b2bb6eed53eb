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
    """Sign ``model``; the signature bundle is its own artifact, outside the model directory.

    ``signing_method`` is ``key`` (``private_key_path``, optional ``password_path``),
    ``certificate`` (``private_key_path``, ``certificate_path``, ``chain_paths``) or
    ``sigstore`` (``identity_token_path`` or ``use_ambient_credentials``; optional
    ``sigstore_trust_config_path``, else the public-good instance). An option the method does not
    use is an error. On a cluster the material is a Secret mounted on the signing tasks only.
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
