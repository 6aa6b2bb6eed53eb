"""The container image every component runs in (built from the repo's Dockerfile)."""

from __future__ import annotations

import os

from kfp_mlsecops.constants import DEFAULT_IMAGE

#: Set MLSECOPS_IMAGE when compiling to point the components at your own registry (pin a digest).
IMAGE = os.environ.get("MLSECOPS_IMAGE", DEFAULT_IMAGE)
