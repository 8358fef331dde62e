"""Extractive question answering (SQuAD v1.1 and v2.0): `bertcli finetune squad`.

The question is segment A, the context segment B; BertForQuestionAnswering scores every token as the start
and as the end of the answer, and the answer is the span i <= j with the highest start_i + end_j
(squad.py does the windowing and the span search; this module wires them to the trainer).
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bertcli.data import (
    drop_empty_texts,
    load_file,
    load_split,
    map_cached,
    require_columns,
    take,
    tokenizer_fingerprint,
    train_and_eval,
)
from bertcli.errors import BertcliError
from bertcli.metrics import load_metric, squad_scores
from bertcli.modeling import load_pretrained
from bertcli.tasks.base import Models, Task, TaskData
from bertcli.tasks.question_answering.squad import (
    SpanSettings,
    Windowing,
    best_spans,
    make_features,
    mismatched_answers,
    normalize_answers,
    read_squad_json,
)


@dataclass
class EvalExamples:
    """The evaluation questions as the span search and the metric need them, beside their windowed features."""

    ids: list[str]
    questions: list[str]
    contexts: list[str]
    answers: list[dict]
    example_index: np.ndarray  # (features,): the question each window belongs to
    offsets: np.ndarray  # (features, max_seq_length, 2): character offsets of each token in the context


class QuestionAnsweringTask(Task):
    def __init__(self, cfg, tokenizer, model_config, pad_to_multiple_of=None):
        super().__init__(cfg, tokenizer, model_config, pad_to_multiple_of)
        o = cfg.options
        self.windowing = Windowing(cfg.train.max_seq_length, o.doc_stride, o.max_query_length)
        self.spans = SpanSettings(o.n_best, o.max_answer_length, o.version_2, o.null_score_diff_threshold)

    # --- data ---------------------------------------------------------------------------------------
    MODEL_COLUMNS = ["input_ids", "token_type_ids", "length"]

    def load_data(self, training: bool) -> TaskData:
        d, t = self.cfg.data, self.cfg.train
        limits = (t.max_train_samples, t.max_eval_samples)
        train, evals = train_and_eval(d, self._examples, t.seed, limits, training, unit="questions")
        eval_features = info = None
        if evals is not None:
            features = self._featurize(evals, "validation")
            info = EvalExamples(
                ids=[str(i) for i in evals[d.id_column]],
                questions=list(evals[d.question_column]),
                contexts=list(evals[d.context_column]),
                answers=[normalize_answers(a) for a in evals[d.answers_column]],
                example_index=np.asarray(features["example_index"]),
                offsets=_pad_offsets(features["offset_mapping"], t.max_seq_length),
            )
            eval_features = features.select_columns(self.MODEL_COLUMNS)
        train_features = None
        if training:
            train_features = self._featurize(self._usable_for_training(train), "train").select_columns(
                self.MODEL_COLUMNS + ["start_positions", "end_positions"]
            )
        return TaskData(train=train_features, eval=eval_features, info=info)

    def _examples(self, split: str, limit: int | None = None):
        d = self.cfg.data
        local = d.train_file if split == "train" else d.validation_file
        dataset = _load_nested_squad(Path(local)) if local and local.endswith(".json") else None
        if dataset is None:
            dataset = load_split(d, split)
        columns = {
            "--id-column": d.id_column,
            "--question-column": d.question_column,
            "--context-column": d.context_column,
            "--answers-column": d.answers_column,
        }
        require_columns(dataset, columns, d.source(split))
        return take(drop_empty_texts(dataset, [d.question_column, d.context_column], d.source(split)), limit)

    def _usable_for_training(self, train):
        """Drop (and report) examples whose answer is not where it says; v1 data must have answers."""
        d = self.cfg.data
        ids = [str(i) for i in train[d.id_column]]
        answers = [normalize_answers(a) for a in train[d.answers_column]]
        unanswerable = sum(1 for a in answers if not a["text"])
        if unanswerable and not self.cfg.options.version_2:
            raise BertcliError(f"{unanswerable} training questions have no answer: for SQuAD 2.0 data pass --version-2")
        bad = set(mismatched_answers(ids, list(train[d.context_column]), answers))
        if bad:
            first = ", ".join(sorted(bad)[:5])
            if len(bad) == len(ids):
                raise BertcliError(
                    f"no training answer is at its answer_start in the context (first ids: {first}): "
                    "answer_start must be the character offset of the answer text in the context"
                )
            print(
                f"bertcli: warning: {len(bad)} training answers are not at their answer_start in the context "
                f"(first ids: {first}); those questions are skipped in training",
                file=sys.stderr,
            )
            train = train.select([i for i, id_ in enumerate(ids) if id_ not in bad])
        return train

    def _featurize(self, dataset, split: str):
        d, tokenizer, windowing = self.cfg.data, self.tokenizer, self.windowing
        training = split == "train"

        def featurize(batch, indices):
            answers = [normalize_answers(a) for a in batch[d.answers_column]] if training else None
            features = make_features(tokenizer, batch[d.question_column], batch[d.context_column], windowing, answers)
            features["example_index"] = [indices[i] for i in features["example_index"]]
            features["length"] = [len(ids) for ids in features["input_ids"]]
            return features

        settings = {
            "task": "squad-v1",
            "tokenizer": tokenizer_fingerprint(tokenizer),
            "windowing": vars(windowing),
            "training": training,
            "columns": [d.question_column, d.context_column, d.answers_column],
        }
        return map_cached(
            dataset,
            featurize,
            settings,
            desc=f"Windowing {split}",
            with_indices=True,
            remove_columns=dataset.column_names,
        )

    # --- model --------------------------------------------------------------------------------------
    def build_models(self, data: TaskData) -> Models:
        from transformers import AutoModelForQuestionAnswering

        model = load_pretrained(
            AutoModelForQuestionAnswering, self.cfg.model, self.cfg.train.allow_pickle, ignore_mismatched_sizes=True
        )
        return Models(trained={"model": model})

    # --- evaluation ---------------------------------------------------------------------------------
    def metric_names(self, data: TaskData) -> list[str]:
        names = ["f1", "exact_match"]
        if self.cfg.options.version_2:
            names += ["best_f1", "best_f1_thresh", "best_exact", "HasAns_f1", "NoAns_f1"]
        return names

    def eval_outputs(self, outputs, batch):
        width = self.cfg.train.max_seq_length  # every batch to the same width, so batches concatenate
        pad = width - outputs.start_logits.shape[1]
        return {
            "start_logits": torch.nn.functional.pad(outputs.start_logits.float(), (0, pad), value=-1e4),
            "end_logits": torch.nn.functional.pad(outputs.end_logits.float(), (0, pad), value=-1e4),
        }

    def compute_metrics(self, outputs, data):
        """The metrics, and per question its answer, n-best list and null odds (save_predictions writes them)."""
        examples: EvalExamples = data.info
        results = best_spans(
            outputs["start_logits"],
            outputs["end_logits"],
            examples.offsets,
            examples.example_index,
            examples.contexts,
            self.spans,
        )
        version_2 = self.cfg.options.version_2
        predictions = [{"id": id_, "prediction_text": r["answer"]} for id_, r in zip(examples.ids, results)]
        if version_2:
            for prediction, r in zip(predictions, results):
                prediction["no_answer_probability"] = _finite(r["score_diff"])
        references = [{"id": id_, "answers": a} for id_, a in zip(examples.ids, examples.answers)]
        extra = {"best_non_null": [r["best"] for r in results]} if version_2 else {}
        scores = load_metric("squad_v2" if version_2 else "squad").compute(
            predictions=predictions, references=references, **extra
        )
        return {k: float(v) for k, v in scores.items() if not k.endswith("total")}, dict(zip(examples.ids, results))

    def report(self, outputs, data, predictions) -> dict:
        """Exact match and F1 by the question's first word (what, who, when, ...) and by the length of its answer."""
        examples: EvalExamples = data.info
        by_word, by_length = {}, {}
        for id_, question, answers in zip(examples.ids, examples.questions, examples.answers):
            exact, f1 = squad_scores(predictions[id_]["answer"], answers["text"])
            word = question.strip().split()[0].lower() if question.strip() else ""
            word = word if word in QUESTION_WORDS else "other"
            words = min((len(a.split()) for a in answers["text"]), default=0)
            length = (
                "no answer" if not answers["text"] else next(name for name, most in ANSWER_LENGTHS if words <= most)
            )
            for table, key in ((by_word, word), (by_length, length)):
                table.setdefault(key, []).append((exact, f1))

        def summary(table: dict) -> dict:
            return {
                key: {
                    "exact_match": 100 * float(np.mean([e for e, _ in rows])),
                    "f1": 100 * float(np.mean([f for _, f in rows])),
                    "count": len(rows),
                }
                for key, rows in table.items()
            }

        ordered_lengths = [name for name, _ in ANSWER_LENGTHS] + ["no answer"]
        return {
            "by_question_word": summary(by_word),
            "by_answer_length": {
                k: v for k, v in sorted(summary(by_length).items(), key=lambda kv: ordered_lengths.index(kv[0]))
            },
        }

    def save_predictions(self, out_dir: Path, predictions: dict) -> None:
        """predictions.json, nbest_predictions.json and (v2) null_odds.json, as the official scripts read them."""
        answers = {id_: r["answer"] for id_, r in predictions.items()}
        n_best = {
            id_: [{k: c[k] for k in ("text", "probability", "start_logit", "end_logit")} for c in r["n_best"]]
            for id_, r in predictions.items()
        }
        (out_dir / "predictions.json").write_text(json.dumps(answers, indent=2, ensure_ascii=False))
        (out_dir / "nbest_predictions.json").write_text(json.dumps(n_best, indent=2, ensure_ascii=False))
        if self.cfg.options.version_2:
            odds = {id_: _finite(r["score_diff"]) for id_, r in predictions.items()}
            (out_dir / "null_odds.json").write_text(json.dumps(odds, indent=2))


QUESTION_WORDS = ("what", "who", "when", "where", "why", "how", "which", "whose", "whom")
ANSWER_LENGTHS = (("1 word", 1), ("2 words", 2), ("3 words", 3), ("4-5 words", 5), ("6+ words", 10**9))


def _finite(x: float) -> float:
    return float(np.clip(x, -1e9, 1e9))


def _pad_offsets(offsets: list, width: int) -> np.ndarray:
    padded = np.full((len(offsets), width, 2), -1, dtype=np.int64)
    for i, row in enumerate(offsets):
        padded[i, : len(row)] = row
    return padded


def _load_nested_squad(path: Path):
    """The official nested JSON, flattened once into a cached JSON Lines file (so tokenization caches too)."""
    if not path.is_file():
        return None
    records = read_squad_json(path)
    if records is None:
        return None
    import datasets

    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:20]
    cache = Path(datasets.config.HF_DATASETS_CACHE) / "bertcli-squad" / f"{path.stem}-{digest}.jsonl"
    if not cache.is_file():
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        tmp.replace(cache)
    return load_file(cache)
