"""Map a KFP model artifact URI to a KServe ``storageUri``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from kfp_mlsecops.errors import InvalidInputError

#: Schemes KServe's storage initializer pulls from, passed through unchanged.
REMOTE_SCHEMES = ("s3", "gs", "pvc", "https")
#: Local URIs, valid only in a dry-run manifest (the cluster cannot read the runner's disk).
LOCAL_SCHEME = "file"


def storage_uri_for(artifact_uri: str) -> str:
    """Return the KServe storageUri for a KFP artifact URI.

    ``minio://bucket/key`` becomes ``s3://bucket/key`` (KFP's MinIO is S3-compatible);
    ``s3://``, ``gs://``, ``pvc://`` and ``https://`` are kept; a local path or ``file://`` URI
    becomes an absolute ``file://`` URI, which only a dry-run accepts (see
    :func:`require_cluster_reachable`). URIs with credentials, queries or fragments are refused.
    """
    if not isinstance(artifact_uri, str) or not artifact_uri.strip():
        raise InvalidInputError(f"model URI {artifact_uri!r} is empty; pass the model artifact URI")
    if artifact_uri != artifact_uri.strip() or any(ch.isspace() for ch in artifact_uri):
        raise InvalidInputError(f"model URI {artifact_uri!r} contains whitespace; pass a clean URI")
    if "://" not in artifact_uri:
        return Path(artifact_uri).resolve().as_uri()
    parts = urlsplit(artifact_uri)
    scheme = parts.scheme.lower()
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidInputError(
            f"model URI for host '{parts.hostname}' embeds credentials; remove them and give "
            "KServe a service account with access instead"
        )
    if parts.query or parts.fragment:
        raise InvalidInputError(
            f"model URI '{scheme}://{parts.netloc}{parts.path}' has a query or fragment (maybe a "
            "token); pass a plain URI"
        )
    if scheme == LOCAL_SCHEME:
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise InvalidInputError(f"model URI '{artifact_uri}' is not a local file:// path")
        return Path(parts.path).resolve().as_uri()
    if scheme == "minio":
        scheme = "s3"
    elif scheme not in REMOTE_SCHEMES:
        raise InvalidInputError(
            f"model URI '{artifact_uri}' uses scheme '{parts.scheme}'; supported: minio, "
            f"{', '.join(REMOTE_SCHEMES)} (or a local path for dry-run)"
        )
    if not parts.netloc or not parts.path.strip("/"):
        raise InvalidInputError(
            f"model URI '{artifact_uri}' needs a bucket/host and a path, e.g. s3://bucket/model"
        )
    return f"{scheme}://{parts.netloc}{parts.path}"


def is_local(storage_uri: str) -> bool:
    """Return True for a ``file://`` storage URI (only usable in a dry-run)."""
    return urlsplit(storage_uri).scheme.lower() == LOCAL_SCHEME


def require_cluster_reachable(storage_uri: str) -> str:
    """Return ``storage_uri`` unless it is local (a cluster cannot pull it): InvalidInputError."""
    if is_local(storage_uri):
        raise InvalidInputError(
            f"model URI '{storage_uri}' is a local path that KServe cannot pull; set a remote "
            "pipeline_root (e.g. minio://mlpipeline/v2/artifacts or s3://bucket/root) or use "
            "mode 'dry-run'"
        )
    return storage_uri
