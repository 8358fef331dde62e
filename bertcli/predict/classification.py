"""Classification and regression: {"text", "label", "score"} per input, the top k labels on request."""

from __future__ import annotations

import numpy as np

from bertcli.predict.base import Predictor, as_numpy


class ClassificationPredictor(Predictor):
    plain_head = "classification"
    model_class = "AutoModelForSequenceClassification"
    optional_inputs = ("text_pair",)
    outputs = ("label", "score", "top_k", "scores")
    numpy_outputs = True

    def __init__(self, *args, top_k: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        config = self.model.config
        self.labels = [config.id2label[i] for i in range(config.num_labels)]
        self.problem_type = config.problem_type or (
            "regression" if config.num_labels == 1 else "single_label_classification"
        )
        self.top_k = top_k

    def predict_chunk(self, records: list[dict]) -> list[dict]:
        texts = [r.get("text", "") for r in records]
        pairs = [r.get("text_pair", "") for r in records] if any("text_pair" in r for r in records) else None
        encoded = self._encode(texts, pairs)
        results: list[dict | None] = [None] * len(records)
        for positions, outputs in self._run(encoded):
            for i, result in zip(positions, self._results(as_numpy(outputs.logits))):
                results[i] = {**records[i], **result}
        return results

    def _results(self, logits: np.ndarray) -> list[dict]:
        if self.problem_type == "regression":
            return [{"label": None, "score": value} for value in logits[:, 0].tolist()]
        multi_label = self.problem_type == "multi_label_classification"
        if multi_label:
            probabilities = 1 / (1 + np.exp(-logits))
        else:
            exp = np.exp(logits - logits.max(-1, keepdims=True))
            probabilities = exp / exp.sum(-1, keepdims=True)
        k = min(self.top_k, len(self.labels))
        top_ids = np.argsort(-probabilities, axis=-1, kind="stable")[:, :k]
        top_scores = np.take_along_axis(probabilities, top_ids, -1)
        results = []
        for scores, ids, row in zip(top_scores.tolist(), top_ids.tolist(), probabilities.tolist()):
            if multi_label:
                result = {
                    "label": [self.labels[j] for j, p in enumerate(row) if p > 0.5],
                    "scores": dict(zip(self.labels, row)),
                }
            else:
                result = {"label": self.labels[ids[0]], "score": scores[0]}
                if k > 1:
                    result["top_k"] = [{"label": self.labels[j], "score": s} for j, s in zip(ids, scores)]
            results.append(result)
        return results
