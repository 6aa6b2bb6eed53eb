"""Strict reader of the gate decision, used by deploy: anything but a clean blessing is an error."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from kfp_mlsecops import constants as c
from kfp_mlsecops.errors import InvalidInputError, VerificationError
from kfp_mlsecops.gate._json import one_line, read_json_object
from kfp_mlsecops.gate.policy import Policy

_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")


@dataclass(frozen=True)
class Blessing:
    """A gate approval: the model digest it covers, the controls that passed, the policy used."""

    model_digest: str
    controls: tuple[str, ...]
    policy: Policy


def read_blessing(decision_json_path: str | os.PathLike[str]) -> Blessing:
    """Return the blessing in a decision JSON, or raise VerificationError.

    Requires: the decision schema, ``decision == "approved"``, ``blessed`` being the JSON value
    ``true``, every required control present (masking controls included) and every control
    ``passed: true``, a valid policy, a waived control only where the policy allows its masking
    flag, and a ``sha256:<hex>`` model digest.
    """
    where = f"gate decision '{decision_json_path}'"
    try:
        doc = read_json_object(decision_json_path)
    except FileNotFoundError as e:
        raise VerificationError(f"{where} does not exist; run the gate; do not deploy") from e
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise VerificationError(f"{where} is unreadable ({one_line(e)}); do not deploy") from e

    def reject(reason: str) -> VerificationError:
        return VerificationError(f"{where} is not a blessing: {reason}; do not deploy")

    if doc.get(c.SCHEMA) != c.DECISION_SCHEMA:
        raise reject(f"schema is {doc.get(c.SCHEMA)!r}, expected {c.DECISION_SCHEMA!r}")
    if doc.get(c.DECISION) != c.DECISION_APPROVED:
        raise reject(f"decision is {doc.get(c.DECISION)!r}")
    if doc.get(c.BLESSED) is not True:
        raise reject(f"blessed is {doc.get(c.BLESSED)!r}, not true")
    controls = doc.get(c.CONTROLS)
    if not isinstance(controls, list) or not controls:
        raise reject("it lists no controls")
    ids = []
    for control in controls:
        if not isinstance(control, dict) or not isinstance(control.get("id"), str):
            raise reject("a control record is malformed")
        if control.get("passed") is not True:
            raise reject(f"control '{control['id']}' did not pass")
        ids.append(control["id"])
    missing = [cid for cid in c.REQUIRED_CONTROLS if cid not in ids]
    if missing:
        raise reject(f"required controls are missing: {', '.join(missing)}")
    digest = doc.get(c.MODEL_DIGEST)
    if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
        raise reject(f"model_digest {digest!r} is not 'sha256:<64 hex>'")
    raw_policy = doc.get(c.POLICY)
    if not isinstance(raw_policy, dict):
        raise reject("it has no policy")
    try:
        policy = Policy(**raw_policy)
    except (TypeError, InvalidInputError) as e:
        raise reject(f"its policy is invalid ({one_line(e)})") from e
    for control in controls:
        waived = control.get("waived", False)
        if waived is False:
            continue
        flag = control["id"].removeprefix(c.CONTROL_MASKING_PREFIX)
        if waived is not True or flag not in policy.allow_masking_flags:
            raise reject(f"control '{control['id']}' is waived but its policy does not allow it")
    return Blessing(model_digest=digest, controls=tuple(ids), policy=policy)
