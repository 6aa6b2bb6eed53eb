"""``mlsecops audit verify`` and ``mlsecops audit show``: check or list an audit log.

Wired into ``mlsecops`` by :mod:`kfp_mlsecops.cli.main` through :func:`add_audit_parser` and
:func:`run_audit`. Exit codes: 0 verified (one summary line on stdout) or listed; 1 the log did
not verify or cannot be read (one line on stderr naming the first bad record); 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kfp_mlsecops._exit_codes import EXIT_ERROR, EXIT_OK
from kfp_mlsecops.errors import MLSecOpsError

__all__ = ["add_audit_parser", "run_audit"]


def add_audit_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``audit`` (with ``verify`` and ``show``) to an ``add_subparsers()`` object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "audit",
        help="verify or list the tamper-evident audit log of gate decisions and deploys",
        description="The audit log holds one signed, hash-chained record per gate decision "
        "and deploy. Exit codes: 0 verified/listed, 1 the log did not verify or cannot be read.",
    )
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION")
    sub.required = True
    verify = sub.add_parser(
        "verify",
        help="check every record's hash, chain and signature",
        description="Verify every record: complete line, hash, signature with the audit public "
        "key, and the chain from the genesis record. Prints the number of records and the last "
        "hash (keep it elsewhere: records cut off the end are only caught against it). Exit 0 "
        "verified, 1 with one line naming the first bad record.",
    )
    verify.add_argument("--log", required=True, type=Path, metavar="PATH", help=_LOG_HELP)
    verify.add_argument(
        "--public-key",
        required=True,
        type=Path,
        metavar="PEM",
        help="the audit public key (the key method's ECDSA PEM)",
    )
    show = sub.add_parser(
        "show",
        help="list the records as a table (does NOT verify them)",
        description="List the records (seq, time, kind, outcome, model digest, run id). "
        "Nothing is verified; run 'mlsecops audit verify' for that.",
    )
    show.add_argument("--log", required=True, type=Path, metavar="PATH", help=_LOG_HELP)
    return parser


_LOG_HELP = "the audit log file, or the directory holding audit.jsonl"


def run_audit(args: argparse.Namespace) -> int:
    """Run ``mlsecops audit verify|show``; return the exit code."""
    from kfp_mlsecops.audit import read_log, verify_log

    try:
        if args.audit_command == "verify":
            verify_log(args.log, args.public_key)
            records = read_log(args.log)
            last = records[-1].hash
            print(f"audit log '{args.log}': {len(records)} records verified, last hash {last}")
            return EXIT_OK
        records = read_log(args.log)
    except MLSecOpsError as e:
        print(f"mlsecops audit {args.audit_command}: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    rows = [
        (
            str(r.seq),
            r.time[:19],
            r.kind,
            r.outcome,
            r.model_digest[:19] or "-",
            r.run_id or "-",
        )
        for r in records
    ]
    headers = ("seq", "time", "kind", "outcome", "model", "run")
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    for row in (headers, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK
