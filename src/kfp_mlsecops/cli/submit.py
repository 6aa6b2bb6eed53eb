"""``mlsecops submit``: send the compiled pipeline to a Kubeflow Pipelines endpoint."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kfp_mlsecops.errors import InvalidInputError, SubmitError

__all__ = ["SA_TOKEN_PATH", "SubmitResult", "TOKEN_ENV", "resolve_token", "submit_pipeline"]

TOKEN_ENV = "MLSECOPS_KFP_TOKEN"  # noqa: S105 - the variable name, not a token
#: Where Kubeflow mounts the pipelines service-account token inside a notebook or pod.
SA_TOKEN_PATH = Path("/var/run/secrets/kubeflow/pipelines/token")


@dataclass(frozen=True)
class SubmitResult:
    """The run that was created."""

    run_id: str
    url: str


def resolve_token(explicit: str | None, *, sa_token_path: Path = SA_TOKEN_PATH) -> str | None:
    """Pick the bearer token: ``--token``, then ``$MLSECOPS_KFP_TOKEN``, then the SA token file."""
    if explicit:
        return explicit.strip()
    if os.environ.get(TOKEN_ENV):
        return os.environ[TOKEN_ENV].strip()
    if sa_token_path.is_file():
        try:
            return sa_token_path.read_text().strip() or None
        except OSError as e:
            raise InvalidInputError(
                f"service-account token '{sa_token_path}': unreadable ({e.strerror}); pass --token"
            ) from e
    return None


def submit_pipeline(
    *,
    host: str,
    package: Path,
    namespace: str,
    experiment: str,
    run_name: str,
    arguments: dict[str, Any],
    token: str | None,
) -> SubmitResult:
    """Create a run of ``package`` in ``experiment``; errors never include the token."""
    import kfp

    if not host.startswith(("http://", "https://")):
        raise InvalidInputError(f"--host '{host}': must start with http:// or https://")
    if not package.is_file():
        raise InvalidInputError(
            f"--package '{package}': not found; run 'mlsecops compile' or pass a compiled YAML"
        )
    try:
        client = kfp.Client(host=host, namespace=namespace, existing_token=token)
        run = client.create_run_from_pipeline_package(
            str(package),
            arguments=arguments,
            run_name=run_name,
            experiment_name=experiment,
            namespace=namespace,
        )
    except Exception as e:  # noqa: BLE001 - every client failure becomes one line, token-free
        reason = _one_line(e, token)
        raise SubmitError(
            f"submit to '{host}' failed: {reason}; check --host, --token and network"
        ) from e
    run_id = str(run.run_id)
    return SubmitResult(run_id=run_id, url=f"{host.rstrip('/')}/#/runs/details/{run_id}")


def _one_line(error: BaseException, token: str | None) -> str:
    status = getattr(error, "status", None)
    reason = getattr(error, "reason", None)
    text = f"HTTP {status} {reason}" if status else f"{type(error).__name__}: {error}"
    text = " ".join(str(text).split())[:300]
    return text.replace(token, "<redacted>") if token else text
