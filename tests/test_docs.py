"""The README and docs/ match the code: size, links, CLI flags, component parameters, make targets.

Nothing here runs a command: flags are looked up in the parser ``mlsecops`` builds, component
parameters in the component functions' signatures, make targets in the Makefile. The Python
examples of README.md and docs/components.md are compiled with KFP.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import shlex
from pathlib import Path

import pytest

from kfp_mlsecops.cli.main import build_parser
from kfp_mlsecops.components import __all__ as COMPONENTS

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
README_LIMIT = 12_500

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
MAKE = re.compile(r"(?:^|[\s;&|(`])make\s+([a-z][a-z0-9-]*)")
INLINE_CODE = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$", re.M)


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _code_blocks(text: str) -> list[str]:
    return FENCE.findall(text)


def _prose(text: str) -> str:
    """``text`` without its fenced code blocks."""
    return FENCE.sub("", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    anchors = set()
    for _, heading in HEADING.findall(_prose(path.read_text(encoding="utf-8"))):
        slug = _slug(heading)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


# --- the parser -----------------------------------------------------------------------------------


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _resolve(words: list[str]) -> tuple[str, argparse.ArgumentParser] | None:
    """The (sub)command ``words`` start with, e.g. ``audit verify``; None if not a command."""
    parser, names = build_parser(), []
    for word in words:
        nested = _subparsers(parser)
        if word not in nested:
            break
        parser = nested[word]
        names.append(word)
    return (" ".join(names), parser) if names else None


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {s for action in parser._actions for s in action.option_strings}


def _commands_in_code(text: str) -> list[tuple[str, str]]:
    """Every ``mlsecops ...`` command line in code blocks: (where, the joined command)."""
    found = []
    for block in _code_blocks(text):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.strip()
            line = re.sub(r"\s#.*$", "", line)
            match = re.match(r"^(?:\S*/)?mlsecops\s+(.*)$", line)
            if match:
                found.append((line, match.group(1)))
    return found


def _quoted_commands(body: str) -> tuple[list[str], str]:
    """Check quoted mentions of other commands (``'mlsecops run --output-dir D'``); drop them.

    Returns the flags those mentions use that their command lacks, and ``body`` without them.
    """
    wrong = []
    quoted = re.compile(r"(['`])mlsecops ([^'`]*)\1")
    for match in quoted.finditer(body):
        resolved = _resolve(match.group(2).split())
        if resolved is None:
            wrong.append(f"{match.group(0)}: no such subcommand")
            continue
        flags = _flags(resolved[1])
        wrong += [f"{match.group(0)}: {f}" for f in FLAG.findall(match.group(2)) if f not in flags]
    return wrong, quoted.sub("", body)


def _cli_sections(text: str) -> list[tuple[str, str]]:
    """(``mlsecops <sub>`` heading words, section text) for every heading naming a command."""
    matches = list(HEADING.finditer(text))
    sections = []
    for i, match in enumerate(matches):
        name = re.match(r"`mlsecops ([a-z][a-z -]*)`", match.group(2))
        if not name:
            continue
        level = len(match.group(1))
        end = len(text)
        for later in matches[i + 1 :]:
            if len(later.group(1)) <= level or re.match(r"`mlsecops ", later.group(2)):
                end = later.start()
                break
        sections.append((name.group(1), text[match.end() : end]))
    return sections


# --- (a) size -------------------------------------------------------------------------------------


def test_readme_is_short():
    size = len(README.read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; move detail into docs/"


def test_docs_exist_and_readme_links_every_page():
    names = {p.name for p in DOCS}
    for page in (
        "components.md",
        "signing.md",
        "robustness.md",
        "serving-and-monitoring.md",
        "cluster.md",
        "cli.md",
        "extending.md",
    ):
        assert page in names, page
    readme = README.read_text(encoding="utf-8")
    for page in DOCS:
        assert f"(docs/{page.name})" in readme, f"README.md does not link docs/{page.name}"


# --- (b) links ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_relative_links_point_to_existing_files(page):
    broken = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target} (no {resolved})")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(f"{target} (no heading #{anchor} in {_rel(resolved)})")
    assert not broken, f"{_rel(page)}: broken links: {broken}"


# --- (c) CLI flags --------------------------------------------------------------------------------


def test_cli_page_documents_every_subcommand_and_only_real_flags():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    sections = _cli_sections(text)
    documented = {name for name, _ in sections}
    wrong = []
    for name, body in sections:
        resolved = _resolve(name.split())
        assert resolved is not None and resolved[0] == name, f"docs/cli.md: no command {name!r}"
        flags = _flags(resolved[1])
        quoted_wrong, body = _quoted_commands(body)
        wrong += quoted_wrong
        wrong += [f"mlsecops {name} {flag}" for flag in FLAG.findall(body) if flag not in flags]
    assert not wrong, f"docs/cli.md documents flags the parser lacks: {sorted(set(wrong))}"

    def leaves(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
        nested = _subparsers(parser)
        if not nested:
            return [prefix]
        return [n for k, p in nested.items() for n in leaves(p, f"{prefix} {k}".strip())]

    missing = set(leaves(build_parser(), "")) - documented
    assert not missing, f"docs/cli.md has no section for: {sorted(missing)}"


def test_cli_page_documents_every_flag():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for name, body in _cli_sections(text):
        _, parser = _resolve(name.split())
        if _subparsers(parser):
            continue
        flags = {f for f in _flags(parser) if f.startswith("--") and f != "--help"}
        missing = flags - set(FLAG.findall(body))
        assert not missing, f"docs/cli.md, mlsecops {name}: undocumented {sorted(missing)}"


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_commands_in_code_blocks_use_real_flags(page):
    wrong = []
    for line, rest in _commands_in_code(page.read_text(encoding="utf-8")):
        words = shlex.split(rest.replace("[", " ").replace("]", " ").replace("|", " "))
        resolved = _resolve(words)
        if resolved is None:
            wrong.append(f"{line!r}: no such subcommand")
            continue
        flags = _flags(resolved[1])
        wrong += [f"{line!r}: {flag}" for flag in FLAG.findall(rest) if flag not in flags]
    assert not wrong, f"{_rel(page)}: {wrong}"


def test_code_block_check_finds_commands():
    # The check above must not pass by finding nothing.
    found = [c for page in PAGES for c in _commands_in_code(page.read_text(encoding="utf-8"))]
    assert len(found) >= 30, found


# --- (d) component parameters ---------------------------------------------------------------------


def _component_sections() -> dict[str, str]:
    text = (ROOT / "docs" / "components.md").read_text(encoding="utf-8")
    matches = list(re.finditer(r"^### `(\w+)`\s*$", text, re.M))
    return {
        m.group(1): text[m.end() : matches[i + 1].start() if i + 1 < len(matches) else len(text)]
        for i, m in enumerate(matches)
    }


def _signature(name: str) -> list[str]:
    module = importlib.import_module(f"kfp_mlsecops.components.{name}.component")
    return list(inspect.signature(getattr(module, name).python_func).parameters)


def test_components_page_has_one_section_per_component():
    assert sorted(_component_sections()) == sorted(COMPONENTS)


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_component_parameters_match_the_signature(name):
    body = _component_sections()[name]
    rows = re.findall(r"^\| `(\w+)` \|", body, re.M)
    params = _signature(name)
    assert rows, f"docs/components.md: no parameter table for {name}"
    unknown = [r for r in rows if r not in params]
    missing = [p for p in params if p not in rows]
    assert not unknown, f"docs/components.md, {name}: no such parameter {unknown}"
    assert not missing, f"docs/components.md, {name}: undocumented {missing}"
    assert rows == params, f"docs/components.md, {name}: list them in signature order"


# --- (e) make targets -----------------------------------------------------------------------------


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-zA-Z0-9_.-]+):(?!=)", text, re.M))


def _make_mentions(text: str) -> set[str]:
    spans = _code_blocks(text) + INLINE_CODE.findall(_prose(text))
    return {target for span in spans for target in MAKE.findall(span)}


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_make_targets_exist(page):
    mentioned = _make_mentions(page.read_text(encoding="utf-8"))
    missing = mentioned - _make_targets()
    assert not missing, f"{_rel(page)}: no such make target: {sorted(missing)}"


def test_make_target_check_finds_targets():
    mentioned = _make_mentions(README.read_text(encoding="utf-8"))
    assert {"demo", "test", "lint", "kind-up", "test-cluster"} <= mentioned


# --- examples -------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", [README, ROOT / "docs" / "components.md"], ids=_rel)
def test_python_examples_compile(page, tmp_path, monkeypatch):
    text = page.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```", text, re.M | re.S)
    assert blocks, f"{_rel(page)}: no Python example"
    for block in blocks:
        monkeypatch.chdir(tmp_path)
        if "component.yaml" in block:
            monkeypatch.chdir(ROOT)
        code = compile(block, f"{_rel(page)} example", "exec", dont_inherit=True)
        exec(code, {"__name__": "__docs__"})  # noqa: S102
        if "my_pipeline.yaml" in block:
            assert (Path.cwd() / "my_pipeline.yaml").is_file()
            (Path.cwd() / "my_pipeline.yaml").unlink()
