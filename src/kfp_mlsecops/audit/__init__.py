"""A tamper-evident audit trail: every gate decision and deploy, hash-chained and signed.

:func:`append_record` adds one record to a JSON Lines log (a local path or a PVC directory);
:func:`verify_log` checks the whole log against the audit public key and names the first edited,
dropped, reordered, inserted, unsigned or truncated record. See :mod:`.log` for the format.
"""

from __future__ import annotations

from kfp_mlsecops.audit.log import (
    GENESIS,
    KINDS,
    LOG_FILE,
    AuditRecord,
    append_record,
    read_log,
    resolve_log_path,
    verify_log,
)

__all__ = [
    "GENESIS",
    "KINDS",
    "LOG_FILE",
    "AuditRecord",
    "append_record",
    "read_log",
    "resolve_log_path",
    "verify_log",
]
