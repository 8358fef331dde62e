"""What every training command shares: the --model/--output-dir/--recipe/--config options, the training
flags (generated from `TrainConfig`, so a new field is a new flag with its help and default), and the
step from parsed flags to a finished run.

Only what the user typed overrides the recipe and the config file: the decorated command receives None
for every option left at its default (click tells which were given), while --help shows the real defaults.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import types
import typing
from typing import Annotated, Optional

import typer

from bertcli.config import TrainConfig

COMMON_PANEL = "Run"
TRAIN_PANEL = "Training"

COMMON_OPTIONS = {
    "model": Annotated[Optional[str], typer.Option(
        "--model", "-m", help="Model to start from: a hub name or a local directory (also one made by init-model).",
        rich_help_panel=COMMON_PANEL, show_default=False)],
    "output_dir": Annotated[Optional[str], typer.Option(
        "--output-dir", "-o", help="Directory for the trained model, metrics.json, run.yaml, log.jsonl and checkpoints.",
        rich_help_panel=COMMON_PANEL, show_default=False)],
    "recipe": Annotated[Optional[str], typer.Option(
        "--recipe", "-r", help="Recipe name (see `bertcli recipes list`) or path to a recipe YAML.",
        rich_help_panel=COMMON_PANEL, show_default=False)],
    "config": Annotated[Optional[str], typer.Option(
        "--config", help="YAML config (e.g. a previous OUT/run.yaml); flags override it, it overrides the recipe.",
        rich_help_panel=COMMON_PANEL, show_default=False)],
}


def _strip_optional(hint):
    """`int | None` -> int; other annotations unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def _train_option(f: dataclasses.Field):
    flag = "--" + f.name.replace("_", "-")
    base = _strip_optional(typing.get_type_hints(TrainConfig)[f.name])
    # A switch that is off by default needs no --no-X form; one that is on by default does.
    decls = [f"{flag}/--no-{flag[2:]}"] if base is bool and f.default else [flag]
    show_default = True if f.default is not None else (f.metadata.get("default_text") or False)
    option = typer.Option(*decls, help=f.metadata.get("help", ""), show_default=show_default, rich_help_panel=TRAIN_PANEL)
    return Annotated[Optional[base], option], f.default


def training_command(command):
    """Decorate a Typer command so that it takes the common and training options.

    The command declares its own options (data columns, task options) and one parameter `run: dict`,
    which receives {model, output_dir, recipe, config, train: {flags the user gave}}.
    """
    train_fields = dataclasses.fields(TrainConfig)
    own = [p for p in inspect.signature(command).parameters.values() if p.name != "run"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=ann, default=None)
             for name, ann in COMMON_OPTIONS.items()]
    for f in train_fields:
        annotation, default = _train_option(f)
        added.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default))

    @functools.wraps(command)
    def wrapper(ctx: typer.Context, **kwargs):
        given = ("COMMANDLINE", "ENVIRONMENT")
        kwargs = {k: v if ctx.get_parameter_source(k).name in given else None for k, v in kwargs.items()}
        run = {name: kwargs.pop(name) for name in COMMON_OPTIONS}
        run["train"] = {f.name: kwargs.pop(f.name) for f in train_fields}
        return command(**kwargs, run=run)

    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    params = [context] + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + added
    wrapper.__signature__ = inspect.Signature(params)
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def train_task(task_class, run: dict, data: dict, options: dict) -> dict:
    """Resolve the configuration (validated before anything heavy), train, print the metrics."""
    from bertcli.config import resolve
    from bertcli.trainer import run as run_training

    flags = {"model": run["model"], "output_dir": run["output_dir"], "data": data, "train": run["train"],
             "options": options}
    cfg = resolve(task_class.name, task_class.options_class, run["recipe"], run["config"], flags, task_class.defaults)
    metrics = run_training(cfg, task_class)
    from accelerate import PartialState

    if PartialState().is_main_process:
        typer.echo(json.dumps(metrics, indent=2))
        typer.echo(f"Saved the model, metrics.json and run.yaml to {cfg.output_dir}")
    return metrics
