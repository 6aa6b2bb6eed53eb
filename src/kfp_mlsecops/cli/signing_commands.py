"""``mlsecops sign`` and ``mlsecops verify``: sign or verify a model folder outside pipelines.

Wired into ``mlsecops`` by :mod:`kfp_mlsecops.cli.main` through :func:`add_sign_parser`,
:func:`add_verify_parser`, :func:`run_sign` and :func:`run_verify`. The signing library is
imported only when a command runs, so ``mlsecops --help`` stays fast.

Exit codes: 0 signed / verified (the model digest is printed on stdout); 3 verification failed
(do not deploy); 2 wrong or missing options for the method; 1 any other error (e.g. signing
failed). Every failure prints one line on stderr.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path
from typing import Any

from kfp_mlsecops._exit_codes import EXIT_BLOCKED, EXIT_ERROR, EXIT_OK, EXIT_USAGE
from kfp_mlsecops.errors import InvalidInputError, MLSecOpsError, VerificationError
from kfp_mlsecops.signing.registry import method_names

__all__ = [
    "add_sign_parser",
    "add_signing_options",
    "add_trust_options",
    "add_verify_parser",
    "error_exit",
    "run_sign",
    "run_verify",
    "signing_config",
    "verification_config",
]

_SIGN_EXIT_CODES = (
    "Exit codes: 0 signed (the model digest is printed on stdout), 1 signing failed, 2 wrong "
    "options for the method."
)
_VERIFY_EXIT_CODES = (
    "Exit codes: 0 verified (the model digest is printed on stdout), 3 verification failed "
    "(do not deploy), 2 wrong options for the method, 1 any other error."
)


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=88)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, type=Path, metavar="DIR", help="the model directory"
    )
    parser.add_argument(
        "--signature",
        required=True,
        type=Path,
        metavar="FILE",
        help="the signature bundle (keep it outside the model directory)",
    )
    parser.add_argument(
        "--method",
        required=True,
        choices=method_names(),
        help="key (ECDSA PEM), certificate (PKI) or sigstore (keyless)",
    )


def add_sign_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``sign`` to an ``add_subparsers()`` object; return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sign",
        help="sign a model directory (OpenSSF model signing)",
        description=_wrap(
            "Sign every file of a model directory into a Sigstore bundle (OpenSSF Model Signing "
            "format), hashed per file with SHA-256, .git* files included, symlinks refused."
        )
        + "\n\n"
        + _wrap(_SIGN_EXIT_CODES),
        epilog="examples:\n"
        "  mlsecops sign --model m --signature m.sig --method key --private-key k.pem\n"
        "  mlsecops sign --model m --signature m.sig --method certificate --private-key k.pem \\\n"
        "      --certificate leaf.pem --chain intermediate.pem\n"
        "  mlsecops sign --model m --signature m.sig --method sigstore "
        "--identity-token-file /var/run/secrets/sigstore/token",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser)
    add_signing_options(parser)
    return parser


def add_signing_options(parser: argparse.ArgumentParser) -> None:
    """Add the signing-method options of ``mlsecops sign`` (also used by ``mlsecops attest``)."""
    key = parser.add_argument_group("key and certificate methods")
    key.add_argument("--private-key", type=Path, metavar="PEM", help="ECDSA private key")
    key.add_argument(
        "--password-file", type=Path, metavar="FILE", help="key password (key method only)"
    )
    cert = parser.add_argument_group("certificate method")
    cert.add_argument(
        "--certificate", type=Path, metavar="PEM", help="the code-signing leaf certificate"
    )
    cert.add_argument(
        "--chain",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="issuing CA certificate(s), repeatable",
    )
    sig = parser.add_argument_group("sigstore method (needs network to the Sigstore instance)")
    source = sig.add_mutually_exclusive_group()
    source.add_argument(
        "--identity-token-file",
        type=Path,
        metavar="FILE",
        help="OIDC identity token (audience 'sigstore'), e.g. a projected service-account token",
    )
    source.add_argument(
        "--ambient",
        action="store_true",
        help="detect an ambient OIDC credential (GitHub Actions, GitLab, Buildkite, GCP)",
    )
    sig.add_argument(
        "--trust-config",
        type=Path,
        metavar="FILE",
        help="Sigstore ClientTrustConfig JSON (default: the public-good instance)",
    )


def signing_config(args: argparse.Namespace) -> Any:
    """Return the SigningConfig for ``--method`` and the options of :func:`add_signing_options`."""
    from kfp_mlsecops.signing import SigningConfig

    return SigningConfig.from_method(
        args.method,
        private_key_path=args.private_key,
        password_path=args.password_file,
        certificate_path=args.certificate,
        chain_paths=args.chain,
        identity_token_path=args.identity_token_file,
        use_ambient_credentials=args.ambient,
        trust_config_path=args.trust_config,
    )


def add_verify_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``verify`` to an ``add_subparsers()`` object; return its parser."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "verify",
        help="verify a model directory against its signature",
        description=_wrap(
            "Verify a model directory against a signature bundle, offline. Any changed, added, "
            "removed or renamed file, untrusted signer or unapproved unsigned path fails."
        )
        + "\n\n"
        + _wrap(_VERIFY_EXIT_CODES),
        epilog="examples:\n"
        "  mlsecops verify --model m --signature m.sig --method key --public-key k.pub\n"
        "  mlsecops verify --model m --signature m.sig --method certificate \\\n"
        "      --chain intermediate.pem --chain root.pem --identity signer@example.com\n"
        "  mlsecops verify --model m --signature m.sig --method sigstore \\\n"
        "      --identity signer@example.com --issuer https://accounts.google.com \\\n"
        "      --trust-config trust_config.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser)
    add_trust_options(parser)
    parser.add_argument(
        "--ignore-path",
        action="append",
        default=[],
        metavar="P",
        help="model-relative path left unsigned at signing (repeatable); every path the "
        "bundle declares unsigned must be listed",
    )
    parser.add_argument(
        "--expected-digest",
        metavar="sha256:HEX",
        help="also require this model digest (as printed by 'mlsecops sign')",
    )
    return parser


def add_trust_options(parser: argparse.ArgumentParser) -> None:
    """Add what ``mlsecops verify`` trusts per method (also used by gate and deploy)."""
    parser.add_argument("--public-key", type=Path, metavar="PEM", help="key method: ECDSA key")
    parser.add_argument(
        "--chain",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="certificate method: trusted CA certificate(s), repeatable",
    )
    parser.add_argument(
        "--identity",
        metavar="ID",
        help="certificate method: leaf subject DN (e.g. CN=signer,O=Example) or SAN value; "
        "sigstore method: the certificate identity (e-mail or URI)",
    )
    parser.add_argument("--issuer", metavar="URL", help="sigstore method: OIDC issuer")
    parser.add_argument(
        "--trust-config", type=Path, metavar="FILE", help="sigstore method: ClientTrustConfig JSON"
    )


def verification_config(args: argparse.Namespace) -> Any:
    """Return the VerificationConfig for ``--method`` and :func:`add_trust_options`."""
    from kfp_mlsecops.signing import VerificationConfig

    return VerificationConfig.from_method(
        args.method,
        public_key_path=args.public_key,
        chain_paths=args.chain,
        identity=args.identity,
        issuer=args.issuer,
        trust_config_path=args.trust_config,
    )


def run_sign(args: argparse.Namespace) -> int:
    """Run ``mlsecops sign``; return the exit code (prints the digest, or one error line)."""
    try:
        digest = signing_config(args).sign(args.model, args.signature)
    except InvalidInputError as e:
        return error_exit("sign", "error", e, EXIT_USAGE)
    except MLSecOpsError as e:
        return error_exit("sign", "error", e, EXIT_ERROR)
    print(digest)
    print(
        f"mlsecops sign: signed '{args.model}' into '{args.signature}' ({args.method})",
        file=sys.stderr,
    )
    return EXIT_OK


def run_verify(args: argparse.Namespace) -> int:
    """Run ``mlsecops verify``; return the exit code (prints the digest, or one error line)."""
    try:
        config = (
            verification_config(args)
            .set_ignore_paths(args.ignore_path)
            .set_expected_digest(args.expected_digest)
        )
        digest = config.verify(args.model, args.signature)
    except InvalidInputError as e:
        return error_exit("verify", "error", e, EXIT_USAGE)
    except VerificationError as e:
        return error_exit("verify", "BLOCKED", e, EXIT_BLOCKED)
    except MLSecOpsError as e:
        return error_exit("verify", "error", e, EXIT_ERROR)
    print(digest)
    print(f"mlsecops verify: OK: '{args.model}' matches '{args.signature}'", file=sys.stderr)
    return EXIT_OK


#: Library option names as the command line spells them (for messages from ``from_method``).
_FLAGS = {
    "private_key_path": "--private-key",
    "password_path": "--password-file",
    "certificate_path": "--certificate",
    "chain_paths": "--chain",
    "identity_token_path": "--identity-token-file",
    "use_ambient_credentials": "--ambient",
    "trust_config_path": "--trust-config",
    "public_key_path": "--public-key",
    "ignore_paths": "--ignore-path",
}


def error_exit(command: str, label: str, error: Exception, code: int) -> int:
    """Print ``mlsecops COMMAND: LABEL: <one line>`` on stderr and return ``code``."""
    text = " ".join(str(error).split()) or type(error).__name__
    if isinstance(error, InvalidInputError):
        for name, flag in _FLAGS.items():
            text = text.replace(name, flag)
    print(f"mlsecops {command}: {label}: {text}", file=sys.stderr)
    return code
