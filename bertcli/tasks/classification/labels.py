"""Labels of a classification data set: single-label, multi-label or regression, and the map from raw values to ids.

Labels may be integers, strings, booleans or class names; they are mapped to ids 0..K-1 and the names land in the
model's `id2label`/`label2id`. Float labels (or `problem_type: regression`) mean a one-output regression head; a
list of labels per example (or `problem_type: multi_label_classification`) means multi-label classification, one
sigmoid output per class. Values are compared by their key (`label_key`): `true` and `True` are one class, and so
are `1` and `1.0`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from bertcli.errors import BertcliError
from bertcli.tasks.classification.options import ProblemType


def label_key(value):
    """A label as the label space keys it: booleans as "false"/"true", whole numbers as ints, the rest as text."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return str(value)


@dataclass
class LabelSpace:
    problem_type: ProblemType
    names: list[str]  # id -> name; empty for regression
    to_id: dict | None  # str(label key) -> id; None when the keys already are the ids (or regression)

    @property
    def num_labels(self) -> int:
        return 1 if self.problem_type == "regression" else len(self.names)

    def encode(self, values: list) -> list:
        """Model labels: a float per example (regression), a class id, or a multi-hot row of floats."""
        if self.problem_type == "regression":
            return [float(v) for v in values]
        if self.problem_type == "multi_label_classification":
            rows = []
            for value in values:
                row = [0.0] * self.num_labels
                for label in as_label_list(value):
                    row[self.id(label_key(label))] = 1.0
                rows.append(row)
            return rows
        return [self.id(label_key(v)) for v in values]

    def id(self, key) -> int:
        return key if self.to_id is None else self.to_id[str(key)]


def as_label_list(value) -> list:
    """One example's labels in multi-label data: a list, or a JSON list in a text column (CSV files)."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [value]
    if isinstance(value, (list, tuple, np.ndarray)):
        return list(value)
    return [value]


def infer_labels(
    train_values: list,
    eval_values: list,
    feature,
    label_names: list[str] | None,
    problem_type: ProblemType | None,
    source: str,
    eval_source: str | None = None,
) -> LabelSpace:
    """Decide the kind of problem and the label ids from the raw label values. `source` names the training data in
    errors, `eval_source` the validation data (when it comes from elsewhere)."""
    if any(v is None for v in train_values) or any(v is None for v in eval_values):
        raise BertcliError(f"{source}: some examples have no label; fill in or drop those rows")
    class_names = getattr(feature, "names", None) or getattr(getattr(feature, "feature", None), "names", None)
    multi = any(
        isinstance(v, (list, tuple, np.ndarray)) or (isinstance(v, str) and v.startswith("[")) for v in train_values
    )
    if problem_type == "multi_label_classification" or (problem_type is None and multi):
        train_lists = [as_label_list(v) for v in train_values]
        eval_lists = [as_label_list(v) for v in eval_values]
        flat_train = [label for labels in train_lists for label in labels]
        flat_eval = [label for labels in eval_lists for label in labels]
        _check_one_kind(flat_train + flat_eval, source)
        space = _classes(flat_train, flat_eval, label_names or class_names, source, eval_source)
        return LabelSpace("multi_label_classification", space.names, space.to_id)
    _check_one_kind(train_values + eval_values, source)
    is_float = any(isinstance(v, (float, np.floating)) for v in train_values)
    if problem_type == "regression" or (problem_type is None and is_float and not class_names):
        try:
            [float(v) for v in train_values + eval_values]
        except (TypeError, ValueError) as e:
            raise BertcliError(f"{source}: regression needs numeric labels ({e})") from e
        return LabelSpace("regression", [], None)
    return _classes(train_values, eval_values, label_names or class_names, source, eval_source)


def _classes(
    train_values: list, eval_values: list, names: list[str] | None, source: str, eval_source: str | None = None
) -> LabelSpace:
    """Single-label classes: integer ids (of `names`, or of their sorted values), or names."""
    train_keys, eval_keys = [label_key(v) for v in train_values], [label_key(v) for v in eval_values]
    if all(isinstance(k, int) for k in train_keys + eval_keys):
        if names:  # integer ids of named classes
            bad = sorted({k for k in train_keys + eval_keys if not 0 <= k < len(names)})
            if bad:
                raise BertcliError(
                    f"{source}: label {bad[0]} is not an id of the {len(names)} label names "
                    f"({', '.join(names)}); fix the labels or the label names"
                )
            return LabelSpace("single_label_classification", list(names), None)
        values = sorted(set(train_keys))
        return _from_values(values, [str(v) for v in values], eval_keys, (source, eval_source))
    train_keys, eval_keys = [str(k) for k in train_keys], [str(k) for k in eval_keys]
    if names:
        return _from_values(list(names), list(names), eval_keys, (source, eval_source), train_keys)
    distinct = sorted(set(train_keys))
    return _from_values(distinct, distinct, eval_keys, (source, eval_source))


def _check_one_kind(values: list, source: str) -> None:
    """Labels are all names, all numbers or all booleans: a mix (1 and "positive") is almost always a broken file."""
    first = {}
    for row, value in enumerate(values, 1):
        if isinstance(value, (bool, np.bool_)):
            kind = "a boolean"
        else:
            kind = "text" if isinstance(value, str) else "a number"
        first.setdefault(kind, (row, value))
    if len(first) > 1:
        (kind_a, (row_a, a)), (kind_b, (row_b, b)) = sorted(first.items(), key=lambda item: item[1][0])[:2]
        raise BertcliError(
            f"{source}: the label column mixes types ({a!r} in row {row_a} is {kind_a}, {b!r} in row "
            f"{row_b} is {kind_b}): write every label the same way"
        )


def _from_values(values: list, names: list[str], eval_values: list, sources: tuple, train_values: list | None = None):
    """`sources`: how to name the training data and the validation data (None: the training data's name)."""
    train_source, eval_source = sources[0], sources[1] or sources[0]
    to_id = {str(v): i for i, v in enumerate(values)}
    if len(to_id) < 2:
        raise BertcliError(f"{train_source}: the training labels hold a single class ({values[0]}); need two or more")
    checks = (("training", train_values or [], train_source), ("validation", eval_values, eval_source))
    for where, seen, source in checks:
        unknown = sorted({str(v) for v in seen if str(v) not in to_id})
        if unknown:
            raise BertcliError(
                f"{source}: {where} label '{unknown[0]}' is not among the labels {', '.join(names)}; "
                "fix the data or pass the full label set with --label-names"
            )
    identity = all(isinstance(v, int) and v == i for i, v in enumerate(values))
    return LabelSpace("single_label_classification", names, None if identity else to_id)


def class_weights(space: LabelSpace, train_values: list, spec: str) -> list[float]:
    """Per-class loss weights: `balanced` (n / (classes x count), as scikit-learn's) or a comma-separated list."""
    k = space.num_labels
    if spec == "balanced":
        if space.problem_type == "multi_label_classification":
            counts = np.asarray(space.encode(train_values)).sum(0)
        else:
            counts = np.bincount(space.encode(train_values), minlength=k)
        if (counts == 0).any():
            raise BertcliError(
                f"--class-weights balanced: class '{space.names[int(np.argmin(counts))]}' never "
                "occurs in the training data; give the weights as a list instead"
            )
        return [round(float(w), 6) for w in len(train_values) / (k * counts)]
    try:
        weights = [float(w) for w in spec.split(",")]
    except ValueError:
        weights = []
    if len(weights) != k or any(w <= 0 for w in weights):
        raise BertcliError(
            f"--class-weights {spec}: give 'balanced' or {k} positive numbers, one per class in id "
            f"order ({', '.join(space.names)})"
        )
    return weights
