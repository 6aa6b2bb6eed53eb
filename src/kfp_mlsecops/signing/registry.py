"""The signing methods by name: ``key``, ``certificate``, ``sigstore``, and any registered later.

Everything that differs per method is read from here: ``constants.SIGNING_METHODS`` and the CLI
choices, ``from_method``, the attestation backends, the pipeline's Secret / ConfigMap wiring and
the verified predictor's ConfigMap and ``mlsecops serve`` options. A built-in method's module is
imported on first use, so listing names (``mlsecops --help``) loads no crypto library.

Adding a method: write one module defining ``METHOD`` (a :class:`~.method.SigningMethod`) and add
one line to ``_METHODS`` below (or call :func:`register_method` from outside the package).
"""

from __future__ import annotations

from kfp_mlsecops import constants as C
from kfp_mlsecops._registry import LazyRegistry
from kfp_mlsecops.errors import InvalidInputError
from kfp_mlsecops.signing.method import SigningMethod

__all__ = ["all_methods", "get_method", "method_names", "method_of", "register_method"]

_METHODS: LazyRegistry[SigningMethod] = LazyRegistry(
    "signing method",
    SigningMethod,
    "METHOD",
    {
        C.SIGNING_METHOD_KEY: "kfp_mlsecops.signing._key",
        C.SIGNING_METHOD_CERTIFICATE: "kfp_mlsecops.signing._certificate",
        C.SIGNING_METHOD_SIGSTORE: "kfp_mlsecops.signing._sigstore",
    },
)


def method_names() -> tuple[str, ...]:
    """Return every method name, built-ins first, without importing any method module."""
    return _METHODS.names()


def get_method(name: object, *, what: str = "signing method") -> SigningMethod:
    """Return the method called ``name``; InvalidInputError (worded with ``what``) if unknown."""
    return _METHODS.get(name, what=what)


def all_methods() -> tuple[SigningMethod, ...]:
    """Return every registered method, in :func:`method_names` order."""
    return _METHODS.all()


def method_of(backend: object) -> SigningMethod | None:
    """Return the method whose signer or policy type is exactly ``type(backend)``, else None."""
    for method in all_methods():
        if type(backend) in (method.signer_type, method.policy_type):
            return method
    return None


def register_method(method: SigningMethod) -> None:
    """Add a method; its name and backend types must be new (InvalidInputError otherwise)."""
    if isinstance(method, SigningMethod):
        types = {method.signer_type, method.policy_type}
        for other in all_methods():
            if other.name != method.name and types & {other.signer_type, other.policy_type}:
                raise InvalidInputError(
                    f"signing method {method.name!r} reuses the backend types of {other.name!r}; "
                    "give it its own signer and policy classes (a backend names its method)"
                )
    _METHODS.add(getattr(method, "name", ""), method)
