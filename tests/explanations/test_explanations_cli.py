"""`mlsecops explanations --help` (no model needed; the end to end run is in
test_explanations_models.py)."""

import pytest

from kfp_mlsecops.cli.main import main


def test_help_names_every_option_and_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as e:
        main(["explanations", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith("usage: mlsecops explanations")
    for option in ("--model", "--data", "--out", "--samples", "--seed", "--max-similarity"):
        assert option in out
    assert "Exit 0 passed, 3 failed" in " ".join(out.split())


def test_bad_options_exit_2(capsys):
    for argv in (
        ["explanations", "--model", "m", "--out", "o"],
        ["explanations", "--model", "m", "--data", "d", "--out", "o", "--samples", "1"],
        ["explanations", "--model", "m", "--data", "d", "--out", "o", "--max-similarity", "0"],
    ):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
    assert "--data" in capsys.readouterr().err
