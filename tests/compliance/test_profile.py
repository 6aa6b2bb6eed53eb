"""Profiles, waivers and reporters as data, without a pipeline run: one-line errors for bad
files, extending the built-in profile, and the gate's control ids as the shared vocabulary."""

from datetime import date
from pathlib import Path

import pytest

from kfp_mlsecops import constants as C
from kfp_mlsecops.compliance import (
    CheckContext,
    RunFolder,
    load_profile,
    load_waivers,
    parse_reporter,
    run_profile,
)
from kfp_mlsecops.compliance.checks import check_names
from kfp_mlsecops.errors import InvalidInputError

CONTROL = """\
  - id: site-extra
    title: An extra control
    impact: 0.3
    tags: [mlsvs:provenance]
    references: [internal-123]
    description: provenance again
    check: provenance.recorded
"""


def _write(tmp_path: Path, text: str, name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(InvalidInputError) as e:
        load_profile(_write(tmp_path, text))
    message = str(e.value)
    assert "\n" not in message and message.startswith("profile '")
    return message


def test_the_builtin_profile_covers_every_gate_control_and_names_real_checks():
    profile = load_profile("mlsvs")
    assert profile.name == "mlsvs" and len({c.id for c in profile.controls}) == 17
    named = {g for c in profile.controls for g in c.gate_controls}
    assert named <= set(C.REQUIRED_CONTROLS)
    assert {c.check for c in profile.controls} <= set(check_names())
    for control in profile.controls:
        assert 0 <= control.impact <= 1 and control.references and control.description
        assert control.tags and all(t.startswith("mlsvs:") for t in control.tags)


def test_a_profile_extends_mlsvs_overrides_by_id_adds_and_skips(tmp_path):
    path = _write(
        tmp_path,
        "extends: mlsvs\nname: site\nskip_controls: [mlsvs-threat-model]\ncontrols:\n"
        "  - id: mlsvs-image-pinned\n    impact: 0.9\n" + CONTROL,
    )
    profile = load_profile(path)
    ids = [c.id for c in profile.controls]
    assert profile.name == "site" and "mlsvs-threat-model" not in ids and ids[-1] == "site-extra"
    pinned = profile.control("mlsvs-image-pinned")
    assert pinned is not None and pinned.impact == 0.9 and pinned.check == "deploy.image_pinned"
    assert "extends" in profile.source


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\ncontrols: []\n", "no controls; an empty profile proves nothing"),
        ("name: x\nsurprise: 1\ncontrols: []\n", "unknown key(s) ['surprise']"),
        ("- a list\n", "top level must be a mapping"),
        ("name: x\ncontrols: [\n", "not YAML"),
        ("controls:\n" + CONTROL, "'name' is missing"),
        ("name: x\ncontrols:\n" + CONTROL.replace("0.3", "1.5"), "impact 1.5 must be a number"),
        (
            "name: x\ncontrols:\n" + CONTROL.replace("provenance.recorded", "provenance.nope"),
            "check 'provenance.nope' is unknown; use one of data.validation_passed",
        ),
        (
            "name: x\ncontrols:\n" + CONTROL + "    gate_controls: [robust]\n",
            "gate control(s) ['robust'] unknown; use the gate's ids (model_layout",
        ),
        ("name: x\ncontrols:\n  - id: y\n    title: t\n", "missing check, description, impact"),
        ("extends: mlsvs\nskip_controls: [nope]\n", "skip_controls ['nope'] must list ids"),
        (
            "name: x\ncontrols:\n" + CONTROL + "    parameters: {limit: [high]}\n",
            "'parameters' must map names to finite numbers or non-empty strings",
        ),
    ],
)
def test_bad_profiles_are_one_line_errors_that_name_the_fix(tmp_path, text, expected):
    assert expected in _error(tmp_path, text)


def test_a_profile_parameter_is_inherited_and_overridden_by_id(tmp_path):
    builtin = load_profile("mlsvs").control("mlsvs-membership-privacy")
    assert builtin is not None and builtin.parameter("max_membership_advantage") == 0.10
    path = _write(
        tmp_path,
        "extends: mlsvs\nname: strict\ncontrols:\n  - id: mlsvs-membership-privacy\n"
        "    parameters: {max_membership_advantage: 0.05}\n",
    )
    strict = load_profile(path).control("mlsvs-membership-privacy")
    assert strict is not None and strict.parameter("max_membership_advantage") == 0.05
    assert strict.check == builtin.check and strict.references == builtin.references
    with pytest.raises(InvalidInputError, match="parameter 'other' is not set; add 'parameters"):
        strict.parameter("other")


def test_an_unknown_profile_name_is_a_one_line_error():
    with pytest.raises(InvalidInputError, match=r"profile 'mlsvs2': cannot read it .* use mlsvs"):
        load_profile("mlsvs2")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- control: x\n", "top level must be 'waivers:'"),
        ("waivers:\n  - control: mlsvs-threat-model\n    reason: r\n", "must have exactly"),
        (
            "waivers:\n  - control: mlsvs-threat-model\n    reason: r\n    expires: soon\n",
            "expires 'soon' must be a date YYYY-MM-DD",
        ),
        (
            "waivers:\n  - control: mlsvs-threat-model\n    reason: ' '\n    expires: 2030-01-01\n",
            "'reason' must say why",
        ),
        (
            "waivers:\n  - control: nope\n    reason: r\n    expires: 2030-01-01\n",
            "control 'nope' is not in profile mlsvs; fix the id",
        ),
    ],
)
def test_bad_waivers_are_one_line_errors(tmp_path, text, expected):
    with pytest.raises(InvalidInputError) as e:
        load_waivers(_write(tmp_path, text, "waivers.yaml"), load_profile("mlsvs"))
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_a_waiver_applies_through_its_expiry_date(tmp_path):
    text = "waivers:\n  - control: mlsvs-threat-model\n    reason: r\n    expires: 2030-01-31\n"
    (waiver,) = load_waivers(_write(tmp_path, text, "w.yaml"), load_profile("mlsvs")).values()
    assert waiver.expires == date(2030, 1, 31)
    assert not waiver.expired(date(2030, 1, 31)) and waiver.expired(date(2030, 2, 1))


def test_unknown_control_ids_and_reporters_are_refused(tmp_path):
    (tmp_path / "gate").mkdir()
    context = CheckContext(run=RunFolder.locate(tmp_path))
    with pytest.raises(InvalidInputError, match=r"--controls nope: not in profile mlsvs; use"):
        run_profile(load_profile("mlsvs"), context, only=["nope"])
    assert parse_reporter("junit:out.xml") == ("junit", Path("out.xml"))
    for bad in ("junit", "xml:out.xml", "cli:x"):
        with pytest.raises(InvalidInputError, match="use cli, json:FILE, junit:FILE"):
            parse_reporter(bad)


def test_a_folder_without_a_run_is_a_one_line_error(tmp_path):
    with pytest.raises(
        InvalidInputError, match=r"no pipeline run under it; pass one run-\* folder"
    ):
        RunFolder.locate(tmp_path)
