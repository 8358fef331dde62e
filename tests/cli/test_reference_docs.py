"""docs/reference.md is generated from the CLI (`make docs`); this fails when the committed copy is stale."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import pytest
import typer

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


def test_reference_of_a_small_app():
    """What the generator makes of each kind of parameter, on an app of its own."""
    app = typer.Typer(rich_markup_mode=None, add_completion=False)

    @app.command("go")
    def go(
        path: Annotated[str, typer.Argument(help="Where | to go.")],
        size: Annotated[str, typer.Option(help="How big <b>.")] = "small",
        fast: Annotated[bool, typer.Option("--fast/--slow", help="Speed.")] = True,
        secret: Annotated[Optional[str], typer.Option(hidden=True)] = None,
    ) -> None:
        """Go somewhere.

        \b
        Examples:
          demo go home --slow
        """

    @app.command("stay")
    def stay() -> None:
        """Stay."""

    text = reference.render(app, name="demo")
    assert "## demo go\n\n```\ndemo go [OPTIONS] {path}\n```" in text
    assert "Examples:\n\n```\ndemo go home --slow\n```" in text  # a \b paragraph: its lines kept, as code
    assert "| `PATH` | `str` | Where \\| to go. Required. |" in text  # | escaped in a table cell
    assert "| `--size` | `str` | `small` | How big &lt;b&gt;. |" in text  # no HTML from help text
    assert "| `--fast / --slow` | `flag` | `--fast` | Speed. |" in text
    assert "secret" not in text  # hidden options stay hidden
