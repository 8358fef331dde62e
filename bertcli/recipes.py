"""Recipes: YAML files that name a real dataset, its columns, metrics and default hyper-parameters.

A recipe has the shape of `OUT/run.yaml` (see config.py) plus `name` and `description`, and lives in
`recipes/<task>/<name>.yaml`. Recipes are data, read with `yaml.safe_load`; they hold no code.
A recipe's `task` (or its folder's name) says which command it is for; the command checks that it is its own.
They are found in, in order: directories on $BERTCLI_RECIPES_PATH, the `recipes/` folder of a source
checkout, and the copy shipped inside the installed package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bertcli.errors import BertcliError
from bertcli.yamlio import load_yaml


def recipe_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent
    extra = [Path(p) for p in os.environ.get("BERTCLI_RECIPES_PATH", "").split(os.pathsep) if p]
    candidates = [*extra, here.parent / "recipes", here / "_recipes"]  # checkout, then the wheel's copy
    return [d for d in candidates if d.is_dir()]


@dataclass
class RecipeInfo:
    name: str
    task: str
    description: str
    path: Path


def list_recipes() -> list[RecipeInfo]:
    """Every recipe, once per task and name (two tasks may each have an `imdb`)."""
    found: dict[tuple[str, str], RecipeInfo] = {}
    for root in recipe_dirs():
        for path in sorted(root.glob("*/*.yaml")):
            data = load_yaml(path, "recipe")
            info = RecipeInfo(path.stem, data.get("task", path.parent.name), data.get("description", ""), path)
            found.setdefault((info.task, info.name), info)  # an earlier directory wins
    return sorted(found.values(), key=lambda r: (r.task, r.name))


def find_recipe(name: str, tasks: tuple[str, ...] = ()) -> Path:
    """A recipe by name (`sst2`, `cls/sst2`) or by path to a YAML file; of recipes of one name, that of one of
    `tasks` (the command's own) first."""
    if name.endswith((".yaml", ".yml")) or os.sep in name and Path(name).is_file():
        path = Path(name)
        if not path.is_file():
            raise BertcliError(f"recipe file not found: {name}")
        return path
    stem = name.split("/")[-1]
    matches = [r for r in list_recipes() if r.name == stem and (name == stem or name == f"{r.task}/{stem}")]
    if matches:
        return next((r for r in matches if r.task in tasks), matches[0]).path
    known = ", ".join(sorted({r.name for r in list_recipes()}))
    raise BertcliError(f"unknown recipe '{name}': choose one of {known} (or give a path to a .yaml file)")


def load_recipe(name: str, tasks: tuple[str, ...] = ()) -> dict:
    path = find_recipe(name, tasks)
    data = load_yaml(path, "recipe")
    if "task" not in data and path.parent.parent in recipe_dirs():  # recipes/<task>/<name>.yaml
        data["task"] = path.parent.name
    return data
