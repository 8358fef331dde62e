"""The command and option reference (docs/reference.md), generated from the CLI itself.

Walks the Typer app as click sees it, in the order `--help` lists commands and options, and writes for every
command its help text, usage, arguments and options (names, type, default, help) as Markdown. It reads what
`--help` prints, field by field, never the formatted page: no terminal width, no colour, the same text on every
machine. `make docs` regenerates the file; a test fails when the committed copy is stale.

    python -m bertcli.cli.reference --output docs/reference.md    # write
    python -m bertcli.cli.reference --check docs/reference.md     # exit 1 when the file differs
"""

from __future__ import annotations

import argparse
import difflib
import sys
import textwrap
from pathlib import Path

HEADER = """\
# Command reference

Generated from the CLI by `make docs` (`python -m bertcli.cli.reference --output docs/reference.md`); do not edit
by hand: a test fails when this file and the CLI differ. Every command also takes `-h` / `--help`, which prints
the same text, and the global `--debug` (full tracebacks on errors) anywhere on the line.
"""


def _command_tree(app=None, name: str = "bertcli"):
    """The root click command of a Typer app (bertcli's by default) and its context."""
    import typer

    if app is None:
        from bertcli.cli import app
    root = typer.main.get_command(app)
    return root, root.context_class(root, info_name=name)


def _children(command, ctx):
    """(name, command, context) of a group's subcommands, in the order `--help` lists them."""
    if not hasattr(command, "list_commands"):
        return []
    out = []
    for name in command.list_commands(ctx):
        child = command.get_command(ctx, name)
        if child is None or getattr(child, "hidden", False):
            continue
        out.append((name, child, child.context_class(child, info_name=name, parent=ctx)))
    return out


def _walk(command, ctx, path):
    """Every command, depth first: (path, command, context)."""
    yield path, command, ctx
    for name, child, child_ctx in _children(command, ctx):
        yield from _walk(child, child_ctx, (*path, name))


def _prose(text: str) -> str:
    """Help text as Markdown prose: outside `code spans`, &, < and > are escaped (`<br />` is text, not a tag)."""
    parts = str(text).split("`")
    for i in range(0, len(parts), 2):  # the even parts lie outside code spans
        parts[i] = parts[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts) if len(parts) % 2 else str(text).replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str, prose: bool = True) -> str:
    """Text made safe for one Markdown table cell."""
    text = " ".join(str(text).split())
    return (_prose(text) if prose else text).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{_cell(text, prose=False)}`" if text else ""


def _anchor(path: tuple[str, ...]) -> str:
    return "-".join(path).lower()


def _help_paragraphs(text: str) -> list[str]:
    """A command's help as Markdown blocks: prose paragraphs joined, `\\b` (keep-lines) paragraphs as code."""
    text = (text or "").split("\f")[0]
    text = textwrap.dedent(text).strip()
    blocks = []
    for para in text.split("\n\n"):
        lines = para.strip("\n").splitlines()
        if not lines:
            continue
        if lines[0].strip() == "\b":
            lines = lines[1:]
            if not lines:
                continue
            title = []
            if not lines[0].startswith((" ", "\t")) and any(line.startswith((" ", "\t")) for line in lines[1:]):
                title, lines = [lines[0]], lines[1:]
            code = textwrap.dedent("\n".join(lines))
            blocks.append("\n".join([*map(_prose, title), *([""] if title else []), "```", code, "```"]))
        else:
            blocks.append(_prose(" ".join(line.strip() for line in lines)))
    return blocks


def _first_paragraph(text: str) -> str:
    blocks = _help_paragraphs(text)
    return blocks[0] if blocks and not blocks[0].startswith("```") else ""


def _split_extras(extras: str) -> list[str]:
    """'[default: 3; required]' -> ['default: 3', 'required'] (one or several bracketed groups)."""
    items = []
    for group in extras.replace("]  [", "]\x00[").split("\x00"):
        group = group.strip()
        if group.startswith("[") and group.endswith("]"):
            items.extend(part.strip() for part in group[1:-1].split("; ") if part.strip())
        elif group:
            items.append(group)
    return items


def _param_row(param, ctx) -> dict | None:
    """One argument or option: names, type, default and help, as `--help` shows them."""
    record = param.get_help_record(ctx)
    if record is None:
        return None
    shown, full_help = record
    type_text = ""
    display_type = getattr(param, "display_type", None)
    if callable(display_type):
        try:
            type_text = str(display_type(ctx) or "")
        except Exception:  # an API change in Typer: fall back to the names as shown
            type_text = ""
    if type_text and shown.endswith(" " + type_text):
        shown = shown[: -len(type_text) - 1]
    else:
        type_text = ""
    is_flag = getattr(param, "is_flag", False) and param.param_type_name == "option"
    if is_flag:
        type_text = "flag"
    elif type_text.startswith("<") and type_text.endswith(">"):
        type_text = type_text[1:-1]
    if param.param_type_name == "argument":
        shown = param.name.upper() + ("..." if getattr(param, "nargs", 1) == -1 else "")
    help_text = " ".join((param.help or "").split())
    full_help = " ".join(full_help.split())
    extras = full_help[len(help_text) :] if full_help.startswith(help_text) else ""
    if not extras and not full_help.startswith(help_text):
        help_text = full_help
    default, notes = "", []
    for item in _split_extras(extras):
        if item.startswith("default: "):
            default = item[len("default: ") :]
            if is_flag and f"--{default}" in (*param.opts, *param.secondary_opts):
                default = f"--{default}"
        elif item == "required":
            if "[required" not in help_text:
                notes.append("Required.")
        else:
            notes.append(f"{item[0].upper()}{item[1:]}.")
    if default and param.param_type_name == "argument":  # the arguments' table has no default column
        notes.append(f"Default: `{default}`.")
    return {
        "names": shown,
        "type": type_text,
        "default": default,
        "help": " ".join([help_text, *notes]).strip(),
        "section": "Arguments"
        if param.param_type_name == "argument"
        else (getattr(param, "rich_help_panel", None) or "Options"),
    }


def _parameters(command, ctx) -> dict[str, list[dict]]:
    """The rows of a command's parameters by `--help` section, in the order `--help` prints them."""
    help_names = set(ctx.help_option_names)
    sections: dict[str, list[dict]] = {}
    for param in command.get_params(ctx):
        if param.param_type_name == "option" and help_names & set(param.opts):
            continue  # -h/--help: on every command, said once at the top
        row = _param_row(param, ctx)
        if row is not None:
            sections.setdefault(row["section"], []).append(row)
    order = sorted(sections, key=lambda s: (s != "Arguments", s == "Options"))  # as PanelCommand lists them
    return {name: sections[name] for name in order}


def _usage(command, ctx, path) -> str:
    pieces = command.collect_usage_pieces(ctx)
    return " ".join([*path, *pieces])


def _command_section(path, command, ctx) -> list[str]:
    level = "#" * min(2 + max(len(path) - 2, 0), 4)
    out = [f"{level} {' '.join(path)}", "", "```", _usage(command, ctx, path), "```", ""]
    for block in _help_paragraphs(command.help or ""):
        out += [block, ""]
    children = _children(command, ctx)
    if children:
        out += ["| command | what it does |", "| --- | --- |"]
        for name, child, _ in children:
            link = f"[`{' '.join((*path, name))}`](#{_anchor((*path, name))})"
            out.append(f"| {link} | {_cell(_first_paragraph(child.help or ''), prose=False)} |")
        out.append("")
    for section, rows in _parameters(command, ctx).items():
        out += [f"**{section}**", ""]
        if section == "Arguments":
            out += ["| argument | type | help |", "| --- | --- | --- |"]
            out += [f"| {_code(r['names'])} | {_code(r['type'])} | {_cell(r['help'])} |" for r in rows]
        else:
            out += ["| option | type | default | help |", "| --- | --- | --- | --- |"]
            out += [
                f"| {_code(r['names'])} | {_code(r['type'])} | {_code(r['default'])} | {_cell(r['help'])} |"
                for r in rows
            ]
        out.append("")
    return out


def render(app=None, name: str = "bertcli") -> str:
    """docs/reference.md as the CLI (bertcli's app, or `app`) defines it now."""
    root, ctx = _command_tree(app, name)
    commands = list(_walk(root, ctx, (name,)))
    out = [HEADER, "## Contents", ""]
    for path, _, _ in commands:
        indent = "  " * (len(path) - 1)
        out.append(f"{indent}- [`{' '.join(path)}`](#{_anchor(path)})")
    out.append("")
    for path, command, command_ctx in commands:
        out += _command_section(path, command, command_ctx)
    return "\n".join(out).rstrip("\n") + "\n"


def stale_diff(path: Path, limit: int = 40) -> str | None:
    """None when `path` holds the current reference; else the first lines of a diff."""
    current = render()
    committed = path.read_text(encoding="utf-8") if path.exists() else ""
    if committed == current:
        return None
    diff = difflib.unified_diff(
        committed.splitlines(), current.splitlines(), f"{path} (committed)", f"{path} (from the CLI)", lineterm=""
    )
    lines = list(diff)
    more = f"\n... {len(lines) - limit} more diff lines" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bertcli.cli.reference", description=__doc__.splitlines()[0])
    parser.add_argument("--output", metavar="FILE", help="write the reference here (default: stdout)")
    parser.add_argument("--check", metavar="FILE", help="exit 1, with a diff, when FILE is not the current reference")
    args = parser.parse_args(argv)
    if args.check:
        diff = stale_diff(Path(args.check))
        if diff is None:
            return 0
        print(f"{args.check} is stale: run `make docs`\n{diff}", file=sys.stderr)
        return 1
    text = render()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
