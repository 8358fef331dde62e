"""Sequence classification (and regression) on the pooled [CLS] output: `bertcli finetune cls`.

Single sentences or sentence pairs (segment A / segment B). The label space (labels.py) comes from the training
labels, or, for `bertcli evaluate`, from the trained model's `id2label`.
"""

from __future__ import annotations

import dataclasses

from bertcli.data import drop_empty_texts, load_split, map_cached, require_columns, take, tokenizer_fingerprint
from bertcli.metrics import load_metric
from bertcli.modeling import load_pretrained
from bertcli.tasks.base import Models, Task, TaskData
from bertcli.tasks.classification.labels import LabelSpace, infer_labels


class ClassificationTask(Task):
    def load_data(self, training: bool) -> TaskData:
        d, t = self.cfg.data, self.cfg.train
        evals = self._examples("validation", t.max_eval_samples)
        if not training:  # the labels as the trained model has them
            config = self.model_config
            problem_type = config.problem_type or (
                "regression" if config.num_labels == 1 else "single_label_classification"
            )
            names = None if problem_type == "regression" else [config.id2label[i] for i in range(config.num_labels)]
            values = list(evals[d.label_column])
            labels = infer_labels(
                values, values, evals.features[d.label_column], names, problem_type, d.source("validation")
            )
            return TaskData(train=None, eval=self._featurize(evals, labels, "validation"), info=labels)
        train = self._examples("train", t.max_train_samples)
        labels = infer_labels(
            list(train[d.label_column]),
            list(evals[d.label_column]),
            train.features[d.label_column],
            d.label_names,
            self.cfg.options.problem_type,
            d.train_file or d.dataset,
        )
        return TaskData(
            train=self._featurize(train, labels, "train"),
            eval=self._featurize(evals, labels, "validation"),
            info=labels,
            options=dataclasses.replace(self.cfg.options, problem_type=labels.problem_type),
        )

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

    def metric_names(self, data: TaskData) -> list[str]:
        wanted = self.cfg.options.metrics or []
        base = ["pearson", "spearmanr"] if data.info.problem_type == "regression" else ["accuracy", "f1"]
        return list(dict.fromkeys(wanted + base))

    def eval_outputs(self, outputs, batch):
        return {"logits": outputs.logits.float(), "labels": batch["labels"]}

    def compute_metrics(self, outputs, data):
        logits, references = outputs["logits"], outputs["labels"]
        labels: LabelSpace = data.info
        regression = labels.problem_type == "regression"
        predictions = logits[:, 0] if regression else logits.argmax(-1)
        results = {}
        for name in self.metric_names(data):
            kwargs = {"average": "macro"} if name == "f1" and labels.num_labels > 2 else {}
            results.update(load_metric(name).compute(predictions=predictions, references=references, **kwargs))
        return results, None

    def report(self, outputs, data):
        """A confusion matrix and per-class precision, recall and F1."""
        from bertcli.metrics import classification_report

        labels: LabelSpace = data.info
        if labels.problem_type != "single_label_classification":
            return {}
        return classification_report(outputs["logits"].argmax(-1), outputs["labels"], labels.names)
