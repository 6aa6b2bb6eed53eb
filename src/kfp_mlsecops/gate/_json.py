"""Strict JSON reading and one-line errors for the gate (shared helpers of ``kfp_mlsecops._io``)."""

from __future__ import annotations

from kfp_mlsecops._io import is_number, one_line, read_json_object

__all__ = ["is_number", "one_line", "read_json_object"]
