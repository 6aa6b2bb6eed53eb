"""One labelled dataset as a format module read it, before any check."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["LabeledData"]


@dataclass(frozen=True)
class LabeledData:
    """Raw features ``x`` and labels ``y`` as read from ``source``, not yet validated.

    ``x`` is shaped (N, F) for tabular data or (N, H, W, C) for images; ``feature_names`` holds
    a table's column names and ``class_names`` an image folder's class folders, in label order
    (``None`` where the format has none).
    """

    source: str
    x: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None
