"""Batched predictors: the model directory says which (classification, question answering, fill-mask).

A predictor takes an iterable of records and yields one result per record, in input order. It works in
bounded chunks (so a huge input streams: the first results come out long before the input is read to the
end), sorts each chunk by token length, pads per batch, runs the model under `torch.inference_mode`, and puts
the results back in input order. Standard BERT heads run on `plain_bert` (classification and fill-mask import
torch and tokenizers only, question answering transformers' tokenizer too); other models on transformers'
classes. No datasets, no accelerate.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch

from bertcli.batching import SortedBatchSampler
from bertcli.errors import BertcliError

TASKS = {  # architecture suffix -> task
    "ForSequenceClassification": "classification",
    "ForQuestionAnswering": "question-answering",
    "ForMaskedLM": "fill-mask",
    "ForPreTraining": "fill-mask",
}


def detect_task(model_dir: str) -> str:
    config_file = Path(model_dir) / "config.json"
    if not config_file.is_file():
        raise BertcliError(f"{model_dir} is not a model directory (no config.json): pass an output dir of bertcli")
    architectures = json.loads(config_file.read_text()).get("architectures") or []
    for architecture in architectures:
        for suffix, task in TASKS.items():
            if architecture.endswith(suffix):
                return task
    raise BertcliError(
        f"{model_dir} holds a {', '.join(architectures) or 'model of no stated architecture'}: bertcli predicts with "
        "sequence classification, question answering, and masked-LM / pre-training models"
    )


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as e:
        raise BertcliError(f"--device {device}: {e}") from e
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise BertcliError(f"--device {device}: no CUDA GPU here; use --device cpu or auto")
    return resolved


def chunked(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class Predictor:
    """Shared machinery; subclasses say how records become model inputs and outputs become results."""

    task: str  # a key of TASKS
    model_class: str  # name of the transformers Auto class (for models that plain_bert does not cover)

    def __init__(self, model_dir: str, device: str = "auto", batch_size: int = 32, max_length: int | None = None,
                 dtype: str = "auto", allow_pickle: bool = False):
        from bertcli import plain_bert

        self.device = resolve_device(device)
        # Standard BERT heads run on plain_bert, without importing transformers (seconds less start-up);
        # anything else on transformers' own classes.
        self.model = plain_bert.load(model_dir, self.task, self.device, self._dtype(dtype))
        plain = self.model is not None and self.task != "question-answering"  # QA windows need transformers'
        self.tokenizer = (plain and plain_bert.load_tokenizer(model_dir)) or self._transformers_tokenizer(model_dir)
        if self.model is None:
            self.model = self._load_transformers(model_dir, allow_pickle, self._dtype(dtype))
        limit = self.model.config.max_position_embeddings
        self.max_length = min(max_length or limit, limit)
        self.batch_size = batch_size
        self.pad_to = 8 if self.device.type == "cuda" else None
        self.truncated = 0  # inputs cut to max_length so far

    @staticmethod
    def _transformers_tokenizer(model_dir: str):
        from bertcli.modeling import load_tokenizer, quiet_transformers

        quiet_transformers()
        return load_tokenizer(model_dir)

    def _load_transformers(self, model_dir: str, allow_pickle: bool, dtype: torch.dtype):
        import transformers

        from bertcli.modeling import load_pretrained, quiet_transformers

        quiet_transformers()
        auto_class = getattr(transformers, self.model_class)
        return load_pretrained(auto_class, model_dir, allow_pickle, dtype=dtype).to(self.device).eval()

    def _dtype(self, dtype: str) -> torch.dtype:
        if dtype == "auto":  # half precision only where it is fast and safe
            if self.device.type == "cuda":
                return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            return torch.float32
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]

    def predict(self, records: Iterable[dict], chunk_size: int | None = None) -> Iterator[dict]:
        for chunk in chunked(records, chunk_size or 64 * self.batch_size):
            yield from self.predict_chunk(chunk)

    def predict_chunk(self, records: list[dict]) -> list[dict]:
        raise NotImplementedError

    # --- helpers for subclasses ------------------------------------------------------------------------
    def _encode(self, texts: list[str], pairs: list[str] | None = None):
        encoded = self.tokenizer(texts, pairs, truncation=True, max_length=self.max_length, return_attention_mask=False)
        self.truncated += sum(1 for e in encoded.encodings if e.overflowing)
        return encoded

    @torch.inference_mode()
    def _run(self, features: dict[str, list[list[int]]]) -> Iterator[tuple[list[int], object]]:
        """Run the model over features sorted by length; yield (positions in `features`, model output)."""
        input_ids = features["input_ids"]
        lengths = [len(ids) for ids in input_ids]
        for positions in SortedBatchSampler(lengths, self.batch_size):
            width = max(lengths[i] for i in positions)
            if self.pad_to:
                width = -(-width // self.pad_to) * self.pad_to
            batch = {}
            for key in ("input_ids", "token_type_ids"):
                if key in features:
                    pad = self.tokenizer.pad_token_id if key == "input_ids" else 0
                    rows = torch.full((len(positions), width), pad, dtype=torch.long)
                    for row, i in enumerate(positions):
                        rows[row, : lengths[i]] = torch.as_tensor(features[key][i])
                    batch[key] = rows.to(self.device, non_blocking=True)
            if any(lengths[i] < width for i in positions):  # no mask at all lets SDPA take its fastest path
                mask = torch.arange(width)[None, :] < torch.tensor([lengths[i] for i in positions])[:, None]
                batch["attention_mask"] = mask.long().to(self.device, non_blocking=True)
            yield positions, self.model(**batch)

    def warn_truncated(self) -> None:
        if self.truncated:
            print(f"bertcli: warning: {self.truncated} input(s) longer than {self.max_length} tokens were truncated",
                  file=sys.stderr)


class ClassificationPredictor(Predictor):
    task = "classification"
    model_class = "AutoModelForSequenceClassification"

    def __init__(self, *args, top_k: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        config = self.model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.problem_type = config.problem_type or (
            "regression" if config.num_labels == 1 else "single_label_classification")
        self.top_k = top_k

    def predict_chunk(self, records: list[dict]) -> list[dict]:
        texts = [r.get("text", "") for r in records]
        pairs = [r.get("text_pair", "") for r in records] if any("text_pair" in r for r in records) else None
        encoded = self._encode(texts, pairs)
        results: list[dict | None] = [None] * len(records)
        for positions, outputs in self._run(encoded):
            for i, result in zip(positions, self._results(outputs.logits.float().cpu())):
                results[i] = {**records[i], **result}
        return results

    def _results(self, logits: torch.Tensor) -> list[dict]:
        if self.problem_type == "regression":
            return [{"label": None, "score": value} for value in logits[:, 0].tolist()]
        multi_label = self.problem_type == "multi_label_classification"
        probabilities = logits.sigmoid() if multi_label else logits.softmax(-1)
        k = min(self.top_k, len(self.labels))
        top_scores, top_ids = probabilities.topk(k, dim=-1)
        results = []
        for scores, ids, row in zip(top_scores.tolist(), top_ids.tolist(), probabilities.tolist()):
            if multi_label:
                result = {"label": [self.labels[j] for j, p in enumerate(row) if p > 0.5],
                          "scores": dict(zip(self.labels, row))}
            else:
                result = {"label": self.labels[ids[0]], "score": scores[0]}
                if k > 1:
                    result["top_k"] = [{"label": self.labels[j], "score": s} for j, s in zip(ids, scores)]
            results.append(result)
        return results


class FillMaskPredictor(Predictor):
    task = "fill-mask"
    model_class = "AutoModelForMaskedLM"

    def __init__(self, *args, top_k: int = 5, **kwargs):
        super().__init__(*args, **kwargs)
        self.top_k = top_k

    def predict_chunk(self, records: list[dict]) -> list[dict]:
        mask_id = self.tokenizer.mask_token_id
        texts = [r.get("text", "") for r in records]
        for n, text in enumerate(texts):
            if self.tokenizer.mask_token not in text:
                raise BertcliError(f"input {n + 1} has no {self.tokenizer.mask_token} token to fill: {text[:60]!r}")
        encoded = self._encode(texts)
        results: list[dict | None] = [None] * len(records)
        for positions, outputs in self._run(encoded):
            logits = outputs.logits.float()
            for row, i in enumerate(positions):
                ids = torch.tensor(encoded["input_ids"][i])
                where = (ids == mask_id).nonzero().flatten().tolist()
                probabilities = logits[row, where].softmax(-1)
                scores, tokens = probabilities.topk(self.top_k, dim=-1)
                masks = [[{"token": self.tokenizer.convert_ids_to_tokens(t), "score": s}
                          for t, s in zip(token_row, score_row)]
                         for token_row, score_row in zip(tokens.tolist(), scores.tolist())]
                filled = ids.clone()
                filled[where] = tokens[:, 0].cpu()
                results[i] = {**records[i], "predictions": masks,
                              "filled": self.tokenizer.decode(filled, skip_special_tokens=True)}
        return results


class QuestionAnsweringPredictor(Predictor):
    """Answers from windows over the context, by the same span search as evaluation (squad.best_spans)."""

    task = "question-answering"
    model_class = "AutoModelForQuestionAnswering"

    def __init__(self, *args, doc_stride: int = 128, max_query_length: int = 64, n_best: int = 20,
                 max_answer_length: int = 30, version_2: bool = False, null_score_diff_threshold: float = 0.0,
                 **kwargs):
        from bertcli.squad import SpanSettings, Windowing

        kwargs["max_length"] = kwargs.get("max_length") or 384
        super().__init__(*args, **kwargs)
        self.windowing = Windowing(self.max_length, doc_stride, max_query_length)
        self.spans = SpanSettings(n_best, max_answer_length, version_2, null_score_diff_threshold)

    def predict_chunk(self, records: list[dict]) -> list[dict]:
        import numpy as np

        from bertcli.squad import best_spans, make_features

        questions = [r.get("question", "") for r in records]
        contexts = [r.get("context", "") for r in records]
        features = make_features(self.tokenizer, questions, contexts, self.windowing)
        width = max(len(ids) for ids in features["input_ids"])
        starts = np.full((len(features["input_ids"]), width), -1e4, dtype=np.float32)
        ends = starts.copy()
        offsets = np.full((len(starts), width, 2), -1, dtype=np.int64)
        for i, row in enumerate(features["offset_mapping"]):
            offsets[i, : len(row)] = row
        for positions, outputs in self._run(features):
            start_logits, end_logits = outputs.start_logits.float().cpu().numpy(), outputs.end_logits.float().cpu().numpy()
            for row, i in enumerate(positions):
                n = len(features["input_ids"][i])
                starts[i, :n], ends[i, :n] = start_logits[row, :n], end_logits[row, :n]
        answers = best_spans(starts, ends, offsets, np.asarray(features["example_index"]), contexts, self.spans)
        return [{**record, "answer": a["answer"], "score": a["score"], "start": a["start"], "end": a["end"]}
                for record, a in zip(records, answers)]


PREDICTORS = {p.task: p for p in (ClassificationPredictor, FillMaskPredictor, QuestionAnsweringPredictor)}


def load_predictor(model_dir: str, **options) -> Predictor:
    """The predictor for the model in `model_dir`; `options` that the task does not take are ignored."""
    task = detect_task(model_dir)
    if task not in PREDICTORS:
        raise BertcliError(f"{model_dir}: predicting for {task} is not supported yet")
    import inspect

    predictor = PREDICTORS[task]
    accepted = set(inspect.signature(predictor.__init__).parameters) | set(inspect.signature(Predictor.__init__).parameters)
    return predictor(model_dir, **{k: v for k, v in options.items() if k in accepted})
