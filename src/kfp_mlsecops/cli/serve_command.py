"""``mlsecops serve``: verify an approved model, then serve it with KServe (v1 + v2 REST).

The model is verified (signature, attestation, the gate's signed approval against the policy
floor, optional digest pin) and loaded before any
port is bound; on failure the command prints one line and exits 1 (2 for verification options
that do not fit the method), and nothing listens. ``--method`` takes the same three methods and
options as ``mlsecops verify``; it defaults to ``key``.
Also runnable as ``python -m kfp_mlsecops.cli.serve_command`` (the predictor image does that).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any, Sequence

from kfp_mlsecops._exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from kfp_mlsecops.cli._args import int_at_least
from kfp_mlsecops.constants import SIGNING_METHOD_KEY, SIGNING_METHODS
from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError

__all__ = ["add_serve_parser", "main", "run_serve"]

_PROG = "mlsecops serve"
_DESCRIPTION = (
    "Verify the model's signature, robustness attestation and the gate's signed approval on a "
    "private copy, load its servable SavedModel (the one attacked, signed and approved), then "
    "serve KServe's v1 (/v1/models/NAME:predict) and v2 "
    "(/v2/models/NAME/infer) protocols with mlsecops_* metrics on /metrics. Exits 1 with a "
    "one-line reason, before binding the port, if anything fails to verify."
)


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` subcommand to an argparse subparsers object and return it."""
    parser = subparsers.add_parser(
        "serve",
        help="verify an approved, signed model, then serve it (KServe v1/v2)",
        description=_DESCRIPTION,
    )
    _add_arguments(parser)
    return parser


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    from kfp_mlsecops.serving.drift import DEFAULT_MIN_SAMPLES, DEFAULT_WINDOW
    from kfp_mlsecops.serving.request_guard import DEFAULT_MAX_REQUEST_BYTES
    from kfp_mlsecops.serving.squeeze_carry import DEFAULT_CARRY_ROWS

    model = parser.add_argument_group("model and verification")
    model.add_argument("--model-dir", type=Path, required=True, help="signed model directory")
    model.add_argument(
        "--signature", type=Path, required=True, help="model-signing bundle (outside the model)"
    )
    model.add_argument(
        "--method",
        choices=SIGNING_METHODS,
        default=SIGNING_METHOD_KEY,
        help="how the signature is verified, as in 'mlsecops verify': key (default), "
        "certificate (PKI) or sigstore (keyless, offline)",
    )
    model.add_argument(
        "--public-key", type=Path, default=None, help="key method: ECDSA public key PEM"
    )
    model.add_argument(
        "--chain",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="certificate method: trusted CA certificate(s), repeatable",
    )
    model.add_argument(
        "--identity",
        default=None,
        metavar="ID",
        help="certificate method: leaf subject DN or SAN value; sigstore method: the "
        "certificate identity (e-mail or URI)",
    )
    model.add_argument("--issuer", default=None, metavar="URL", help="sigstore method: OIDC issuer")
    model.add_argument(
        "--trust-config",
        type=Path,
        default=None,
        metavar="FILE",
        help="sigstore method: Sigstore ClientTrustConfig JSON",
    )
    model.add_argument(
        "--attestation",
        type=Path,
        required=True,
        help="the robustness attestation (signed with the same trust as the model)",
    )
    approval = parser.add_argument_group(
        "approval (a signature alone never serves)",
        "The gate's signed approval for exactly this model, verified with the GATE's public key "
        "(never the model-signing key); its policy must meet the floor.",
    )
    approval.add_argument(
        "--approval", type=Path, required=True, help="the gate's signed approval (approval.json)"
    )
    approval.add_argument(
        "--approval-public-key",
        type=Path,
        required=True,
        metavar="PEM",
        help="the gate's approval public key",
    )
    approval.add_argument(
        "--policy",
        type=Path,
        default=None,
        metavar="FILE",
        help="policy floor (YAML) the approved policy must meet (default: the built-in floor)",
    )
    approval.add_argument(
        "--expected-digest",
        default=None,
        help="also require this model digest (sha256:<hex>), e.g. the one deploy rolled out",
    )
    net = parser.add_argument_group("serving")
    net.add_argument("--name", default="model", help="model name in the URL (default: model)")
    net.add_argument("--host", default="127.0.0.1", help="listen address (default: 127.0.0.1)")
    net.add_argument("--port", type=_port, default=8080, help="listen port (default: 8080)")
    net.add_argument(
        "--max-request-bytes",
        type=int_at_least(1024),
        default=DEFAULT_MAX_REQUEST_BYTES,
        help=f"largest request body accepted (default: {DEFAULT_MAX_REQUEST_BYTES})",
    )
    net.add_argument(
        "--tf-threads",
        type=int_at_least(1),
        default=1,
        help="TensorFlow threads per operation (default: 1, best for small models; raise it "
        "for large ones)",
    )
    mon = parser.add_argument_group("runtime signals (metrics)")
    mon.add_argument(
        "--drift-window",
        type=int_at_least(1),
        default=DEFAULT_WINDOW,
        help=f"instances in the drift window (default: {DEFAULT_WINDOW})",
    )
    mon.add_argument(
        "--drift-min-samples",
        type=int_at_least(1),
        default=DEFAULT_MIN_SAMPLES,
        help=f"instances before a drift score is exported (default: {DEFAULT_MIN_SAMPLES})",
    )
    mon.add_argument(
        "--squeeze-every",
        type=int_at_least(1),
        default=1,
        help="feature-squeeze one instance in every N (default: 1, all)",
    )
    mon.add_argument(
        "--squeeze-carry-rows",
        type=int_at_least(1),
        default=DEFAULT_CARRY_ROWS,
        help="squeezed copies predicted together in one request's model call "
        f"(default: {DEFAULT_CARRY_ROWS}; 1: each request predicts its own)",
    )
    mon.add_argument("--squeeze-bits", type=int_at_least(1), default=None, help="bit depth")
    mon.add_argument(
        "--squeeze-median", type=int, choices=(0, 2), default=None, help="median window (0=off)"
    )
    mon.add_argument(
        "--squeeze-threshold",
        type=float,
        default=None,
        help="L1 score above which an instance counts as suspected adversarial",
    )


def run_serve(args: argparse.Namespace) -> int:
    """Verify, load and serve; return the exit code (1 with a one-line reason on failure)."""
    try:
        policy = _policy(args)
    except InvalidInputError as e:
        return _fail(_flag_names(str(e)), EXIT_USAGE)
    except Exception as e:  # noqa: BLE001 - fail closed with one line, never a traceback
        return _fail(f"--method {args.method}: verification options unusable ({_one_line(e)})")
    try:
        predictor = _verified_predictor(args, policy)
    except MLSecOpsError as e:
        return _fail(str(e))
    except Exception as e:  # noqa: BLE001 - fail closed with one line, never a traceback
        return _fail(f"model '{args.model_dir}': could not be loaded ({_one_line(e)})")
    from kfp_mlsecops.serving.server import serve

    try:
        serve(
            predictor,
            host=args.host,
            port=args.port,
            max_request_bytes=args.max_request_bytes,
        )
    except MLSecOpsError as e:
        return _fail(str(e))
    except Exception as e:  # noqa: BLE001 - e.g. KServe internals changed: one line, exit 1
        return _fail(f"server on {args.host}:{args.port} failed ({_one_line(e)})")
    finally:
        predictor.stop()
    return EXIT_OK


def _policy(args: argparse.Namespace) -> Any:
    """Build the verification policy for ``--method`` (InvalidInputError on wrong options)."""
    from kfp_mlsecops.serving.policy import policy_for_method

    return policy_for_method(
        args.method,
        signature_path=args.signature,
        public_key_path=args.public_key,
        chain_paths=args.chain,
        identity=args.identity,
        issuer=args.issuer,
        trust_config_path=args.trust_config,
        attestation_path=args.attestation,
        approval_path=args.approval,
        approval_public_key_path=args.approval_public_key,
        floor_path=args.policy,
        expected_digest=args.expected_digest,
    )


def _verified_predictor(args: argparse.Namespace, policy: Any) -> Any:
    """Verify and load under ``policy`` (no KServe import before the model verified)."""
    from kfp_mlsecops.serving.runtime import MonitorSettings, VerifiedModelRuntime

    runtime = VerifiedModelRuntime(
        args.name,
        model_dir=args.model_dir,
        policy=policy,
        settings=MonitorSettings(
            drift_window=args.drift_window,
            drift_min_samples=min(args.drift_min_samples, args.drift_window),
            squeeze_every=args.squeeze_every,
            squeeze_carry_rows=args.squeeze_carry_rows,
            squeeze_bits=args.squeeze_bits,
            squeeze_median_window=args.squeeze_median,
            squeeze_threshold=args.squeeze_threshold,
            tf_threads=args.tf_threads,
        ),
    )
    runtime.load()
    try:
        from kfp_mlsecops.serving.predictor import VerifiedPredictor

        predictor = VerifiedPredictor(runtime)
        predictor.start()
    except BaseException:
        runtime.close()
        raise
    return predictor


def _fail(reason: str, code: int = EXIT_ERROR) -> int:
    print(f"{_PROG}: error: {_one_line(reason)}", file=sys.stderr)
    return code


#: Library option names as this command spells them (messages of the policy builder).
_FLAGS = {
    "public_key_path": "--public-key",
    "chain_paths": "--chain",
    "trust_config_path": "--trust-config",
    "identity": "--identity",
    "issuer": "--issuer",
    "expected digest": "--expected-digest",
}


def _flag_names(message: str) -> str:
    for name, flag in _FLAGS.items():
        message = message.replace(name, flag)
    return message


def _one_line(value: object) -> str:
    text = str(value).strip()
    return (text.splitlines()[0] if text else type(value).__name__)[:600]


def _port(text: str) -> int:
    value = int_at_least(1)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1..65535)")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``serve`` as its own program (``python -m kfp_mlsecops.cli.serve_command``)."""
    parser = argparse.ArgumentParser(prog=_PROG, description=_DESCRIPTION)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    return run_serve(args)


if __name__ == "__main__":
    sys.exit(main())
