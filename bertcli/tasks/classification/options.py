"""The settings of `bertcli finetune cls`: its data columns and options (flags, recipe keys, run.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bertcli.config import DataSource, TaskOptions, setting

ProblemType = Literal["single_label_classification", "regression"]


@dataclass
class ClassificationData(DataSource):
    train_file: str | None = setting(
        help="Training file (csv, tsv, json, jsonl, parquet); overrides the recipe's data set.", evaluate=False
    )
    text_column: str = setting("text", help="Column holding the text (segment A).")
    text_pair_column: str | None = setting(help="Column holding the second text of a sentence pair (segment B).")
    label_column: str = setting(
        "label", help="Column holding the label: an integer id, a class name, or a float (regression)."
    )
    label_names: list[str] | None = setting(
        help="Class names in id order, comma-separated (negative,positive).", default_text="the data's, sorted"
    )


@dataclass
class ClassificationOptions(TaskOptions):
    problem_type: ProblemType | None = setting(help="Classification or regression.", default_text="from the labels")
    metrics: list[str] | None = setting(
        help="Metrics besides accuracy and f1 (pearson and spearmanr for regression), "
        "comma-separated: accuracy, f1, matthews_correlation, pearson, spearmanr."
    )
