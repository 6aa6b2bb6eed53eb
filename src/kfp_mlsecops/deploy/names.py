"""Kubernetes name checks for the InferenceService, its namespace and container images."""

from __future__ import annotations

import re

from kfp_mlsecops._fields import DIGEST_RE
from kfp_mlsecops.errors import InvalidInputError

#: Longest InferenceService name we accept. A DNS-1035 label may have 63 characters, but KServe
#: and Knative derive child names from it: ``<name>-predictor`` (+10), the Knative revision
#: ``<name>-predictor-00001`` (+16, also used as a label value, itself limited to 63) and, in
#: raw-deployment mode, the host label ``<name>-predictor-<namespace>``. 63 - 16 = 47; 45 leaves
#: room for a revision counter past 99999. :func:`check_host_label` covers the namespace part.
MAX_SERVICE_NAME = 45
_DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_PREDICTOR_HOST_SUFFIX = len("-predictor-")
_IMAGE_RE = re.compile(
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?" + rf"(?:@{DIGEST_RE.pattern})?"
)


def validate_image(image: object, what: str = "image") -> str:
    """Return ``image`` if it is a registry image reference (tag and/or digest), else raise."""
    if not isinstance(image, str) or not _IMAGE_RE.fullmatch(image):
        raise InvalidInputError(
            f"{what} {image!r} is not an image reference like registry/name:tag or "
            "registry/name@sha256:<hex>"
        )
    return image


def is_digest_pinned(image: str) -> bool:
    """Return True when ``image`` names its content by digest (a moved tag cannot swap it)."""
    return "@sha256:" in image


def validate_service_name(name: object) -> str:
    """Return ``name`` if it is a DNS-1035 label of <= 45 characters, else InvalidInputError."""
    if not isinstance(name, str) or not _DNS1035.fullmatch(name):
        raise InvalidInputError(
            f"service name {name!r} must be lowercase letters, digits and '-', start with a "
            "letter and end with a letter or digit (DNS-1035), e.g. 'mnist-classifier'"
        )
    if len(name) > MAX_SERVICE_NAME:
        raise InvalidInputError(
            f"service name '{name}' has {len(name)} characters; use at most {MAX_SERVICE_NAME} "
            "(KServe appends '-predictor-00001' to it in names limited to 63)"
        )
    return name


def validate_namespace(namespace: object) -> str:
    """Return ``namespace`` if it is a DNS-1123 label (<= 63 chars), else InvalidInputError."""
    if (
        not isinstance(namespace, str)
        or len(namespace) > 63
        or not _DNS1123_LABEL.fullmatch(namespace)
    ):
        raise InvalidInputError(
            f"namespace {namespace!r} must be a DNS-1123 label: lowercase letters, digits and "
            "'-', at most 63 characters, e.g. 'kubeflow-user'"
        )
    return namespace


def validate_service_account(name: object) -> str:
    """Return ``name`` if it is a DNS-1123 subdomain (<= 253 chars), else InvalidInputError."""
    if not isinstance(name, str) or len(name) > 253 or not _DNS1123_SUBDOMAIN.fullmatch(name):
        raise InvalidInputError(
            f"service account {name!r} must be a DNS-1123 subdomain, e.g. 'kserve-s3-reader'"
        )
    return name


def check_host_label(name: str, namespace: str) -> None:
    """Refuse name/namespace pairs whose KServe host label ``<name>-predictor-<ns>`` exceeds 63."""
    length = len(name) + _PREDICTOR_HOST_SUFFIX + len(namespace)
    if length > 63:
        raise InvalidInputError(
            f"service '{name}' in namespace '{namespace}': KServe's host label "
            f"'{name}-predictor-{namespace}' would have {length} characters (max 63); "
            "shorten the service name"
        )
