"""`mlsecops privacy --help` and its argument errors (no model needed; the end to end run is in
test_privacy_models.py)."""

import pytest

from kfp_mlsecops.cli.main import main


def test_help_names_every_option_and_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as e:
        main(["privacy", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and out.startswith("usage: mlsecops privacy")
    for option in ("--model", "--train-data", "--test-data", "--out", "--seed", "--max-advantage"):
        assert option in out
    assert "3 advantage" in " ".join(out.split())


@pytest.mark.parametrize(
    ("extra", "needle"),
    [(["--seed", "-1"], "must be >= 0"), (["--max-advantage", "nan"], "not a finite number")],
)
def test_bad_options_exit_2_with_one_line(capsys, extra, needle):
    args = ["privacy", "--model", "m", "--train-data", "a", "--test-data", "b", "--out", "o"]
    with pytest.raises(SystemExit) as e:
        main([*args, *extra])
    err = capsys.readouterr().err
    assert e.value.code == 2 and needle in err
