"""The canonical JSON form attested numbers are compared in (strict reading: ``kfp_mlsecops._io``).

The canonical form is RFC 8785 (JCS), via the ``rfc8785`` package: keys sorted, no whitespace,
every number written as the IEEE-754 double it denotes, so ``200`` and ``200.0`` are equal and any
other change to a number is not.
"""

from __future__ import annotations

from typing import Any

import rfc8785


def canonical(value: Any) -> bytes:
    """Return the RFC 8785 canonical bytes of ``value``; ValueError when it is not plain JSON.

    Refused: non-string keys, NaN/Infinity, integers beyond 2**53 (not exact as JSON numbers),
    and any type JSON cannot hold.
    """
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as e:
        raise ValueError(str(e)) from e
    except TypeError as e:  # an object JSON cannot hold (a set, a Path, ...)
        raise ValueError(str(e)) from e
