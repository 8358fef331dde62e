"""Sequence classification (single- or multi-label) and regression on the pooled [CLS] output: `bertcli finetune cls`.

Single sentences or sentence pairs (segment A / segment B). The label space (labels.py) comes from the training
labels, or, for `bertcli evaluate`, from the trained model's `id2label`. With --class-weights the training loss
weighs each class (the evaluation loss stays the model's own, unweighted).
"""

from __future__ import annotations

import dataclasses

import torch

from bertcli.data import (
    drop_empty_texts,
    load_split,
    map_cached,
    require_columns,
    take,
    tokenizer_fingerprint,
    train_and_eval,
)
from bertcli.errors import BertcliError
from bertcli.metrics import load_metric, multilabel_scores
from bertcli.modeling import load_pretrained
from bertcli.tasks.base import Models, Task, TaskData
from bertcli.tasks.classification.labels import LabelSpace, class_weights, infer_labels


class ClassificationTask(Task):
    def __init__(self, cfg, tokenizer, model_config, pad_to_multiple_of=None):
        super().__init__(cfg, tokenizer, model_config, pad_to_multiple_of)
        weights = cfg.options.class_weights  # numbers once load_data has resolved "balanced"
        self.class_weights = [float(w) for w in weights.split(",")] if weights and weights != "balanced" else None

    def load_data(self, training: bool) -> TaskData:
        d, t = self.cfg.data, self.cfg.train
        limits = (t.max_train_samples, t.max_eval_samples)
        train, evals = train_and_eval(d, self._examples, t.seed, limits, training)
        if not training:  # the labels as the trained model has them
            names, problem_type = self._model_labels()
            values = list(evals[d.label_column])
            labels = infer_labels(
                values, values, evals.features[d.label_column], names, problem_type, d.source("validation")
            )
            return TaskData(train=None, eval=self._featurize(evals, labels, "validation"), info=labels)
        train_labels = list(train[d.label_column])
        o = self.cfg.options
        names, problem_type = self._model_labels() if self.labels_from_model else (d.label_names, o.problem_type)
        labels = infer_labels(
            train_labels,
            list(evals[d.label_column]) if evals is not None else [],
            train.features[d.label_column],
            names,
            problem_type,
            d.train_file or d.dataset,
            d.source("validation") if evals is not None else None,
        )
        weights = o.class_weights
        if weights:
            if labels.problem_type == "regression":
                raise BertcliError(
                    "--class-weights weighs classes, but these labels are numbers (regression): "
                    "drop it, or pass --problem-type single_label_classification"
                )
            weights = ",".join(str(w) for w in class_weights(labels, train_labels, weights))
        return TaskData(
            train=self._featurize(train, labels, "train"),
            eval=self._featurize(evals, labels, "validation") if evals is not None else None,
            info=labels,
            options=dataclasses.replace(o, problem_type=labels.problem_type, class_weights=weights),
        )

    labels_from_model = False  # a student learns the label space its teacher (cfg.model) has

    def _model_labels(self) -> tuple[list[str] | None, str]:
        """(label names, problem type) as the model in cfg.model has them."""
        config = self.model_config
        problem_type = config.problem_type or (
            "regression" if config.num_labels == 1 else "single_label_classification"
        )
        names = None if problem_type == "regression" else [config.id2label[i] for i in range(config.num_labels)]
        return names, problem_type

    def _examples(self, split: str, limit: int | None):
        d = self.cfg.data
        dataset = take(load_split(d, split), limit)
        columns = {
            "--text-column": d.text_column,
            "--text-pair-column": d.text_pair_column,
            "--label-column": d.label_column,
        }
        require_columns(dataset, columns, d.source(split))
        return drop_empty_texts(dataset, [c for c in (d.text_column, d.text_pair_column) if c], d.source(split))

    def _featurize(self, dataset, labels: LabelSpace, split: str):
        d, max_length, tokenizer = self.cfg.data, self.cfg.train.max_seq_length, self.tokenizer

        def as_text(values):
            return ["" if v is None else str(v) for v in values]

        def featurize(batch):
            pair = as_text(batch[d.text_pair_column]) if d.text_pair_column else None
            encoded = tokenizer(
                as_text(batch[d.text_column]), pair, truncation=True, max_length=max_length, return_attention_mask=False
            )
            return {
                "input_ids": encoded["input_ids"],
                "token_type_ids": encoded["token_type_ids"],
                "labels": labels.encode(batch[d.label_column]),
                "length": [len(ids) for ids in encoded["input_ids"]],
            }

        settings = {
            "task": "cls-v1",
            "tokenizer": tokenizer_fingerprint(tokenizer),
            "max_length": max_length,
            "columns": [d.text_column, d.text_pair_column, d.label_column],
            "labels": repr(labels),
        }
        return map_cached(dataset, featurize, settings, desc=f"Tokenizing {split}", remove_columns=dataset.column_names)

    def build_models(self, data: TaskData) -> Models:
        from transformers import AutoModelForSequenceClassification

        labels: LabelSpace = data.info
        extra = {}
        if labels.problem_type != "regression":
            extra = {"id2label": dict(enumerate(labels.names)), "label2id": {n: i for i, n in enumerate(labels.names)}}
        model = load_pretrained(
            AutoModelForSequenceClassification,
            self.cfg.model,
            self.cfg.train.allow_pickle,
            num_labels=labels.num_labels,
            problem_type=labels.problem_type,
            ignore_mismatched_sizes=True,
            **extra,
        )
        return Models(trained={"model": model})

    def loss(self, models, batch):
        if self.class_weights is None:
            return super().loss(models, batch)
        logits = models["model"](**{k: v for k, v in batch.items() if k != "labels"}).logits.float()
        weight = torch.tensor(self.class_weights, device=logits.device)
        if logits.shape == batch["labels"].shape:  # multi-label: a weight per class's sigmoid
            return torch.nn.functional.binary_cross_entropy_with_logits(logits, batch["labels"].float(), weight=weight)
        return torch.nn.functional.cross_entropy(logits, batch["labels"], weight=weight)

    def metric_names(self, data: TaskData) -> list[str]:
        problem_type = data.info.problem_type
        if problem_type == "multi_label_classification":
            return ["f1_micro", "f1_macro", "accuracy"]
        base = ["pearson", "spearmanr", "mse", "mae"] if problem_type == "regression" else ["accuracy", "f1"]
        return list(dict.fromkeys((self.cfg.options.metrics or []) + base))

    def eval_outputs(self, outputs, batch):
        return {"logits": outputs.logits.float(), "labels": batch["labels"]}

    def compute_metrics(self, outputs, data):
        logits, references = outputs["logits"], outputs["labels"]
        labels: LabelSpace = data.info
        if labels.problem_type == "multi_label_classification":  # a class is predicted where its sigmoid > 0.5
            return multilabel_scores(logits > 0, references > 0.5), None
        regression = labels.problem_type == "regression"
        predictions = logits[:, 0] if regression else logits.argmax(-1)
        results = {}
        for name in self.metric_names(data):
            kwargs = {"average": "macro"} if name == "f1" and labels.num_labels > 2 else {}
            results.update(load_metric(name).compute(predictions=predictions, references=references, **kwargs))
        return results, None

    def report(self, outputs, data, predictions):
        """A confusion matrix and per-class precision, recall and F1."""
        from bertcli.metrics import classification_report

        labels: LabelSpace = data.info
        if labels.problem_type != "single_label_classification":
            return {}
        return classification_report(outputs["logits"].argmax(-1), outputs["labels"], labels.names)
