"""``mlsecops check``: evaluate a compliance profile against a run folder and/or a namespace.

Wired into ``mlsecops`` by :mod:`kfp_mlsecops.cli.main` through :func:`add_check_parser` and
:func:`run_check`. Exit codes: 0 no control failed (not-run and waived controls do not fail);
3 a failed control has impact >= 0.7; 4 only lower-impact controls failed (impact 0.0 controls
are informational: reported, never counted); 1 unusable input (profile, waivers, run folder,
kubeconfig file); 2 bad arguments (neither --run nor --namespace).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kfp_mlsecops._exit_codes import EXIT_USAGE
from kfp_mlsecops.errors import InvalidInputError

__all__ = ["add_check_parser", "run_check"]


def _reporter(text: str) -> tuple[str, Path | None]:
    from kfp_mlsecops.compliance.reporters import parse_reporter

    try:
        return parse_reporter(text)
    except InvalidInputError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--reporter ")) from None


def add_check_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``check`` to an ``add_subparsers()`` object; return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="evaluate a compliance profile (OWASP MLSVS) against a run folder and/or a namespace",
        description="Run a profile of controls (id, impact 0-1, MLSVS tags, references) against "
        "the evidence of a local run ('mlsecops run --output-dir D' writes D/run-*) and/or a "
        "cluster namespace read through the Kubernetes API (--namespace), and report it; run "
        "controls are not run without --run, cluster controls not without --namespace. Exit 0 "
        "when no control failed (not-run and waived ones do not fail), 3 when a failed control "
        "has impact >= 0.7, 4 when only "
        "lower-impact controls failed (impact 0.0 controls are informational: reported, never "
        "counted), 1 on unusable input, 2 on bad arguments.",
    )
    parser.add_argument(
        "--run", type=Path, metavar="DIR", help="a run-* folder (without it: run controls not run)"
    )
    parser.add_argument(
        "--namespace",
        metavar="NS",
        help="a namespace to check through the Kubernetes API: pipeline RBAC, InferenceServices, "
        "PrometheusRules (without it: cluster controls not run)",
    )
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        metavar="FILE",
        help="kubeconfig for --namespace (default: in-cluster, then $KUBECONFIG or ~/.kube/config)",
    )
    parser.add_argument(
        "--context", metavar="CTX", help="kubeconfig context for --namespace (default: current)"
    )
    parser.add_argument(
        "--profile",
        default="mlsvs",
        metavar="mlsvs|FILE",
        help="the built-in profile (mlsvs) or a YAML file, which may 'extends: mlsvs'",
    )
    parser.add_argument(
        "--waivers",
        type=Path,
        metavar="FILE",
        help="YAML 'waivers: [{control, reason, expires}]'; expired waivers do not apply",
    )
    parser.add_argument(
        "--controls", nargs="+", default=[], metavar="ID", help="run only these control ids"
    )
    parser.add_argument(
        "--reporter",
        nargs="+",
        type=_reporter,
        default=None,
        metavar="SPEC",
        help="cli, json:FILE, junit:FILE, markdown:FILE (several at once; default cli)",
    )
    parser.add_argument(
        "--public-key",
        type=Path,
        metavar="PEM",
        help="the model signer's public key; without it signature and attestation controls "
        "are not run (a key stored beside the evidence proves nothing)",
    )
    parser.add_argument(
        "--threat-model",
        type=Path,
        metavar="FILE",
        help="the threat model (default: THREAT_MODEL.md in the run folder, then here)",
    )
    return parser


def run_check(args: argparse.Namespace) -> int:
    """Run ``mlsecops check``; return its exit code (errors raise MLSecOpsError)."""
    from kfp_mlsecops.compliance import (
        CheckContext,
        RunFolder,
        load_profile,
        load_waivers,
        run_profile,
        write_reports,
    )

    if args.run is None and args.namespace is None:
        print("mlsecops check: error: pass --run DIR, --namespace NS or both", file=sys.stderr)
        return EXIT_USAGE
    if args.namespace is None and (args.kubeconfig is not None or args.context is not None):
        print("mlsecops check: error: --kubeconfig/--context need --namespace", file=sys.stderr)
        return EXIT_USAGE
    if args.public_key is not None and not args.public_key.is_file():
        raise InvalidInputError(f"--public-key '{args.public_key}': not found; check the path")
    if args.kubeconfig is not None and not args.kubeconfig.is_file():
        raise InvalidInputError(f"--kubeconfig '{args.kubeconfig}': not found; check the path")
    profile = load_profile(args.profile)
    waivers = load_waivers(args.waivers, profile) if args.waivers is not None else {}
    cluster = None
    if args.namespace is not None:
        from kfp_mlsecops.compliance.cluster import Cluster
        from kfp_mlsecops.deploy.names import validate_namespace

        validate_namespace(args.namespace)
        cluster = Cluster(args.namespace, kubeconfig=args.kubeconfig, context=args.context)
    context = CheckContext(
        run=RunFolder.locate(args.run) if args.run is not None else None,
        cluster=cluster,
        public_key=args.public_key,
        threat_model=args.threat_model,
    )
    report = run_profile(profile, context, waivers=waivers, only=args.controls)
    write_reports(report, args.reporter or [("cli", None)], sys.stdout)
    return report.exit_code
