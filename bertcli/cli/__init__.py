"""The `bertcli` command: a Typer app with one module per command group.

Commands stay thin: parse flags, build a RunConfig, call into the library. Heavy imports (torch,
transformers, datasets) happen inside commands, so `--help` and `--version` answer at once.
"""

import sys
from typing import Annotated

import typer

from bertcli import __version__
from bertcli.cli import recipes
from bertcli.cli.embed import embed
from bertcli.cli.evaluate import evaluate
from bertcli.cli.export import export
from bertcli.cli.generate import PanelCommand, training_command
from bertcli.cli.init_model import init_model
from bertcli.cli.predict import predict
from bertcli.cli.report import report
from bertcli.cli.serve import serve
from bertcli.errors import BertcliError, Interrupted
from bertcli.tasks import registry

SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 120}  # wider help where the terminal is
app = typer.Typer(
    name="bertcli",
    help="Pre-train, fine-tune and serve BERT models: Hugging Face formats, Accelerate for any hardware.",
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings=SETTINGS,
)
GROUPS = {  # command groups that tasks join (`bertcli finetune cls`)
    "finetune": typer.Typer(
        help="Fine-tune a BERT model on a downstream task.",
        no_args_is_help=True,
        rich_markup_mode=None,
        context_settings=SETTINGS,
    ),
    "distill": typer.Typer(
        help="Distill a model into a smaller, faster one (DistilBERT, TinyBERT).",
        no_args_is_help=True,
        rich_markup_mode=None,
        context_settings=SETTINGS,
    ),
}
app.add_typer(recipes.app, name="recipes")
app.command("init-model", cls=PanelCommand)(init_model)
for spec in registry.TASKS:  # every task's command, from its registry entry
    *group, name = spec.command
    parent = GROUPS[group[0]] if group else app
    parent.command(name, cls=PanelCommand)(training_command(spec))
for group_name, group_app in GROUPS.items():
    app.add_typer(group_app, name=group_name)
app.command("predict", cls=PanelCommand)(predict)
app.command("evaluate", cls=PanelCommand)(evaluate)
app.command("embed", cls=PanelCommand)(embed)
app.command("serve", cls=PanelCommand)(serve)
app.command("report", cls=PanelCommand)(report)
app.command("export", cls=PanelCommand)(export)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bertcli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    """Pre-train, fine-tune and serve BERT models."""


def _fail(message: str, status: int) -> None:
    print(f"bertcli: error: {message}", file=sys.stderr)
    sys.exit(status)


def main() -> None:
    """Entry point: run the app; user errors exit 2 with one line, internal faults exit 1."""
    args = sys.argv[1:]
    debug = "--debug" in args  # accepted anywhere on the line, not only before the command
    try:
        status = app(args=[a for a in args if a != "--debug"], prog_name="bertcli", standalone_mode=False)
        if isinstance(status, int):
            sys.exit(status)
    except BertcliError as e:
        if debug:
            raise
        _fail(str(e), 2)
    except Interrupted as e:
        print(f"bertcli: {e}", file=sys.stderr)
        sys.exit(130)
    except (typer.Abort, KeyboardInterrupt):
        _fail("interrupted", 130)
    except typer.TyperException as e:  # usage errors found while parsing the command line
        ctx = getattr(e, "ctx", None)
        if type(e).__name__ == "NoArgsIsHelpError":  # `bertcli`, `bertcli finetune`: the help, not an error
            typer.echo(ctx.get_help())
            sys.exit(0)
        hint = f" (see `{ctx.command_path} --help`)" if ctx else ""
        _fail(e.format_message().replace("\n", " ") + hint, 2)
    except Exception as e:  # an internal fault: say so, and how to see more
        if debug:
            raise
        _fail(
            f"internal error: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} "
            "(run with --debug for the traceback)",
            1,
        )
