"""Sequence classification (and regression) on the pooled [CLS] output: `bertcli finetune cls`.

Single sentences or sentence pairs (segment A / segment B). Labels may be integers, strings or class
names; they are mapped to ids 0..K-1 and the names land in the model's `id2label`/`label2id`.
Float labels (or `problem_type: regression`) train a one-output regression head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from bertcli.data import drop_empty_texts, load_split, map_cached, require_columns, take, tokenizer_fingerprint
from bertcli.errors import BertcliError
from bertcli.metrics import load_metric
from bertcli.modeling import load_pretrained
from bertcli.tasks.base import Task

ProblemType = Literal["single_label_classification", "regression"]


@dataclass
class ClassificationOptions:
    problem_type: ProblemType | None = None  # inferred from the labels when not given
    metrics: list[str] | None = None  # computed besides accuracy and f1 (classification) / pearson, spearmanr


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


def infer_labels(train_values: list, eval_values: list, feature, label_names: list[str] | None,
                 problem_type: ProblemType | None, source: str) -> LabelSpace:
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
        raise BertcliError(f"{source}: the label column mixes types ({a!r} in row {row_a} is {kind_a}, {b!r} in row "
                           f"{row_b} is {kind_b}): write every label the same way")


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


class ClassificationTask(Task):
    name = "cls"
    options_class = ClassificationOptions

    def load_datasets(self):
        d, t = self.cfg.data, self.cfg.train
        train = take(load_split(d, "train"), t.max_train_samples)
        evals = take(load_split(d, "validation"), t.max_eval_samples)
        columns = {"--text-column": d.text_column, "--text-pair-column": d.text_pair_column, "--label-column": d.label_column}
        require_columns(train, columns, d.train_file or f"{d.dataset} ({d.train_split})")
        require_columns(evals, columns, d.validation_file or f"{d.dataset} ({d.validation_split})")
        texts = [c for c in (d.text_column, d.text_pair_column) if c]
        train = drop_empty_texts(train, texts, d.train_file or f"{d.dataset} ({d.train_split})")
        evals = drop_empty_texts(evals, texts, d.validation_file or f"{d.dataset} ({d.validation_split})")
        self.labels = infer_labels(
            list(train[d.label_column]), list(evals[d.label_column]), train.features[d.label_column],
            d.label_names, self.cfg.options.problem_type, d.train_file or d.dataset,
        )
        self.cfg.options.problem_type = self.labels.problem_type  # run.yaml records what was inferred
        return self._featurize(train, "train"), self._featurize(evals, "validation")

    def load_eval_dataset(self):
        d, config = self.cfg.data, self.model_config
        evals = take(load_split(d, "validation"), self.cfg.train.max_eval_samples)
        source = d.validation_file or f"{d.dataset} ({d.validation_split})"
        require_columns(evals, {"--text-column": d.text_column, "--text-pair-column": d.text_pair_column,
                                "--label-column": d.label_column}, source)
        evals = drop_empty_texts(evals, [c for c in (d.text_column, d.text_pair_column) if c], source)
        problem_type = config.problem_type or ("regression" if config.num_labels == 1 else "single_label_classification")
        names = None if problem_type == "regression" else [config.id2label[i] for i in range(config.num_labels)]
        values = list(evals[d.label_column])
        self.labels = infer_labels(values, values, evals.features[d.label_column], names, problem_type, source)
        return self._featurize(evals, "validation")

    def _featurize(self, dataset, split: str):
        d, max_length = self.cfg.data, self.cfg.train.max_seq_length
        tokenizer, labels = self.tokenizer, self.labels

        def as_text(values):
            return ["" if v is None else str(v) for v in values]

        def featurize(batch):
            pair = as_text(batch[d.text_pair_column]) if d.text_pair_column else None
            encoded = tokenizer(as_text(batch[d.text_column]), pair, truncation=True, max_length=max_length,
                                return_attention_mask=False)
            return {
                "input_ids": encoded["input_ids"],
                "token_type_ids": encoded["token_type_ids"],
                "labels": labels.encode(batch[d.label_column]),
                "length": [len(ids) for ids in encoded["input_ids"]],
            }

        settings = {
            "task": "cls-v1", "tokenizer": tokenizer_fingerprint(tokenizer), "max_length": max_length,
            "columns": [d.text_column, d.text_pair_column, d.label_column], "labels": repr(labels),
        }
        return map_cached(dataset, featurize, settings, desc=f"Tokenizing {split}", remove_columns=dataset.column_names)

    def build_model(self):
        from transformers import AutoModelForSequenceClassification

        labels = self.labels
        extra = {}
        if labels.problem_type != "regression":
            extra = {"id2label": dict(enumerate(labels.names)), "label2id": {n: i for i, n in enumerate(labels.names)}}
        return load_pretrained(
            AutoModelForSequenceClassification, self.cfg.model, self.cfg.train.allow_pickle, num_labels=labels.num_labels, problem_type=labels.problem_type,
            ignore_mismatched_sizes=True, **extra,
        )

    @property
    def metric_names(self) -> list[str]:
        wanted = self.cfg.options.metrics or []
        base = ["pearson", "spearmanr"] if self.labels.problem_type == "regression" else ["accuracy", "f1"]
        return list(dict.fromkeys(wanted + base))

    def eval_outputs(self, outputs, batch):
        return {"logits": outputs.logits.float(), "labels": batch["labels"]}

    def compute_metrics(self, outputs):
        logits, references = outputs["logits"], outputs["labels"]
        regression = self.labels.problem_type == "regression"
        predictions = logits[:, 0] if regression else logits.argmax(-1)
        results = {}
        for name in self.metric_names:
            kwargs = {"average": "macro"} if name == "f1" and self.labels.num_labels > 2 else {}
            results.update(load_metric(name).compute(predictions=predictions, references=references, **kwargs))
        return results
