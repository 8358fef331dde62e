"""docs/reference.md is generated from the CLI (`make docs`); this fails when the committed copy is stale."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bertcli.cli import reference


def repo_root() -> Path:
    """The checkout's root (the folder with pyproject.toml), wherever in tests/ this file lives."""
    here = Path(__file__).resolve()
    return next(p for p in here.parents if (p / "pyproject.toml").exists())


def test_reference_is_current():
    path = repo_root() / "docs" / "reference.md"
    diff = reference.stale_diff(path)
    if diff is not None:
        pytest.fail(f"docs/reference.md is stale: run `make docs`\n{diff}", pytrace=False)


def test_reference_covers_every_command_and_option():
    """Every command `--help` lists has a section, and every option its own row there."""
    text = reference.render()
    sections = {}
    for chunk in re.split(r"^#{2,4} ", text, flags=re.M)[1:]:
        title, _, body = chunk.partition("\n")
        names = re.findall(r"^\| `([^`]*)` \|", body, flags=re.M)
        sections[title] = {n for cell in names for n in re.split(r", | / ", cell)}
    root, ctx = reference._command_tree()
    for path, command, command_ctx in reference._walk(root, ctx, ("bertcli",)):
        title = " ".join(path)
        assert title in sections, f"no section for {title}"
        for param in command.get_params(command_ctx):
            if param.param_type_name == "option" and not param.hidden and "--help" not in param.opts:
                missing = {*param.opts, *param.secondary_opts} - sections[title]
                assert not missing, f"{title}: {sorted(missing)} not in the reference"


def test_reference_is_plain_markdown():
    text = reference.render()
    assert "\x1b" not in text and "\b" not in text  # no ANSI colour, no click's keep-lines marker
    assert text == reference.render()  # deterministic
