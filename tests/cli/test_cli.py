"""The mlsecops command line: help, argument errors, token handling, submit failures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kfp_mlsecops.cli.main import EXIT_ERROR, EXIT_USAGE, main
from kfp_mlsecops.cli.submit import TOKEN_ENV, resolve_token


def _mlsecops(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("mlsecops")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "command", [[], ["run"], ["attack"], ["sign"], ["verify"], ["serve"], ["compile"], ["submit"]]
)
def test_every_command_has_help(command):
    out = _mlsecops(*command, "--help")
    assert out.returncode == 0
    assert "usage: mlsecops" in out.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--min-robust-accuracy", "1.5"], "outside [0, 1]"),
        (["--min-clean-accuracy", "-0.1"], "outside [0, 1]"),
        (["--min-clean-accuracy", "nan"], "not a finite number"),
        (["--eps", "0.1,-0.2"], "epsilons must be >= 0"),
        (["--eps", "0.1,abc"], "not a number"),
        (["--epochs", "0"], "must be >= 1"),
    ],
)
def test_run_rejects_bad_parameters_before_doing_anything(args, needle, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--output-dir", str(tmp_path / "out"), *args])
    assert exit_info.value.code == EXIT_USAGE
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_run_with_missing_key_file_is_one_clear_line(tmp_path, capsys):
    missing = tmp_path / "nope.pem"
    code = main(
        [
            "run",
            "--output-dir",
            str(tmp_path),
            "--private-key",
            str(missing),
            "--public-key",
            str(missing),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == EXIT_ERROR
    assert err.count("\n") == 0
    assert f"--private-key '{missing}': not found" in err


def test_run_with_only_one_key_is_refused(tmp_path, capsys):
    key = tmp_path / "k.pem"
    key.write_text("x")
    assert main(["run", "--output-dir", str(tmp_path), "--private-key", str(key)]) == EXIT_ERROR
    assert "give both --private-key and --public-key" in capsys.readouterr().err


def test_token_resolution_order(tmp_path, monkeypatch):
    sa = tmp_path / "token"
    sa.write_text("from-file\n")
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert resolve_token(None, sa_token_path=sa) == "from-file"
    monkeypatch.setenv(TOKEN_ENV, "from-env")
    assert resolve_token(None, sa_token_path=sa) == "from-env"
    assert resolve_token("explicit", sa_token_path=sa) == "explicit"
    monkeypatch.delenv(TOKEN_ENV)
    assert resolve_token(None, sa_token_path=tmp_path / "absent") is None


def test_submit_to_unreachable_host_fails_in_one_line_without_leaking_the_token(capsys):
    secret = "s3cr3t-token-value"
    code = main(
        [
            "submit",
            "--host",
            "http://127.0.0.1:9",
            "--namespace",
            "ns",
            "--experiment",
            "e",
            "--token",
            secret,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == EXIT_ERROR
    assert err.startswith("mlsecops submit: error: submit to 'http://127.0.0.1:9' failed")
    assert err.count("\n") == 0
    assert secret not in err


def test_submit_rejects_a_host_without_scheme(capsys):
    code = main(["submit", "--host", "kf.example", "--namespace", "n", "--experiment", "e"])
    assert code == EXIT_ERROR
    assert "must start with http:// or https://" in capsys.readouterr().err


def test_submit_rejects_a_missing_package(tmp_path, capsys):
    code = main(
        [
            "submit",
            "--host",
            "http://127.0.0.1:9",
            "--namespace",
            "n",
            "--experiment",
            "e",
            "--package",
            str(tmp_path / "x.yaml"),
        ]
    )
    assert code == EXIT_ERROR
    assert "run 'mlsecops compile'" in capsys.readouterr().err


def test_run_maps_tier_adversarial_training_and_masking_waivers_to_pipeline_arguments():
    from kfp_mlsecops.cli.main import _pipeline_arguments, build_parser

    args = build_parser().parse_args(
        [
            "run",
            "--attack-tier",
            "reliable",
            "--adversarial-training",
            "fgsm_rs",
            "--allow-masking-flag",
            "degenerate_gradients",
            "--allow-masking-flag",
            "blackbox_beats_whitebox",
            "--predictor",
            "verified",
        ]
    )
    assert _pipeline_arguments(args) == {
        "attack_tier": "reliable",
        "adversarial_training": "fgsm_rs",
        "allow_masking_flags": ["degenerate_gradients", "blackbox_beats_whitebox"],
        "predictor": "verified",
    }
    assert _pipeline_arguments(build_parser().parse_args(["run"])) == {}


@pytest.mark.parametrize(
    "args",
    [
        ["--allow-masking-flag", "everything"],
        ["--attack-tier", "slow"],
        ["--adversarial-training", "trades"],
        ["--predictor", "triton"],
    ],
)
def test_run_refuses_unknown_tier_method_or_flag(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--output-dir", str(tmp_path / "out"), *args])
    assert exit_info.value.code == EXIT_USAGE
    assert "invalid choice" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_run_maps_certificate_and_sigstore_options_to_pipeline_arguments(pki, tmp_path):
    from kfp_mlsecops.cli.main import _signing_arguments, build_parser

    key, leaf = pki.leaves["email"]
    args = build_parser().parse_args(
        [
            "run",
            "--signing-method",
            "certificate",
            "--private-key",
            str(key),
            "--certificate",
            str(leaf),
            "--chain",
            str(pki.intermediate),
            "--trust-chain",
            str(pki.root),
            "--identity",
            pki.email_identity,
        ]
    )
    assert _signing_arguments(args) == {
        "private_key_path": str(key.resolve()),
        "certificate_path": str(leaf.resolve()),
        "chain_paths": [str(pki.intermediate.resolve())],
        "verify_chain_paths": [str(pki.root.resolve())],
        "signer_identity": pki.email_identity,
    }
    trust = tmp_path / "trust.json"
    trust.write_text("{}")
    args = build_parser().parse_args(
        [
            "run",
            "--signing-method",
            "sigstore",
            "--identity",
            "me@example.com",
            "--issuer",
            "https://issuer.example",
            "--trust-config",
            str(trust),
        ]
    )
    mapped = _signing_arguments(args)
    assert mapped["use_ambient_credentials"] is True and mapped["identity_token_path"] == ""
    assert mapped["trust_config_path"] == mapped["signing_trust_config_path"] == str(trust)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--signing-method", "certificate"], "needs --private-key, --certificate, --trust-chain"),
        (["--certificate", "leaf.pem"], "--signing-method key does not use --certificate"),
        (
            ["--signing-method", "sigstore", "--private-key", "k.pem", "--public-key", "p.pem"],
            "does not use --private-key, --public-key",
        ),
        (
            ["--signing-method", "certificate", "--private-key", "absent.pem"],
            "--private-key 'absent.pem': not found",
        ),
    ],
)
def test_run_refuses_signing_options_that_do_not_fit_before_writing(args, needle, tmp_path, capsys):
    code = main(["run", "--output-dir", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err.strip()
    assert code == EXIT_ERROR and err.count("\n") == 0
    assert needle in err
    assert not (tmp_path / "out").exists()


def test_run_warns_before_anything_runs_when_parameters_fall_short_of_the_floor():
    from kfp_mlsecops.cli.run_local import _preflight
    from kfp_mlsecops.pipelines import make_secure_training
    from kfp_mlsecops.policy import load_floor

    pipeline = make_secure_training("key", policy_path="")
    lax = {"pgd_steps": 1, "epsilons": [0.0], "min_robust_accuracy": 0.0, "robust_epsilon": 0.0}
    warnings = _preflight(load_floor(None), lax, pipeline)
    assert any("steps=1 is below the floor 10" in w for w in warnings)
    assert any("was not evaluated" in w for w in warnings)
    assert _preflight(load_floor(None), {}, pipeline) == []  # the defaults meet the floor
