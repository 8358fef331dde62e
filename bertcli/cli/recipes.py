"""`bertcli recipes list` and `bertcli recipes show NAME`."""

from typing import Annotated

import typer

app = typer.Typer(
    help="List and show dataset recipes.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.command("list")
def list_() -> None:
    """List the recipes: name, command, and what they train."""
    from bertcli.recipes import list_recipes
    from bertcli.tasks.registry import TASKS

    order = [spec.name for spec in TASKS]
    recipes = sorted(list_recipes(), key=lambda r: (order.index(r.task) if r.task in order else len(order), r.name))
    width = max(len(r.name) for r in recipes)
    for r in recipes:
        typer.echo(f"{r.name:<{width}}  {r.task:<8}  {r.description}")


@app.command("show")
def show(name: Annotated[str, typer.Argument(help="Recipe name, e.g. sst2.")]) -> None:
    """Print a recipe's YAML (copy it, edit it, pass it back with --recipe FILE or --config FILE)."""
    from bertcli.recipes import find_recipe

    path = find_recipe(name)
    typer.echo(f"# {path}")
    typer.echo(path.read_text(encoding="utf-8").rstrip())
