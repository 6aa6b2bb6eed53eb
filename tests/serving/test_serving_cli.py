"""`mlsecops serve` refuses unverified models: exit 1, one line, nothing ever listens."""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess

import pytest

from kfp_mlsecops.cli.serve_command import add_serve_parser, run_serve

#: The session fixture trains the digits model once (several seconds).
pytestmark = pytest.mark.slow


def _port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _run(argv, env):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)


def _assert_refused(result, port, *fragments):
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one-line reason, no traceback
    assert lines[0].startswith("mlsecops serve: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert _port_is_closed(port)


@pytest.fixture
def tampered(signed_digits_model, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(signed_digits_model.model_dir, copy)
    weights = copy / "1" / "variables" / "variables.data-00000-of-00001"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    weights.write_bytes(bytes(data))
    return copy


def test_tampered_model_never_becomes_ready(
    signed_digits_model, tampered, tmp_path, serve_argv, predictor_env, unused_port
):
    port = unused_port
    argv = serve_argv(signed_digits_model, port)
    argv[argv.index("--model-dir") + 1] = str(tampered)
    result = _run(argv, predictor_env(tmp_path))
    _assert_refused(result, port, "files changed: 1/variables/variables.data", str(tampered))
    assert not list(tmp_path.glob("mlsecops-predictor-*"))  # private copy removed


def test_wrong_key_never_becomes_ready(
    signed_digits_model, other_public_key, tmp_path, serve_argv, predictor_env, unused_port
):
    port = unused_port
    argv = serve_argv(signed_digits_model, port)
    argv[argv.index("--public-key") + 1] = str(other_public_key)
    _assert_refused(_run(argv, predictor_env(tmp_path)), port, "does not verify")


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--expected-digest", "sha256:" + "ab" * 32], "swapped in"),
        (["--signature", "/nonexistent/model.sig"], "does not exist"),
        (["--attestation", "/nonexistent/attestation.json"], "attestation"),
    ],
)
def test_other_verification_failures_exit_before_binding(
    signed_digits_model, tmp_path, serve_argv, predictor_env, unused_port, extra, fragment
):
    port = unused_port
    argv = serve_argv(signed_digits_model, port, *extra)
    _assert_refused(_run(argv, predictor_env(tmp_path)), port, fragment)


def test_finding_3_a_signed_attested_model_needs_the_gates_approval(
    signed_digits_model, tmp_path, serve_argv, predictor_env, unused_port
):
    """The review served a model the gate blocked: signature + attestation were enough."""
    argv = serve_argv(signed_digits_model, unused_port)
    at = argv.index("--approval")
    without = argv[:at] + argv[at + 2 :]
    result = _run(without, predictor_env(tmp_path))
    assert result.returncode == 2 and "--approval" in result.stderr
    assert _port_is_closed(unused_port)
    decision = tmp_path / "decision.json"  # the gate's unsigned decision, not an approval
    decision.write_text('{"decision": "approved", "blessed": true}')
    argv[at + 1] = str(decision)
    _assert_refused(_run(argv, predictor_env(tmp_path)), unused_port, "approval")


def test_an_approval_verified_with_the_model_key_is_refused(
    signed_digits_model, tmp_path, serve_argv, predictor_env, unused_port
):
    argv = serve_argv(signed_digits_model, unused_port)
    argv[argv.index("--approval-public-key") + 1] = str(signed_digits_model.public_key)
    _assert_refused(_run(argv, predictor_env(tmp_path)), unused_port, "separation of duties")


def test_serve_parser_plugs_into_a_subcommand_parser_and_fails_closed_in_process(
    signed_digits_model, other_public_key, tmp_path, capsys
):
    parser = argparse.ArgumentParser(prog="mlsecops")
    add_serve_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "serve",
            "--model-dir",
            str(signed_digits_model.model_dir),
            "--signature",
            str(signed_digits_model.signature),
            "--public-key",
            str(other_public_key),
            "--attestation",
            str(signed_digits_model.attestation),
            "--approval",
            str(signed_digits_model.approval),
            "--approval-public-key",
            str(signed_digits_model.approval_public_key),
            "--port",
            "1",
        ]
    )
    assert (args.command, args.host, args.name) == ("serve", "127.0.0.1", "model")
    assert run_serve(args) == 1
    assert "does not verify" in capsys.readouterr().err
    evidence = ["--attestation", "a", "--approval", "p", "--approval-public-key", "k"]
    no_key = parser.parse_args(["serve", "--model-dir", "m", "--signature", "s", *evidence])
    assert no_key.method == "key"  # the default method, still without a default key
    assert run_serve(no_key) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("mlsecops serve: error: ") and "needs --public-key" in line
    with pytest.raises(SystemExit):
        parser.parse_args(
            ["serve", "--model-dir", "m", "--signature", "s", *evidence, "--method", "pgp"]
        )
