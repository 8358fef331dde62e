"""The settings of `bertcli finetune cls`: its data columns and options (flags, recipe keys, run.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bertcli.config import DataSource, TaskOptions, setting
from bertcli.errors import BertcliError

ProblemType = Literal["single_label_classification", "multi_label_classification", "regression"]


@dataclass
class ClassificationData(DataSource):
    train_file: str | None = setting(
        help="Training file (csv, tsv, json, jsonl, parquet); overrides the recipe's data set.", evaluate=False
    )
    text_column: str = setting("text", help="Column holding the text (segment A).")
    text_pair_column: str | None = setting(help="Column holding the second text of a sentence pair (segment B).")
    label_column: str = setting(
        "label",
        help="Column holding the label: an integer id, a class name, a boolean, a float (regression), or a "
        "list of labels (multi-label; a JSON list in csv files).",
    )
    label_names: list[str] | None = setting(
        help="Class names in id order, comma-separated (negative,positive).", default_text="the data's, sorted"
    )


@dataclass
class ClassificationOptions(TaskOptions):
    problem_type: ProblemType | None = setting(
        help="Single-label or multi-label classification, or regression (also --regression, --classification).",
        default_text="from the labels",
        switches={"--regression": "regression", "--classification": "single_label_classification"},
    )
    metrics: list[str] | None = setting(
        help="Metrics besides accuracy and f1 (regression: pearson, spearmanr, mse, mae), comma-separated: accuracy, "
        "f1, matthews_correlation, pearson, spearmanr, mse, mae. Multi-label: f1_micro, f1_macro, accuracy."
    )
    class_weights: str | None = setting(
        help="Weight each class in the training loss: balanced (n / (classes x count) from the training labels) or "
        "one number per class, comma-separated in label-id order. run.yaml records the numbers."
    )

    def check(self, train) -> None:
        super().check(train)  # cooperative: distillation mixes its own checks in
        if self.class_weights and self.problem_type == "regression":
            raise BertcliError("--class-weights weighs classes: it does not apply to --problem-type regression")
        if self.metrics and self.problem_type == "multi_label_classification":
            raise BertcliError(
                "--metrics: multi-label classification reports f1_micro, f1_macro and accuracy; drop --metrics"
            )
