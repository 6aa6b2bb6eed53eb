"""The GitHub Actions example users copy (examples/github-actions/mlsecops.yml) stays valid.

actionlint (built from its Go module by tests/infra/actionlint/build.sh, `make actionlint`) checks
the workflow's syntax, expressions, permissions and untrusted-input use, and runs shellcheck on
every `run:` script; broken copies fail naming the problem. Every `mlsecops` command line in the
scripts is parsed by the real argparse parser, so a renamed or removed flag breaks this test, not
a user's CI.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfp_mlsecops.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / "examples" / "github-actions" / "mlsecops.yml"
BUILD_SH = REPO / "tests" / "infra" / "actionlint" / "build.sh"
# A cold build downloads a few modules and compiles for ~30 s; a cached one returns at once.
BUILD_TIMEOUT_S = 900.0
#: Shell words that end a command in the scripts' `mlsecops` lines.
_SHELL_OPERATORS = {"||", "&&", ";", "|", ">", ">>", "2>", "2>&1"}


@pytest.fixture(scope="module")
def actionlint() -> Path:
    process = subprocess.Popen(
        ["bash", str(BUILD_SH)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{BUILD_SH}: no result after {BUILD_TIMEOUT_S:.0f} s; run it by hand")
    assert process.returncode == 0, f"{BUILD_SH} failed: {stderr.strip()[-2000:]}"
    binary = Path(stdout.strip().splitlines()[-1])
    assert os.access(binary, os.X_OK), f"{BUILD_SH} printed {binary}, not an executable"
    return binary


@pytest.fixture(scope="module")
def shellcheck() -> str:
    found = shutil.which("shellcheck")
    assert found, "shellcheck missing: `make test-deps` installs it (apt: shellcheck)"
    return found


def _lint(actionlint: Path, shellcheck: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(actionlint), "-oneline", "-no-color", "-shellcheck", shellcheck, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_actionlint_is_the_pinned_version(actionlint: Path) -> None:
    done = subprocess.run([str(actionlint), "-version"], capture_output=True, text=True)
    assert done.stdout.splitlines()[0] == "v1.7.12"


def test_example_passes_actionlint_and_shellcheck(actionlint: Path, shellcheck: str) -> None:
    done = _lint(actionlint, shellcheck, WORKFLOW)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


#: (name, old text, new text, what actionlint must report): each break is one real mistake.
BREAKS = [
    (
        "script injection",
        'echo "$marker"',
        'echo "${{ github.event.pull_request.title }}"',
        '"github.event.pull_request.title" is potentially untrusted',
    ),
    ("unknown permission", "pull-requests: write", "pull-request: write", "unknown permission"),
    ("unquoted variable", 'rm -f "$key_file"', "rm -f $key_file", "SC2086"),
    (
        "missing step output",
        "steps.run.outputs.dir != ''",
        "steps.runn.outputs.dir != ''",
        'property "runn" is not defined',
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), [b[1:] for b in BREAKS], ids=[b[0] for b in BREAKS]
)
def test_broken_copies_fail_naming_the_problem(
    actionlint: Path, shellcheck: str, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = WORKFLOW.read_text()
    assert text.count(old) == 1, f"the example changed: {old!r} is not in it exactly once"
    broken = tmp_path / "mlsecops.yml"
    broken.write_text(text.replace(old, new))
    done = _lint(actionlint, shellcheck, broken)
    assert done.returncode == 1, done.stdout + done.stderr
    assert expected in done.stdout, done.stdout


def _steps() -> list[dict[str, Any]]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    return [step for job in doc["jobs"].values() for step in job["steps"]]


def _mlsecops_lines() -> list[list[str]]:
    """Every `mlsecops ...` command in the `run:` scripts, as argv after `mlsecops`."""
    commands = []
    for step in _steps():
        script = step.get("run", "").replace("\\\n", " ")
        for line in script.splitlines():
            words = shlex.split(line, comments=True)
            if not words or words[0] != "mlsecops":
                continue
            end = next((i for i, w in enumerate(words) if w in _SHELL_OPERATORS), len(words))
            commands.append(words[1:end])
    return commands


def test_every_mlsecops_command_parses_with_the_real_cli() -> None:
    commands = _mlsecops_lines()
    assert sorted(c[0] for c in commands) == ["check", "check", "compile", "run", "run"]
    parser = build_parser()
    for argv in commands:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            try:
                args = parser.parse_args(argv)
            except SystemExit:
                pytest.fail(f"mlsecops {shlex.join(argv)}: {stderr.getvalue().strip()}")
        if args.command == "check":
            assert args.profile == "mlsvs"
            assert sorted(name for name, _ in args.reporter) == ["cli", "json", "junit", "markdown"]
        if args.command == "compile":
            assert not args.check and args.output is not None


def test_no_other_line_calls_mlsecops() -> None:
    """A `mlsecops` call hidden after `if`, `$(` or a pipe would escape the parser check."""
    for step in _steps():
        for line in step.get("run", "").replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if any(re.fullmatch(r"(.*[(`])?mlsecops", w) for w in words[1:]):
                pytest.fail(f"not at the start of a line, so not parsed: {line.strip()}")


def test_report_files_match_what_is_uploaded_and_published() -> None:
    steps = {step["name"]: step for step in _steps()}
    (check,) = (c for c in _mlsecops_lines() if c[0] == "check" and "--public-key" in c)
    args = build_parser().parse_args(check)
    files = {name: str(path) for name, path in args.reporter if path is not None}
    upload = steps["Upload the reports and the run's evidence"]["with"]["path"]
    assert all(f.startswith("mlsecops-reports/") for f in files.values())
    assert "mlsecops-reports/" in upload.split()
    assert "!mlsecops-output/*/throwaway-keys/" in upload.split()
    junit = steps["Publish the MLSVS controls as JUnit results"]["with"]["report_paths"]
    assert junit == files["junit"]
    assert files["markdown"] in steps["Comment the report on the pull request"]["run"]


def test_actions_are_pinned_by_commit_with_a_version_comment() -> None:
    uses = re.findall(r"uses: (\S+)(.*)", WORKFLOW.read_text())
    assert len(uses) == 4
    for ref, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), ref
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), (ref, comment)


def test_least_privilege_and_no_secret_in_a_script() -> None:
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert doc["permissions"] == {}
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {
        "contents": "read",
        "checks": "write",
        "pull-requests": "write",
    }
    for step in job["steps"]:
        assert "secrets." not in step.get("run", ""), step["name"]
        assert "${{" not in step.get("run", ""), f"{step['name']}: pass expressions via env"
    checkout = job["steps"][0]
    assert checkout["with"]["persist-credentials"] is False
