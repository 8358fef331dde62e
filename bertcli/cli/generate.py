"""Commands generated from the task registry: every field of a task's settings dataclasses is a flag.

A training command takes --model/--output-dir/--recipe/--config, the task's data settings ("Data"), its options
(its own panel) and the shared training settings ("Training", with the task's own defaults). Each flag's help,
type and default come from the field (`config.setting`), so `--help` shows the defaults a run uses.
Only what the user typed overrides the recipe and the config file: the command receives every value, and click
tells which ones came from the command line.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import types
import typing
from typing import Annotated, Any, Optional

import typer
import typer.core

from bertcli.config import TrainConfig, resolve, run_yaml

RUN_PANEL, DATA_PANEL, TRAIN_PANEL = "Run", "Data", "Training"


def option(kind: type, *decls: str, help: str, panel: str, show_default: bool | str = False):
    """The annotation of a hand-declared optional flag (None when not given)."""
    return Annotated[Optional[kind], typer.Option(*decls, help=help, rich_help_panel=panel, show_default=show_default)]


REQUIRED = "[required, unless --config names it]"
RUN_OPTIONS = {
    "model": option(
        str,
        "--model",
        "-m",
        panel=RUN_PANEL,
        help=f"Model to start from: a hub name or a local directory (also one made by init-model). {REQUIRED}",
    ),
    "output_dir": option(
        str,
        "--output-dir",
        "-o",
        panel=RUN_PANEL,
        help=f"Directory for the trained model, metrics.json, run.yaml, log.jsonl and checkpoints. {REQUIRED}",
    ),
    "recipe": option(
        str,
        "--recipe",
        "-r",
        panel=RUN_PANEL,
        help="Recipe name (see `bertcli recipes list`) or path to a recipe YAML.",
    ),
    "config": option(
        str,
        "--config",
        panel=RUN_PANEL,
        help="YAML config (e.g. a previous OUT/run.yaml); flags override it, it overrides the recipe.",
    ),
    "print_config": option(
        bool,
        "--print-config",
        panel=RUN_PANEL,
        help="Print the resolved configuration (what run.yaml would hold) and exit: nothing is loaded or trained.",
    ),
}


class PanelCommand(typer.core.TyperCommand):
    """Plain-text help with the options in sections (Run, Data, the task's, Training), as declared."""

    def format_options(self, ctx, formatter) -> None:
        sections: dict[str, list] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                section = "Arguments"
            else:
                section = getattr(param, "rich_help_panel", None) or "Options"
            sections.setdefault(section, []).append(record)
        for section in sorted(sections, key=lambda s: (s != "Arguments", s == "Options")):  # stable: declared order
            with formatter.section(section):
                formatter.write_dl(sections[section])


def _strip_optional(hint):
    """`int | None` -> int; other annotations unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def field_parameter(
    f: dataclasses.Field, hint, panel: str, default: Any = dataclasses.MISSING, show_default: bool = True
) -> inspect.Parameter:
    """The Typer parameter of one settings field: its flag, help, type and (with `show_default`, shown) default."""
    base = _strip_optional(hint)
    if typing.get_origin(base) is list:  # comma-separated on the command line
        base = str
    default = f.default if default is dataclasses.MISSING else default
    flag = flag_name(f.name)
    # A switch that is off by default needs no --no-X form; one that is on by default does.
    decls = [f"{flag}/--no-{flag[2:]}"] if base is bool and default else [flag, *f.metadata.get("aliases", ())]
    show_default = show_default and (True if default is not None else (f.metadata.get("default_text") or False))
    option = typer.Option(*decls, help=f.metadata.get("help", ""), show_default=show_default, rich_help_panel=panel)
    return inspect.Parameter(
        f.name,
        inspect.Parameter.KEYWORD_ONLY,
        annotation=Annotated[Optional[base], option],
        default=None if default is dataclasses.MISSING else default,
    )


def settings_parameters(
    cls, panel: str, defaults: dict | None = None, keep=lambda f: True, show_defaults: bool = True
) -> list[inspect.Parameter]:
    """One parameter per command-line field of the settings dataclass `cls` (those `keep` accepts)."""
    hints = typing.get_type_hints(cls)
    defaults = defaults or {}
    return [
        field_parameter(f, hints[f.name], panel, defaults.get(f.name, dataclasses.MISSING), show_defaults)
        for f in dataclasses.fields(cls)
        if f.metadata.get("cli", True) and keep(f)
    ]


def command_function(name: str, doc: str, parameters: list[inspect.Parameter], body):
    """A function Typer can register: `parameters` as its signature; `body(given)` receives the values the user
    typed ({parameter name: value}, defaults left out)."""
    names = [p.name for p in parameters]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise RuntimeError(f"command {name}: settings {sorted(duplicates)} are declared twice")

    def command(ctx: typer.Context, **values):
        typed = ("COMMANDLINE", "ENVIRONMENT")
        return body({k: v for k, v in values.items() if ctx.get_parameter_source(k).name in typed})

    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)
    command.__signature__ = inspect.Signature([context, *parameters])
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__name__ = name
    command.__doc__ = doc
    return command


def with_settings(fn, **groups: tuple[tuple[type, ...], str, tuple[str, ...] | None]):
    """`fn` as a command that also takes the flags of settings classes: for each `name=(classes, panel, fields)` the
    given `fields` (None: all) of those classes, once each (the first class's declaration of a field shared by
    several), in the help section `panel`. `fn` receives `name` as {field: value} (defaults included)."""
    hints = typing.get_type_hints(fn, include_extras=True)
    parameters = [p.replace(annotation=hints[p.name]) for p in inspect.signature(fn).parameters.values()]
    parameters = [p for p in parameters if p.name not in groups]
    members: dict[str, list[str]] = {}
    for name, (classes, panel, wanted) in groups.items():
        seen: dict[str, inspect.Parameter] = {}
        for cls in classes:
            for parameter in settings_parameters(cls, panel, keep=lambda f, w=wanted: w is None or f.name in w):
                seen.setdefault(parameter.name, parameter)
        members[name] = list(seen)
        parameters += seen.values()

    def command(**values):
        for name, names in members.items():
            values[name] = {n: values.pop(n) for n in names}
        return fn(**values)

    command.__signature__ = inspect.Signature(parameters)
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__name__, command.__doc__ = fn.__name__, fn.__doc__
    return command


def training_command(spec):
    """The `bertcli ...` command of a task in the registry: flags from its settings, then a run."""
    run_options = dict(RUN_OPTIONS)
    if spec.model_flag:  # the task says what --model is to it (a teacher)
        decls, text = spec.model_flag
        run_options["model"] = option(str, *decls, panel=RUN_PANEL, help=text)
    parameters = [
        inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=None) for n, a in run_options.items()
    ]
    parameters += settings_parameters(spec.data, DATA_PANEL)
    parameters += settings_parameters(spec.options, spec.panel)
    parameters += settings_parameters(TrainConfig, TRAIN_PANEL, defaults=spec.options.train_defaults)
    sections = {"data": spec.data, "options": spec.options, "train": TrainConfig}
    switches = {}  # hidden parameter -> (section, field, value): flags that set a value (--regression)
    for section, cls in sections.items():
        for f in dataclasses.fields(cls):
            for i, (flag, value) in enumerate(f.metadata.get("switches", {}).items()):
                name = f"{f.name}__switch{i}"
                switches[name] = (section, f.name, value)
                hidden = typer.Option(flag, hidden=True)
                parameters.append(
                    inspect.Parameter(
                        name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[Optional[bool], hidden], default=None
                    )
                )

    def body(given: dict):
        flags = {"model": given.get("model"), "output_dir": given.get("output_dir")}
        flags.update(
            {section: {k: v for k, v in given.items() if k in _fields(cls)} for section, cls in sections.items()}
        )
        for name, (section, field_name, value) in switches.items():
            if given.get(name):
                flags[section][field_name] = value
        if given.get("print_config"):
            cfg = resolve(spec, given.get("recipe"), given.get("config"), flags, check_output=False)
            typer.echo(run_yaml(cfg).rstrip())
            return None
        return run_training(spec, given.get("recipe"), given.get("config"), flags)

    return command_function("_".join(spec.command), spec.help, parameters, body)


def _fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def run_training(spec, recipe: str | None, config: str | None, flags: dict) -> dict:
    """Resolve and check the configuration (before anything heavy is imported), train, print the metrics."""
    cfg = resolve(spec, recipe, config, flags)
    from bertcli.training.trainer import train  # torch, transformers, datasets: only once the settings are valid

    metrics = train(cfg, spec)
    from accelerate import PartialState

    if PartialState().is_main_process:
        typer.echo(json.dumps(metrics, indent=2))
        typer.echo(f"Saved the model, metrics.json and run.yaml to {cfg.output_dir}")
    return metrics
