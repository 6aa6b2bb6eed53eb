"""The one family of errors kfp-mlsecops raises.

Every error message is one line that names the input at fault and says what to do. Third-party
exceptions are wrapped at our boundary with ``raise ... from e`` so callers catch one root type.
"""

from __future__ import annotations

__all__ = [
    "AttackError",
    "DataValidationError",
    "DeploymentError",
    "GateRejected",
    "InvalidInputError",
    "MLSecOpsError",
    "SigningError",
    "SubmitError",
    "TrainingError",
    "VerificationError",
]


class MLSecOpsError(Exception):
    """Root of every error raised by kfp-mlsecops."""


class InvalidInputError(MLSecOpsError, ValueError):
    """A parameter, path or threshold given by the user is unusable (bad value, missing file)."""


class DataValidationError(MLSecOpsError):
    """The dataset failed a validation check whose severity is ``error``."""


class TrainingError(MLSecOpsError):
    """Training could not produce a model (bad data shape, non-finite loss, export failure)."""


class AttackError(MLSecOpsError):
    """The robustness evaluation is invalid (a broken invariant) or could not run."""


class SigningError(MLSecOpsError):
    """The model could not be signed (unreadable key, bad model directory)."""


class VerificationError(MLSecOpsError):
    """A signature, digest or approval did not verify. Always means: do not trust the model."""


class GateRejected(MLSecOpsError):
    """The gate refused to bless the model; deployment must not happen."""


class DeploymentError(MLSecOpsError):
    """Rendering or applying the KServe InferenceService failed."""


class SubmitError(MLSecOpsError):
    """The pipeline could not be submitted to Kubeflow (unreachable host, refused token)."""
