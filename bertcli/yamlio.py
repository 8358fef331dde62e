"""Reading YAML settings files (recipes, --config files, run.yaml): safe_load only, one-line errors."""

from __future__ import annotations

from pathlib import Path

import yaml

from bertcli.errors import BertcliError


def load_yaml(path: str | Path, what: str = "config file") -> dict:
    """The mapping in a YAML file; a missing file, bad syntax or a non-mapping is a BertcliError."""
    path = Path(path)
    if not path.is_file():
        raise BertcliError(f"{what} not found: {path}")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise BertcliError(f"{what} {path} is not valid YAML{line}: fix the syntax") from e
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise BertcliError(f"{what} {path} must hold a mapping of settings, not a {type(loaded).__name__}")
    return loaded
