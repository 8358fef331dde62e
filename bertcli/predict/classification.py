"""Classification and regression: {"text", "label", "score"} per input, the top k labels on request."""

from __future__ import annotations

import torch

from bertcli.predict.base import Predictor


class ClassificationPredictor(Predictor):
    plain_head = "classification"
    model_class = "AutoModelForSequenceClassification"
    optional_inputs = ("text_pair",)
    outputs = ("label", "score", "top_k", "scores")

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
