"""Waivers: accept a control's failure for a reason, until an expiry date.

A waivers file is YAML: ``waivers: [{control, reason, expires}]``. A waiver applies through its
``expires`` date (inclusive); after it, the control counts again and the report says the waiver
expired. Every waiver needs a reason and an expiry: nothing is waived for ever.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml

from kfp_mlsecops.compliance.profile import Profile
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["Waiver", "load_waivers"]

_KEYS = {"control", "reason", "expires"}


@dataclass(frozen=True)
class Waiver:
    """An accepted failure of ``control`` for ``reason`` until ``expires`` (inclusive)."""

    control: str
    reason: str
    expires: date

    def expired(self, today: date) -> bool:
        """Return True once ``today`` is past the expiry date."""
        return today > self.expires


def load_waivers(path: str | os.PathLike[str], profile: Profile) -> dict[str, Waiver]:
    """Read a waivers file for ``profile``; return waivers by control id (InvalidInputError).

    Args:
        path: the YAML waivers file.
        profile: the profile its control ids must belong to.

    """
    where = f"waivers '{path}'"
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInputError(f"{where}: cannot read it ({e.strerror}); check the path") from e
    except yaml.YAMLError as e:
        raise InvalidInputError(f"{where}: not YAML ({' '.join(str(e).split())[:200]})") from e
    items = doc.get("waivers") if isinstance(doc, dict) and set(doc) == {"waivers"} else None
    if not isinstance(items, list):
        raise InvalidInputError(f"{where}: top level must be 'waivers:' with a list of waivers")
    waivers: dict[str, Waiver] = {}
    for i, item in enumerate(items):
        at = f"{where}: waivers[{i}]"
        if not isinstance(item, dict) or set(item) != _KEYS:
            raise InvalidInputError(f"{at}: must have exactly {sorted(_KEYS)}")
        control, reason, expires = item["control"], item["reason"], item["expires"]
        if not isinstance(control, str) or profile.control(control) is None:
            raise InvalidInputError(
                f"{at}: control {control!r} is not in profile {profile.name}; fix the id"
            )
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInputError(f"{at}: 'reason' must say why the failure is accepted")
        if isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires)
            except ValueError:
                pass
        if isinstance(expires, datetime):
            expires = expires.date()
        if not isinstance(expires, date):
            raise InvalidInputError(f"{at}: expires {expires!r} must be a date YYYY-MM-DD")
        if control in waivers:
            raise InvalidInputError(f"{at}: control {control} is waived twice; keep one")
        waivers[control] = Waiver(control, reason.strip(), expires)
    return waivers
