"""Search files for any trace of a private key: its PEM body, its DER, its secret scalar.

Only encodings of the secret count: long PEM lines are not used as needles, because the tail of a
PKCS#8 EC key encodes the PUBLIC point, which a certificate in a signature bundle legitimately
carries (and base64 of the same bytes can line up by chance).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def key_needles(pem: str) -> list[bytes]:
    """Byte strings that would reveal the (unencrypted EC) key in ``pem`` if a file held one."""
    body = "".join(line for line in pem.splitlines() if line and not line.startswith("-----"))
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    size = (key.curve.key_size + 7) // 8
    scalar = key.private_numbers().private_value.to_bytes(size, "big")
    return [
        body.encode(),
        base64.b64decode(body),
        scalar,
        scalar.hex().encode(),
        base64.b64encode(scalar).rstrip(b"="),
    ]


def assert_no_key_material(pem: str, paths: Iterable[Path]) -> int:
    """Fail naming the first file that holds key material; return how many files were read."""
    needles = key_needles(pem)
    count = 0
    for path in paths:
        data = path.read_bytes()
        count += 1
        for needle in needles:
            assert needle not in data, f"private key material found in {path}"
    return count
