"""`mlsecops sign` / `mlsecops verify` through their own argparse wiring (cli/signing_commands)."""

from __future__ import annotations

import argparse
import datetime
import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kfp_mlsecops.cli.signing_commands import (
    add_sign_parser,
    add_verify_parser,
    run_sign,
    run_verify,
)
from kfp_mlsecops.signing import generate_key_pair

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "model-transparency"


def _cli(*argv: str | Path) -> int:
    """Parse like `mlsecops` does and run the command; return its exit code."""
    parser = argparse.ArgumentParser(prog="mlsecops")
    sub = parser.add_subparsers(dest="command", required=True)
    add_sign_parser(sub)
    add_verify_parser(sub)
    args = parser.parse_args([str(a) for a in argv])
    return {"sign": run_sign, "verify": run_verify}[args.command](args)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    root = tmp_path / "model"
    (root / "1").mkdir(parents=True)
    (root / "1" / "saved_model.pb").write_bytes(b"graph" * 10)
    (root / "provenance.json").write_text("{}\n")
    return root


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("cli-keys")
    generate_key_pair(folder / "k.pem", folder / "k.pub")
    return folder / "k.pem", folder / "k.pub"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(leaf key, leaf certificate with SAN signer@example.com, root CA) — a minimal PKI."""
    folder = tmp_path_factory.mktemp("cli-pki")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CLI test CA")])

    def cert(subject, key, *, ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False
            ).add_extension(
                x509.SubjectAlternativeName([x509.RFC822Name("signer@example.com")]),
                critical=False,
            )
        return builder.sign(ca_key, hashes.SHA256())

    ca = cert(ca_name, ca_key, ca=True)
    leaf = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "signer")]), leaf_key, ca=False)
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.key").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "leaf.key", folder / "leaf.pem", folder / "ca.pem"


@pytest.mark.parametrize("command", ["sign", "verify"])
def test_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        _cli(command, "--help")
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: mlsecops {command}" in out and "--method" in out and "Exit codes" in out


def test_key_sign_then_verify_prints_the_digest(model, keys, tmp_path, capsys) -> None:
    sig = tmp_path / "model.sig"
    assert _cli("sign", "--model", model, "--signature", sig, "--method", "key",
                "--private-key", keys[0]) == 0  # fmt: skip
    digest = capsys.readouterr().out.strip()
    assert digest.startswith("sha256:") and len(digest) == 71
    verify = ("verify", "--model", model, "--signature", sig, "--method", "key")
    assert _cli(*verify, "--public-key", keys[1], "--expected-digest", digest) == 0
    assert capsys.readouterr().out.strip() == digest
    (model / "provenance.json").write_text('{"evil": 1}\n')
    assert _cli(*verify, "--public-key", keys[1]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("mlsecops verify: BLOCKED: ") and "files changed: provenance.json" in err
    assert "\n" not in err


def test_certificate_sign_then_verify_with_identity(model, pki, tmp_path, capsys) -> None:
    key, leaf, ca = pki
    sig = tmp_path / "model.sig"
    assert _cli("sign", "--model", model, "--signature", sig, "--method", "certificate",
                "--private-key", key, "--certificate", leaf, "--chain", ca) == 0  # fmt: skip
    digest = capsys.readouterr().out.strip()
    verify = ("verify", "--model", model, "--signature", sig, "--method", "certificate",
              "--chain", ca)  # fmt: skip
    assert _cli(*verify, "--identity", "signer@example.com") == 0
    assert capsys.readouterr().out.strip() == digest
    assert _cli(*verify, "--identity", "intruder@example.com") == 3
    assert "identity 'intruder@example.com' does not match" in capsys.readouterr().err


def test_sigstore_verify_of_an_upstream_bundle_offline(tmp_path, capsys) -> None:
    model = shutil.copytree(FIXTURES / "v1.1.0-sigstore", tmp_path / "v1.1.0-sigstore")
    model.chmod(0o755)  # the shared fixtures are read-only
    common = ("verify", "--model", model, "--signature", model / "model.sig",
              "--method", "sigstore", "--issuer", "https://sigstore.verify.ibm.com/oauth2",
              "--trust-config", FIXTURES / "prod_trust_config.json")  # fmt: skip
    ignored = [arg for p in ("model.sig", "ignore-me", ".git", ".gitattributes", ".gitignore",
                             ".github") for arg in ("--ignore-path", p)]  # fmt: skip
    assert _cli(*common, "--identity", "stefanb@us.ibm.com", *ignored) == 0
    assert capsys.readouterr().out.startswith("sha256:")
    assert _cli(*common, "--identity", "someone@example.com", *ignored) == 3
    assert "SANs do not match" in capsys.readouterr().err
    # Without approving the declared unsigned paths, verification blocks.
    assert _cli(*common, "--identity", "stefanb@us.ibm.com", "--ignore-path", "model.sig") == 3
    assert "did not allow" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["sign", "--method", "key"], "needs --private-key"),
        (["sign", "--method", "key", "--private-key", "k", "--chain", "c"], "does not use --chain"),
        (["sign", "--method", "certificate", "--private-key", "k"], "needs --private-key, --cert"),
        (["sign", "--method", "sigstore", "--password-file", "p"], "does not use --password-file"),
        (["verify", "--method", "key"], "needs --public-key"),
        (["verify", "--method", "certificate", "--chain", "c"], "needs --chain and identity"),
        (["verify", "--method", "sigstore", "--identity", "a"], "needs identity, issuer"),
        (["verify", "--method", "key", "--public-key", "k", "--ignore-path", "../x"], "inside"),
    ],
)
def test_wrong_options_for_the_method_exit_2(argv, needle, model, tmp_path, capsys) -> None:
    code = _cli(argv[0], "--model", model, "--signature", tmp_path / "m.sig", *argv[1:])
    err = capsys.readouterr().err.strip()
    assert code == 2 and needle in err and "\n" not in err


def test_unknown_method_and_missing_model_are_usage_errors(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        _cli("verify", "--model", tmp_path, "--signature", "s", "--method", "pgp")
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        _cli("sign", "--signature", "s", "--method", "key")
    assert "--model" in capsys.readouterr().err


def test_signing_failure_exits_1_and_writes_nothing(model, tmp_path, capsys) -> None:
    sig = tmp_path / "m.sig"
    code = _cli("sign", "--model", model, "--signature", sig, "--method", "key",
                "--private-key", tmp_path / "absent.pem")  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 1 and err.startswith("mlsecops sign: error: ") and "does not exist" in err
    assert not sig.exists()
