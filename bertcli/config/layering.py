"""Layering: defaults <- the task's defaults <- recipe <- --config FILE <- flags, merged into one validated
RunConfig. Each layer is a nested dict of run.yaml's shape; only what the user typed is in the flags layer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bertcli import recipes
from bertcli.config.coerce import build_dataclass, coerce
from bertcli.config.legacy import moved_settings
from bertcli.config.schema import RunConfig, TrainConfig
from bertcli.config.validation import validate
from bertcli.errors import BertcliError
from bertcli.yamlio import load_yaml


def deep_merge(base: dict, override: dict) -> dict:
    """Merge `override` into a copy of `base`; nested dicts merge, everything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Keys a run.yaml or recipe may hold that describe the file rather than configure the run.
INFO_KEYS = ("name", "description", "versions")


def resolve(
    spec,
    recipe: str | None,
    config_file: str | dict | None,
    flags: dict,
    training: bool = True,
    check_output: bool = True,
) -> RunConfig:
    """Layer defaults <- the task's defaults <- recipe <- config file <- flags into a validated RunConfig.

    `spec` is the task's registry entry (its name, data settings and options classes); `config_file` a YAML file's
    path or its settings already read; `flags` holds only what the user passed on the command line (None values
    are dropped), in the nested shape of run.yaml.
    """
    file_layer = (config_file if isinstance(config_file, dict) else load_yaml(config_file)) if config_file else {}
    recipe_name = recipe or file_layer.get("recipe")
    layers = [{"train": spec.options.train_defaults}]
    if recipe_name:
        own = (spec.name, getattr(spec, "recipes_of", None) or spec.name)  # distill cls takes cls's recipes
        recipe_layer = recipes.load_recipe(recipe_name, own)
        if recipe_layer.get("task", spec.name) not in own:
            raise BertcliError(
                f"recipe '{recipe_name}' is for `{recipe_layer['task']}`, not `{spec.name}`: "
                f"see `bertcli recipes list` for the recipes of each command"
            )
        layers.append({k: v for k, v in recipe_layer.items() if k != "task"})
    layers += [file_layer, _drop_none(flags)]

    merged: dict = {"task": spec.name}
    for layer in layers:
        merged = deep_merge(merged, moved_settings({k: v for k, v in layer.items() if k not in INFO_KEYS}))
    if merged.get("task") != spec.name:
        raise BertcliError(f"config file {config_file} is for `{merged['task']}`, not `{spec.name}`")
    merged["recipe"] = recipe_name

    known_top = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(merged) - known_top)
    if unknown:
        raise BertcliError(
            f"unknown setting '{unknown[0]}': valid top-level settings are {', '.join(sorted(known_top))}"
        )
    cfg = RunConfig(
        task=spec.name,
        model=coerce(merged.get("model"), str | None, "model"),
        output_dir=coerce(merged.get("output_dir"), str | None, "output_dir"),
        recipe=recipe_name,
        data=build_dataclass(spec.data, merged.get("data"), "data"),
        train=build_dataclass(TrainConfig, merged.get("train"), "train"),
        options=build_dataclass(spec.options, merged.get("options"), "options"),
    )
    validate(cfg, training, check_output)
    for name in ("train_file", "validation_file"):  # run.yaml then works from any directory
        if getattr(cfg.data, name):
            setattr(cfg.data, name, str(Path(getattr(cfg.data, name)).resolve()))
    return cfg


def _drop_none(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            v = _drop_none(v)
            if v:
                out[k] = v
        elif v is not None:
            out[k] = v
    return out
