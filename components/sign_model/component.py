"""KFP component: sign the model directory with OpenSSF model signing (ECDSA key)."""

# No `from __future__ import annotations`: KFP reads the real annotation objects.
from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Artifact, Input, Model, Output

from kfp_mlsecops.components._image import IMAGE


# Defaults are literals: only the function travels to the pod (tests pin them to constants).
@dsl.component(base_image=IMAGE, install_kfp_package=False)
def sign_model(
    model: Input[Model],
    signature: Output[Artifact],
    private_key_path: str = "/etc/mlsecops/signing/private-key.pem",
    pushgateway_url: str = "",
    run_id: str = "",
    pipeline_name: str = "secure-training",
) -> NamedTuple("SignModelOutputs", [("model_digest", str)]):
    """Sign ``model``; the signature bundle is its own artifact, outside the model directory.

    On a cluster ``private_key_path`` is a Secret mounted on this task only (see the pipeline).
    """
    from collections import namedtuple

    from kfp_mlsecops.monitoring import record_step
    from kfp_mlsecops.signing import sign_model as sign

    with record_step(
        "sign_model",
        pipeline=pipeline_name,
        run_id=run_id,
        pushgateway=pushgateway_url or None,
        artifacts=None,
    ):
        digest = sign(model.path, signature.path, private_key_path=private_key_path)
    signature.metadata["model_digest"] = digest
    return namedtuple("SignModelOutputs", ["model_digest"])(digest)
