"""Labels of a classification data set: classification or regression, and the map from raw values to ids.

Labels may be integers, strings or class names; they are mapped to ids 0..K-1 and the names land in the model's
`id2label`/`label2id`. Float labels (or `problem_type: regression`) mean a one-output regression head.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bertcli.errors import BertcliError
from bertcli.tasks.classification.options import ProblemType


@dataclass
class LabelSpace:
    problem_type: ProblemType
    names: list[str]  # id -> name; empty for regression
    to_id: dict | None  # raw label value -> id; None when values already are ids (or regression)

    @property
    def num_labels(self) -> int:
        return 1 if self.problem_type == "regression" else len(self.names)

    def encode(self, values: list) -> list:
        if self.problem_type == "regression":
            return [float(v) for v in values]
        return list(values) if self.to_id is None else [self.to_id[v] for v in values]


def infer_labels(
    train_values: list,
    eval_values: list,
    feature,
    label_names: list[str] | None,
    problem_type: ProblemType | None,
    source: str,
) -> LabelSpace:
    """Decide classification vs regression and the label ids from the raw label values."""
    if any(v is None for v in train_values) or any(v is None for v in eval_values):
        raise BertcliError(f"{source}: some examples have no label; fill in or drop those rows")
    _check_one_kind(train_values + eval_values, source)
    class_names = getattr(feature, "names", None)  # a datasets.ClassLabel column
    is_float = any(isinstance(v, float) for v in train_values)
    if problem_type == "regression" or (problem_type is None and is_float and not class_names):
        try:
            [float(v) for v in train_values + eval_values]
        except (TypeError, ValueError) as e:
            raise BertcliError(f"{source}: regression needs numeric labels ({e})") from e
        return LabelSpace("regression", [], None)

    names = label_names or class_names
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in train_values + eval_values):
        if names:  # integer ids of named classes
            bad = sorted({v for v in train_values + eval_values if not 0 <= v < len(names)})
            if bad:
                raise BertcliError(
                    f"{source}: label {bad[0]} is not an id of the {len(names)} label names "
                    f"({', '.join(names)}); fix the labels or the label names"
                )
            return LabelSpace("single_label_classification", list(names), None)
        values = sorted(set(train_values))
        return _from_values(values, [str(v) for v in values], eval_values, source)
    values = [str(v) for v in train_values]
    if names:
        return _from_values(list(names), list(names), [str(v) for v in eval_values], source, values)
    distinct = sorted(set(values))
    return _from_values(distinct, distinct, [str(v) for v in eval_values], source)


def _check_one_kind(values: list, source: str) -> None:
    """Labels are all names or all numbers: a mix (1 and "positive") is almost always a broken file."""
    first = {}
    for row, value in enumerate(values, 1):
        kind = "text" if isinstance(value, str) else "a boolean" if isinstance(value, bool) else "a number"
        first.setdefault(kind, (row, value))
    if len(first) > 1:
        (kind_a, (row_a, a)), (kind_b, (row_b, b)) = sorted(first.items(), key=lambda item: item[1][0])[:2]
        raise BertcliError(
            f"{source}: the label column mixes types ({a!r} in row {row_a} is {kind_a}, {b!r} in row "
            f"{row_b} is {kind_b}): write every label the same way"
        )


def _from_values(values: list, names: list[str], eval_values: list, source: str, train_values: list | None = None):
    to_id = {v: i for i, v in enumerate(values)}
    if len(to_id) < 2:
        raise BertcliError(f"{source}: the training labels hold a single class ({values[0]}); need two or more")
    for where, seen in (("training", train_values or []), ("validation", eval_values)):
        unknown = sorted({str(v) for v in seen if v not in to_id})
        if unknown:
            raise BertcliError(
                f"{source}: {where} label '{unknown[0]}' is not among the labels {', '.join(names)}; "
                "fix the data or pass the full label set in the recipe's label_names"
            )
    identity = all(isinstance(v, int) and v == i for v, i in to_id.items())
    return LabelSpace("single_label_classification", names, None if identity else to_id)
