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
        f1 = np.divide(
            2 * tp,
            precision_denominator + recall_denominator,
            out=np.zeros_like(tp),
            where=(precision_denominator + recall_denominator) > 0,
        )
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


class MeanSquaredError(_LocalMetric):
    dtype = "float64"
    description = "Mean squared error between predicted and reference values."

    def _compute(self, predictions, references):
        return {"mse": float(np.mean((np.asarray(predictions, float) - np.asarray(references, float)) ** 2))}


class MeanAbsoluteError(_LocalMetric):
    dtype = "float64"
    description = "Mean absolute error between predicted and reference values."

    def _compute(self, predictions, references):
        return {"mae": float(np.mean(np.abs(np.asarray(predictions, float) - np.asarray(references, float))))}


def multilabel_scores(predictions: np.ndarray, references: np.ndarray) -> dict:
    """Multi-label classification, from boolean (examples, classes) arrays: F1 over every (example, class) decision
    (micro), F1 averaged over classes (macro; a class never predicted nor present counts 0), and the share of
    examples whose whole label set is right (accuracy, scikit-learn's subset accuracy)."""
    predictions, references = np.asarray(predictions, bool), np.asarray(references, bool)
    tp = (predictions & references).sum(0).astype(float)
    predicted, actual = predictions.sum(0), references.sum(0)
    per_class = np.divide(2 * tp, predicted + actual, out=np.zeros_like(tp), where=(predicted + actual) > 0)
    total = predicted.sum() + actual.sum()
    return {
        "f1_micro": float(2 * tp.sum() / total) if total else 0.0,
        "f1_macro": float(per_class.mean()),
        "accuracy": float((predictions == references).all(1).mean()),
    }


def classification_report(predictions: np.ndarray, references: np.ndarray, labels: list[str]) -> dict:
    """Confusion matrix (rows: reference, columns: prediction) and precision/recall/F1/support per class."""
    k = len(labels)
    matrix = np.bincount(references * k + predictions, minlength=k * k).reshape(k, k)
    true_positive = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(0), matrix.sum(1)
    precision = np.divide(true_positive, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(true_positive, actual, out=np.zeros(k), where=actual > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0)
    return {
        "confusion_matrix": {"labels": labels, "matrix": matrix.tolist()},
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, actual)
        },
    }


# --- SQuAD: exact match and F1 with the official answer normalisation -------------------------------------
def normalize_answer(text: str) -> str:
    """Lower case, remove punctuation and the articles a/an/the, collapse whitespace (the official script)."""
    import re
    import string

    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def _exact(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def _f1(prediction: str, gold: str) -> float:
    from collections import Counter

    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:  # no-answer on either side: right only if both are empty
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def squad_scores(prediction: str, golds: list[str]) -> tuple[float, float]:
    """(exact, f1) of one prediction: the max over the gold answers; no gold answer means 'no answer'."""
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(_exact(prediction, g) for g in golds), max(_f1(prediction, g) for g in golds)


class Squad(evaluate.Metric):
    """SQuAD v1.1 exact match and F1 (0-100), with the inputs of the Hub's `squad` metric:
    predictions [{id, prediction_text}], references [{id, answers: {text: [...], answer_start: [...]}}]."""

    version_2 = False

    def _info(self):
        prediction = {"id": datasets.Value("string"), "prediction_text": datasets.Value("string")}
        if self.version_2:
            prediction["no_answer_probability"] = datasets.Value("float64")
        answers = datasets.Sequence({"text": datasets.Value("string"), "answer_start": datasets.Value("int32")})
        features = datasets.Features(
            {"predictions": prediction, "references": {"id": datasets.Value("string"), "answers": answers}}
        )
        return evaluate.MetricInfo(description=self.__doc__, citation="", inputs_description="", features=features)

    def _compute(self, predictions, references, best_non_null: list[str] | None = None):
        golds = {r["id"]: _answer_texts(r["answers"]) for r in references}
        exact, f1 = {}, {}
        for p in predictions:
            exact[p["id"]], f1[p["id"]] = squad_scores(p["prediction_text"], golds[p["id"]])
        results = {
            "exact_match": 100 * np.mean(list(exact.values())),
            "f1": 100 * np.mean(list(f1.values())),
            "total": len(exact),
        }
        if not self.version_2:
            return results
        has_answer = {k: bool([g for g in v if normalize_answer(g)]) for k, v in golds.items()}
        for name, wanted in (("HasAns", True), ("NoAns", False)):
            ids = [k for k in exact if has_answer[k] == wanted]
            if ids:
                results[f"{name}_exact"] = 100 * np.mean([exact[k] for k in ids])
                results[f"{name}_f1"] = 100 * np.mean([f1[k] for k in ids])
            results[f"{name}_total"] = len(ids)
        odds = {p["id"]: p["no_answer_probability"] for p in predictions}
        best = dict(zip([p["id"] for p in predictions], best_non_null or [p["prediction_text"] for p in predictions]))
        best_exact, best_f1 = {}, {}
        for k, text in best.items():
            best_exact[k], best_f1[k] = squad_scores(text, golds[k])
        results["best_exact"], results["best_exact_thresh"] = _best_threshold(best, best_exact, odds, has_answer)
        results["best_f1"], results["best_f1_thresh"] = _best_threshold(best, best_f1, odds, has_answer)
        return results


class SquadV2(Squad):
    """SQuAD v2.0: as v1.1, plus `no_answer_probability` per prediction (any score that ranks the odds of no
    answer works, e.g. the null score difference). Adds HasAns/NoAns splits and the best threshold
    (`best_f1`, `best_f1_thresh`); pass the best non-null span of each question as `best_non_null` so that
    the threshold search sees the answer the model would give."""

    version_2 = True


def _answer_texts(answers) -> list[str]:
    if isinstance(answers, dict):
        return list(answers.get("text") or [])
    return [a["text"] for a in answers]


def _best_threshold(predictions: dict, scores: dict, odds: dict, has_answer: dict) -> tuple[float, float]:
    """The official v2 search: answer 'no answer' when the odds exceed a threshold; the best threshold's score.

    The search starts from 'no answer' everywhere, a threshold below every odds value. The official script starts
    at 0.0, which is below every probability; bertcli's odds are score differences, often all negative."""
    score = best_score = sum(1 for k in scores if not has_answer[k])
    best_threshold = float(np.nextafter(min(odds[k] for k in scores), -np.inf))
    for k in sorted(scores, key=lambda k: odds[k]):
        score += scores[k] if has_answer[k] else (-1 if predictions[k] else 0)
        if score > best_score:
            best_score, best_threshold = score, odds[k]
    return 100.0 * best_score / len(scores), float(best_threshold)


LOCAL_METRICS: dict[str, type[evaluate.Metric]] = {
    "accuracy": Accuracy,
    "f1": F1,
    "matthews_correlation": MatthewsCorrelation,
    "pearson": Pearson,
    "spearmanr": Spearman,
    "mse": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "squad": Squad,
    "squad_v2": SquadV2,
}


def load_metric(name: str) -> evaluate.Metric:
    """A metric by its `evaluate` name: ours when we ship it (offline), else from the Hub."""
    if name in LOCAL_METRICS:
        return LOCAL_METRICS[name](keep_in_memory=True)
    return evaluate.load(name)
