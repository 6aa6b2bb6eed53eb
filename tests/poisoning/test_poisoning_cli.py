"""`mlsecops poisoning --help` (no model needed; the end to end run is in
test_poisoning_models.py)."""

import pytest

from kfp_mlsecops.cli.main import main


def test_help_names_every_option_and_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as e:
        main(["poisoning", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith("usage: mlsecops poisoning")
    for option in ("--model", "--data", "--out"):
        assert option in out
    assert "3 a class is suspicious" in " ".join(out.split())
