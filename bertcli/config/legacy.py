"""Settings that moved or changed shape: old run.yaml files and recipes still load, read into the new place."""

from __future__ import annotations

# Settings that moved: (old section, old name) -> (new section, new name). Old run.yaml files and recipes still load.
MOVED = {  # pre-training's hub sources and hold-out, in `options` before the task registry
    ("options", "line_by_line"): ("data", "line_by_line"),
    ("options", "lines_per_document"): ("data", "lines_per_document"),
    ("options", "extra_sources"): ("data", "extra_sources"),
    ("options", "validation_percentage"): ("data", "validation_split_percentage"),
}
# Switches that became choices: (section, old name) -> (new name, {old value: new value}).
BECAME_CHOICES = {
    ("options", "nsp"): ("objective", {True: "mlm-nsp", False: "mlm"}),
    ("options", "whole_word_masking"): ("masking", {True: "whole-word", False: "token"}),
}


def moved_settings(layer: dict) -> dict:
    """`layer` with settings from their old place put in their new one (unless it already holds them)."""
    for (old, key), (new, new_key) in MOVED.items():
        if isinstance(layer.get(old), dict) and key in layer[old]:
            value = layer[old][key]
            layer = {**layer, old: {k: v for k, v in layer[old].items() if k != key}}
            layer[new] = {new_key: value, **(layer.get(new) or {})}
    for (section, key), (new_key, values) in BECAME_CHOICES.items():
        if isinstance(layer.get(section), dict) and key in layer[section]:
            old = layer[section]
            layer = {**layer, section: {new_key: values[old[key]], **{k: v for k, v in old.items() if k != key}}}
    return layer
