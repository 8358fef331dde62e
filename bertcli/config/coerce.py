"""Type coercion: a value from YAML or the command line checked against a field's annotation, and dataclasses built
from nested dicts with unknown keys and ill-typed values refused (they are almost always typos)."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, Literal

from bertcli.errors import BertcliError

_REFUSED = object()  # what a scalar conversion returns for a value it cannot take


def _to_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
        return value.lower() in ("true", "yes")
    return _REFUSED


def _to_int(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _REFUSED


def _to_float(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):  # YAML 1.1 reads 5e-5 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    return _REFUSED


def _to_str(value):
    return str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else _REFUSED


SCALARS = {
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
    str: _to_str,
    dict: lambda value: value if isinstance(value, dict) else _REFUSED,
    Any: lambda value: value,
}


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _union(value: Any, args: tuple, where: str) -> Any:
    if value is None and type(None) in args:
        return None
    errors = []
    for arg in args:
        if arg is type(None):
            continue
        try:
            return coerce(value, arg, where)
        except BertcliError as e:
            errors.append(e)
    raise errors[0]


def _list(value: Any, item_tp: Any, where: str) -> list:
    if isinstance(value, str):  # from the command line: --label-names negative,positive
        value = [v.strip() for v in value.split(",") if v.strip()]
    elif isinstance(value, (int, float)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise BertcliError(f"{where} must be a list, not {value!r}")
    return [coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotation `tp`, converting the safe cases (int -> float, "5e-5" -> float)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return _union(value, typing.get_args(tp), where)
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise BertcliError(f"{where} must be one of {', '.join(map(str, choices))}, not {value!r}")
        return value
    if origin is list:
        return _list(value, typing.get_args(tp)[0], where)
    converted = SCALARS[tp](value) if tp in SCALARS else _REFUSED
    if converted is _REFUSED:
        raise BertcliError(f"{where} must be {_type_name(tp)}, not {value!r}")
    return converted


def build_dataclass(cls, values: dict | None, where: str):
    """Instantiate dataclass `cls` from a dict, rejecting unknown keys and ill-typed values."""
    values = dict(values or {})
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise BertcliError(
            f"unknown setting '{where}.{unknown[0]}': valid {where} settings are {', '.join(sorted(known))}"
        )
    kwargs = {k: coerce(v, hints[k], f"{where}.{k}") for k, v in values.items()}
    return cls(**kwargs)
