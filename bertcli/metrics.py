"""Metrics served through the `evaluate` API, computed here so they work with no network.

`evaluate.load("accuracy")` downloads a script from the Hub and fails offline, so the package ships the
computations as `evaluate.Metric` subclasses: `load_metric("accuracy").compute(predictions=..., references=...)`
behaves as the Hub metric does (same names, same result keys), and `add_batch` works too. Names we don't ship
fall back to `evaluate.load` (which needs the network).
"""

from __future__ import annotations

import datasets
import evaluate
import numpy as np


def _features(dtype: str) -> datasets.Features:
    return datasets.Features({"predictions": datasets.Value(dtype), "references": datasets.Value(dtype)})


class _LocalMetric(evaluate.Metric):
    dtype = "int64"
    description = ""

    def _info(self):
        return evaluate.MetricInfo(
            description=self.description, citation="", inputs_description="", features=_features(self.dtype)
        )


class Accuracy(_LocalMetric):
    description = "Fraction of predictions equal to the reference label."

    def _compute(self, predictions, references):
        return {"accuracy": float(np.mean(np.asarray(predictions) == np.asarray(references)))}


def _confusion(predictions, references) -> np.ndarray:
    p, r = np.asarray(predictions, dtype=np.int64), np.asarray(references, dtype=np.int64)
    k = int(max(p.max(initial=0), r.max(initial=0))) + 1
    return np.bincount(r * k + p, minlength=k * k).reshape(k, k)  # rows: reference, columns: prediction


class F1(_LocalMetric):
    description = "F1 of the positive class (average='binary', pos_label=1) or averaged over classes."

    def _compute(self, predictions, references, average: str = "binary", pos_label: int = 1):
        cm = _confusion(predictions, references)
        tp = np.diag(cm).astype(float)
        precision_denominator, recall_denominator = cm.sum(0), cm.sum(1)
        f1 = np.divide(2 * tp, precision_denominator + recall_denominator,
                       out=np.zeros_like(tp), where=(precision_denominator + recall_denominator) > 0)
        if average == "binary":
            return {"f1": float(f1[pos_label]) if pos_label < len(f1) else 0.0}
        if average == "macro":
            return {"f1": float(f1.mean())}
        if average == "micro":
            return {"f1": float(tp.sum() / cm.sum())}
        raise ValueError(f"average must be binary, macro or micro, not {average!r}")


class MatthewsCorrelation(_LocalMetric):
    description = "Matthews correlation coefficient (multi-class form, as scikit-learn computes it)."

    def _compute(self, predictions, references):
        cm = _confusion(predictions, references).astype(float)
        t, p, n, correct = cm.sum(1), cm.sum(0), cm.sum(), np.trace(cm)
        cov_tp = correct * n - t @ p
        denominator = np.sqrt((n * n - p @ p) * (n * n - t @ t))
        return {"matthews_correlation": float(cov_tp / denominator) if denominator > 0 else 0.0}


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    x, y = x - x.mean(), y - y.mean()
    denominator = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denominator) if denominator > 0 else 0.0


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (scipy.stats.rankdata's default)."""
    ranks = np.empty(len(x))
    ranks[np.argsort(x, kind="mergesort")] = np.arange(1, len(x) + 1)
    _, group, counts = np.unique(x, return_inverse=True, return_counts=True)
    return (np.bincount(group, weights=ranks) / counts)[group]


class Pearson(_LocalMetric):
    dtype = "float64"
    description = "Pearson correlation between predicted and reference values."

    def _compute(self, predictions, references):
        return {"pearson": _pearson(np.asarray(predictions, float), np.asarray(references, float))}


class Spearman(_LocalMetric):
    dtype = "float64"
    description = "Spearman rank correlation between predicted and reference values."

    def _compute(self, predictions, references):
        x, y = np.asarray(predictions, float), np.asarray(references, float)
        return {"spearmanr": _pearson(_average_ranks(x), _average_ranks(y))}


LOCAL_METRICS: dict[str, type[evaluate.Metric]] = {
    "accuracy": Accuracy,
    "f1": F1,
    "matthews_correlation": MatthewsCorrelation,
    "pearson": Pearson,
    "spearmanr": Spearman,
}


def load_metric(name: str) -> evaluate.Metric:
    """A metric by its `evaluate` name: ours when we ship it (offline), else from the Hub."""
    if name in LOCAL_METRICS:
        return LOCAL_METRICS[name](keep_in_memory=True)
    return evaluate.load(name)
