"""What a model scan found: findings per file, and the one check that turns them into a verdict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.errors import VerificationError

#: Finding kinds (stable ids for reports and the gate).
PICKLE = "pickle"
PICKLE_GLOBAL = "pickle_global"
KERAS_LAMBDA = "keras_lambda"
KERAS_CUSTOM_CODE = "keras_custom_code"
ARCHIVE = "archive"
LEGACY_H5_MODEL = "legacy_h5_model"
TF_UNSAFE_OP = "tf_unsafe_op"
TF_UNKNOWN_OP = "tf_unknown_op"
NOT_REGULAR_FILE = "not_regular_file"
UNSCANNABLE = "unscannable"

_MAX_LISTED = 8


@dataclass(frozen=True)
class Finding:
    """One unsafe thing in one file.

    ``path`` is relative to the model directory; ``a.keras:config.json`` names an archive member.
    """

    path: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


@dataclass(frozen=True)
class ScanReport:
    """The result of :func:`~kfp_mlsecops.safety.scan_model`: files looked at, findings."""

    model_dir: str
    files_scanned: tuple[str, ...]
    findings: tuple[Finding, ...]

    def require_safe(self) -> None:
        """Raise VerificationError (one line) unless files were scanned and nothing was found."""
        where = f"model scan of '{self.model_dir}'"
        if not self.files_scanned:
            raise VerificationError(f"{where}: no file was scanned; do not deploy")
        if self.findings:
            shown = "; ".join(str(f) for f in self.findings[:_MAX_LISTED])
            more = len(self.findings) - _MAX_LISTED
            suffix = f"; and {more} more" if more > 0 else ""
            raise VerificationError(
                f"{where}: {len(self.findings)} unsafe finding(s): {shown}{suffix}; "
                "remove the code-carrying parts and retrain or re-export; do not deploy"
            )

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict (schema ``MODEL_SCAN_SCHEMA``)."""
        return {
            C.SCHEMA: C.MODEL_SCAN_SCHEMA,
            "model_dir": self.model_dir,
            "files_scanned": list(self.files_scanned),
            "findings": [
                {"path": f.path, "kind": f.kind, "detail": f.detail} for f in self.findings
            ],
            "n_findings": len(self.findings),
        }
