"""Extractive question answering the SQuAD way: examples, windowed features, and span post-processing.

Examples are {id, question, context, answers: {text: [...], answer_start: [...]}}. A context longer than the
window is split into overlapping windows (`doc_stride` tokens of overlap, as Hugging Face's run_qa.py counts
it); each window is a feature [CLS] question [SEP] context-window [SEP] with its token -> character offsets.
Post-processing scores every span i <= j inside the context of every window as start_i + end_j, over the
n-best starts and ends of each window, vectorised with numpy; SQuAD 2.0 compares the best span with the
null answer ([CLS]).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bertcli.errors import BertcliError

NO_OFFSET = (-1, -1)  # offset of a token outside the context (question, special tokens, padding)


# --- examples ---------------------------------------------------------------------------------------------
def read_squad_json(path: str | Path) -> list[dict] | None:
    """Flatten the official nested SQuAD JSON (data -> paragraphs -> qas); None if the file is not in that form."""
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise BertcliError(f"{path} is not valid JSON: {e.msg} at line {e.lineno}") from e
    if not (isinstance(data, dict) and isinstance(data.get("data"), list)):
        return None
    records = []
    for article in data["data"]:
        for paragraph in article.get("paragraphs", []):
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                answers = qa.get("answers") or []
                records.append(
                    {
                        "id": str(qa["id"]),
                        "title": article.get("title", ""),
                        "question": qa["question"],
                        "context": context,
                        "answers": {
                            "text": [a["text"] for a in answers],
                            "answer_start": [a["answer_start"] for a in answers],
                        },
                    }
                )
    if not records:
        raise BertcliError(f"{path} holds no questions")
    return records


def normalize_answers(value) -> dict:
    """`answers` as a dict of lists, from a dict, a JSON string (csv files) or a list of {text, answer_start}."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {"text": [], "answer_start": []}
    if isinstance(value, list):
        value = {"text": [a["text"] for a in value], "answer_start": [a["answer_start"] for a in value]}
    texts, starts = value.get("text") or [], value.get("answer_start") or []
    if isinstance(texts, str):
        texts, starts = [texts], [starts]
    return {"text": [str(t) for t in texts], "answer_start": [int(s) for s in starts]}


def mismatched_answers(ids: list[str], contexts: list[str], answers: list[dict]) -> list[str]:
    """Ids of examples whose first answer's text is not at its answer_start in the context."""
    bad = []
    for id_, context, answer in zip(ids, contexts, answers):
        if answer["text"]:
            start, text = answer["answer_start"][0], answer["text"][0]
            if context[start : start + len(text)] != text:
                bad.append(id_)
    return bad


# --- features ---------------------------------------------------------------------------------------------
@dataclass
class Windowing:
    max_length: int = 384
    doc_stride: int = 128
    max_query_length: int = 64


def _truncate_questions(tokenizer, questions: list[str], max_query_length: int) -> list[str]:
    """Cut each question to its first `max_query_length` tokens (BERT's max_query_length), at a character."""
    encoded = tokenizer(
        questions,
        add_special_tokens=False,
        truncation=True,
        max_length=max_query_length,
        return_offsets_mapping=True,
        return_overflowing_tokens=False,
    )
    cut = []
    for question, offsets, encoding in zip(questions, encoded["offset_mapping"], encoded.encodings):
        cut.append(question[: offsets[-1][1]] if encoding.overflowing and offsets else question)
    return cut


def make_features(
    tokenizer, questions: list[str], contexts: list[str], windowing: Windowing, answers: list[dict] | None = None
) -> dict[str, list]:
    """Windowed features for a batch of examples.

    Always: input_ids, token_type_ids, example_index (position of the example in the batch), offset_mapping
    (character offsets in the context; NO_OFFSET outside it). With `answers` (training): start_positions and
    end_positions, the answer's first and last token, or [CLS] (0) when the window does not hold the whole
    answer or the question has none.
    """
    if tokenizer.padding_side != "right":
        raise BertcliError("question answering needs a tokenizer that pads on the right")
    questions = _truncate_questions(tokenizer, [q.lstrip() for q in questions], windowing.max_query_length)
    encoded = tokenizer(
        questions,
        contexts,
        truncation="only_second",
        max_length=windowing.max_length,
        stride=windowing.doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        return_attention_mask=False,
    )
    example_index = encoded["overflow_to_sample_mapping"]
    offsets_out, starts, ends = [], [], []
    for i, offsets in enumerate(encoded["offset_mapping"]):
        in_context = np.array([s == 1 for s in encoded.sequence_ids(i)])
        offsets = np.asarray(offsets, dtype=np.int64)
        offsets[~in_context] = NO_OFFSET
        offsets_out.append(offsets.tolist())
        if answers is None:
            continue
        answer = answers[example_index[i]]
        start, end = _answer_tokens(offsets, in_context, answer)
        starts.append(start)
        ends.append(end)
    features = {
        "input_ids": encoded["input_ids"],
        "token_type_ids": encoded["token_type_ids"],
        "example_index": example_index,
        "offset_mapping": offsets_out,
    }
    if answers is not None:
        features.update(start_positions=starts, end_positions=ends)
    return features


def _answer_tokens(offsets: np.ndarray, in_context: np.ndarray, answer: dict) -> tuple[int, int]:
    """Token positions of the answer's first and last character in this window, or (0, 0) for [CLS]."""
    if not answer["text"]:
        return 0, 0
    start_char = answer["answer_start"][0]
    end_char = start_char + len(answer["text"][0])
    context_tokens = np.flatnonzero(in_context)
    token_starts, token_ends = offsets[context_tokens, 0], offsets[context_tokens, 1]
    if token_starts[0] > start_char or token_ends[-1] < end_char:  # the answer is not all inside this window
        return 0, 0
    first = context_tokens[np.searchsorted(token_ends, start_char, side="right")]  # first token ending after start
    last = context_tokens[np.searchsorted(token_starts, end_char, side="left") - 1]  # last token starting before end
    return int(first), int(last)


# --- post-processing --------------------------------------------------------------------------------------
@dataclass
class SpanSettings:
    n_best: int = 20
    max_answer_length: int = 30
    version_2: bool = False
    null_score_diff_threshold: float = 0.0


def best_spans(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    offsets: np.ndarray,
    example_index: np.ndarray,
    contexts: list[str],
    settings: SpanSettings,
) -> list[dict]:
    """The answer of every example from the logits of its features.

    start_logits, end_logits: (features, L); offsets: (features, L, 2) with NO_OFFSET outside the context;
    example_index: (features,) the example each feature belongs to, in 0..len(contexts)-1.
    Returns per example: answer (the prediction after the null check in v2), best (the best non-null span),
    score_diff (null score - best span score; v2's null odds), start/end characters, and the n-best list.
    """
    n_features, width = start_logits.shape
    n = min(settings.n_best, width)
    in_context = offsets[..., 0] >= 0
    masked_start = np.where(in_context, start_logits, -np.inf)
    masked_end = np.where(in_context, end_logits, -np.inf)
    top_start = np.argsort(-masked_start, axis=1, kind="stable")[:, :n]  # (F, n)
    top_end = np.argsort(-masked_end, axis=1, kind="stable")[:, :n]
    start_scores = np.take_along_axis(masked_start, top_start, axis=1)
    end_scores = np.take_along_axis(masked_end, top_end, axis=1)
    scores = start_scores[:, :, None] + end_scores[:, None, :]  # (F, n, n): every start with every end
    length = top_end[:, None, :] - top_start[:, :, None]
    scores = np.where((length >= 0) & (length < settings.max_answer_length), scores, -np.inf)
    null_scores = start_logits[:, 0] + end_logits[:, 0]

    features_of = _group(example_index, len(contexts))
    results = []
    for example, features in enumerate(features_of):
        context = contexts[example]
        if len(features) == 0:  # no feature survived (max samples cut): nothing to say
            results.append({"answer": "", "best": "", "score_diff": 0.0, "start": -1, "end": -1, "n_best": []})
            continue
        flat = scores[features].reshape(-1)  # (k * n * n,)
        k = min(settings.n_best, int(np.isfinite(flat).sum()))
        candidates = np.argpartition(-flat, k - 1)[:k] if k else np.array([], dtype=np.int64)
        candidates = candidates[np.argsort(-flat[candidates], kind="stable")]
        feature, si, ei = np.unravel_index(candidates, (len(features), n, n))
        feature = features[feature]
        start_tok, end_tok = top_start[feature, si], top_end[feature, ei]
        char_start, char_end = offsets[feature, start_tok, 0], offsets[feature, end_tok, 1]
        n_best = [
            {
                "text": context[a:b],
                "score": float(s),
                "start_logit": float(start_logits[f, st]),
                "end_logit": float(end_logits[f, et]),
                "start": int(a),
                "end": int(b),
            }
            for a, b, s, f, st, et in zip(char_start, char_end, flat[candidates], feature, start_tok, end_tok)
        ]
        null_score = float(null_scores[features].min())
        if settings.version_2:
            n_best.append(
                {
                    "text": "",
                    "score": null_score,
                    "start_logit": float(start_logits[features, 0].min()),
                    "end_logit": float(end_logits[features, 0].min()),
                    "start": -1,
                    "end": -1,
                }
            )
            n_best.sort(key=lambda c: -c["score"])
        probabilities = _softmax(np.array([c["score"] for c in n_best])) if n_best else []
        for candidate, p in zip(n_best, probabilities):
            candidate["probability"] = float(p)
        best = next((c for c in n_best if c["start"] >= 0), None)
        best_score = best["score"] if best else -np.inf
        score_diff = null_score - best_score if best else np.inf
        answer = best
        if best is None or (settings.version_2 and score_diff > settings.null_score_diff_threshold):
            answer = None
        results.append(
            {
                "answer": answer["text"] if answer else "",
                "best": best["text"] if best else "",
                "score": answer["probability"] if answer else (n_best[0]["probability"] if n_best else 0.0),
                "score_diff": float(score_diff),
                "start": answer["start"] if answer else -1,
                "end": answer["end"] if answer else -1,
                "n_best": n_best,
            }
        )
    return results


def _group(example_index: np.ndarray, n_examples: int) -> list[np.ndarray]:
    order = np.argsort(example_index, kind="stable")
    bounds = np.searchsorted(example_index[order], np.arange(n_examples + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(n_examples)]


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()
