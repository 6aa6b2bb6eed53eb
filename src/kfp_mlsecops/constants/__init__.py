"""Names shared between steps: artifact file names, JSON keys, schema ids and mount paths.

Producers and consumers import these instead of repeating string literals, so a renamed key breaks
loudly in one place instead of silently in the gate. One module per subsystem holds them
(``artifacts``, ``robustness``, ``gate``, ``signing``, ``cluster``, ``serving``, ``checks``);
this package re-exports every name, so ``from kfp_mlsecops import constants as C; C.X`` reads
any of them. The attack and signing-method names are derived from their registries on access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfp_mlsecops.constants.artifacts import *  # noqa: F403
from kfp_mlsecops.constants.checks import *  # noqa: F403
from kfp_mlsecops.constants.cluster import *  # noqa: F403
from kfp_mlsecops.constants.gate import *  # noqa: F403
from kfp_mlsecops.constants.robustness import *  # noqa: F403
from kfp_mlsecops.constants.serving import *  # noqa: F403
from kfp_mlsecops.constants.signing import *  # noqa: F403

if TYPE_CHECKING:  # derived on access (``__getattr__`` below)
    #: Attacks the robustness evaluation knows, by the name used in results and metric keys:
    #: fgsm, pgd, pgd_l2, apgd_ce, apgd_t, square, then any registered later.
    ATTACK_NAMES: tuple[str, ...]
    #: The attacks each tier runs (fast: fgsm, pgd; reliable: apgd_ce, apgd_t, square; all
    #: L-inf); the worst case is over these.
    TIER_ATTACKS: dict[str, tuple[str, ...]]
    #: Every signing method name (kfp_mlsecops.signing.registry).
    SIGNING_METHODS: tuple[str, ...]
    #: Each signing method's default ConfigMap of verification material.
    VERIFY_CONFIGMAPS: dict[str, str]


def __getattr__(name: str) -> Any:
    """Derive the attack names from the attack catalog and the signing names from their registry.

    ``ATTACK_NAMES``: every attack name; ``TIER_ATTACKS``: ``{tier: its attack names}``
    (:mod:`kfp_mlsecops.attack_catalog`). ``SIGNING_METHODS``: every method name.
    ``VERIFY_CONFIGMAPS``: each method's default ConfigMap of verification material, mounted at
    ``VERIFY_KEY_MOUNT`` on gate, deploy and the verified predictor. Read on access (both
    registries are light), so they are never stale.
    """
    if name in ("ATTACK_NAMES", "TIER_ATTACKS"):
        from kfp_mlsecops import attack_catalog

        return (
            attack_catalog.attack_names() if name == "ATTACK_NAMES" else attack_catalog.tier_table()
        )

    from kfp_mlsecops.signing import registry

    if name == "SIGNING_METHODS":
        return registry.method_names()
    if name == "VERIFY_CONFIGMAPS":
        return {m.name: m.wiring.verify_configmap for m in registry.all_methods()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
