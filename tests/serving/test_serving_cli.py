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
    keras_file = copy / "model.keras"
    data = bytearray(keras_file.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit
    keras_file.write_bytes(bytes(data))
    return copy


def test_tampered_model_never_becomes_ready(
    signed_digits_model, tampered, tmp_path, serve_argv, predictor_env, unused_port
):
    port = unused_port
    argv = serve_argv(signed_digits_model, port)
    argv[argv.index("--model-dir") + 1] = str(tampered)
    result = _run(argv, predictor_env(tmp_path))
    _assert_refused(result, port, "files changed: model.keras", str(tampered))
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


def test_attestation_for_another_model_is_refused(
    signed_digits_model, tmp_path, serve_argv, predictor_env, unused_port, attest
):
    other = tmp_path / "other-model"
    other.mkdir()
    (other / "model.keras").write_bytes(b"a different model")
    foreign = attest(other, signed_digits_model.private_key, tmp_path / "ev" / "other.json")
    argv = serve_argv(signed_digits_model, unused_port, "--attestation", str(foreign))
    _assert_refused(_run(argv, predictor_env(tmp_path)), unused_port, str(foreign))


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
            "--port",
            "1",
        ]
    )
    assert (args.command, args.host, args.name) == ("serve", "127.0.0.1", "model")
    assert run_serve(args) == 1
    assert "does not verify" in capsys.readouterr().err
    no_key = parser.parse_args(["serve", "--model-dir", "m", "--signature", "s"])
    assert no_key.method == "key"  # the default method, still without a default key
    assert run_serve(no_key) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("mlsecops serve: error: ") and "needs --public-key" in line
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--model-dir", "m", "--signature", "s", "--method", "pgp"])
