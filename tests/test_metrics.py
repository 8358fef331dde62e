"""The offline metrics against hand-computed values, through the evaluate API, SQuAD's among them."""

import math

import evaluate
import pytest

from bertcli.metrics import load_metric, normalize_answer, squad_scores


@pytest.mark.parametrize("name", ["accuracy", "f1", "matthews_correlation", "pearson", "spearmanr", "mse", "mae"])
def test_every_shipped_metric_computes_offline_under_its_evaluate_name(name, monkeypatch):
    def no_hub(*args, **kwargs):
        raise AssertionError("a shipped metric must not reach the Hub")

    monkeypatch.setattr(evaluate, "load", no_hub)
    metric = load_metric(name)
    metric.add_batch(predictions=[1, 0], references=[1, 1])
    assert list(metric.compute()) == [name]


def test_a_metric_bertcli_does_not_ship_comes_from_the_hub(monkeypatch):
    asked = []
    monkeypatch.setattr(evaluate, "load", lambda name: asked.append(name) or "the hub's")
    assert load_metric("bleu") == "the hub's" and asked == ["bleu"]


def test_mse_mae_and_multilabel_scores():
    from bertcli.metrics import multilabel_scores

    assert load_metric("mse").compute(predictions=[1.0, 3.0], references=[2.0, 1.0]) == {"mse": 2.5}
    assert load_metric("mae").compute(predictions=[1.0, 3.0], references=[2.0, 1.0]) == {"mae": 1.5}
    predicted = [[1, 0, 0], [1, 1, 0], [0, 0, 0]]
    gold = [[1, 0, 0], [1, 0, 1], [0, 0, 0]]
    # decisions: tp 2, fp 1, fn 1 -> micro 4 / 6; per class F1 1, 0, 0 -> macro 1/3; rows 1 and 3 exact -> 2/3
    scores = multilabel_scores(predicted, gold)
    assert scores == pytest.approx({"f1_micro": 2 / 3, "f1_macro": 1 / 3, "accuracy": 2 / 3})


def test_accuracy_and_add_batch():
    metric = load_metric("accuracy")
    metric.add_batch(predictions=[1, 0], references=[1, 1])
    metric.add_batch(predictions=[0, 0], references=[0, 1])
    assert metric.compute() == {"accuracy": 0.5}


def test_f1_binary_and_macro():
    predictions, references = [1, 1, 0, 0, 1], [1, 0, 0, 1, 1]
    # positive class: tp=2, fp=1, fn=1 -> precision 2/3, recall 2/3, F1 2/3
    assert load_metric("f1").compute(predictions=predictions, references=references)["f1"] == pytest.approx(2 / 3)
    # three classes: per-class F1 = 1, 0.5, 0 -> macro 0.5
    result = load_metric("f1").compute(predictions=[0, 1, 2, 1], references=[0, 1, 1, 2], average="macro")
    assert result["f1"] == pytest.approx(0.5)


def test_f1_of_a_class_never_predicted_nor_present_is_zero():
    assert load_metric("f1").compute(predictions=[0, 0], references=[0, 0])["f1"] == 0.0


def test_matthews_correlation():
    # tp=2, tn=1, fp=1, fn=1: (2*1 - 1*1) / sqrt(3*3*2*2) = 1/6
    result = load_metric("matthews_correlation").compute(predictions=[1, 1, 0, 0, 1], references=[1, 0, 0, 1, 1])
    assert result["matthews_correlation"] == pytest.approx(1 / 6)
    perfect = load_metric("matthews_correlation").compute(predictions=[0, 1, 2], references=[0, 1, 2])
    assert perfect["matthews_correlation"] == pytest.approx(1.0)
    constant = load_metric("matthews_correlation").compute(predictions=[1, 1, 1], references=[0, 1, 1])
    assert constant["matthews_correlation"] == 0.0


def test_pearson_and_spearman_with_ties():
    x, y = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 5.0, 4.0]
    # Pearson by hand: dx = -1.5,-.5,.5,1.5; dy = -1.75,.25,1.25,.25 -> 3.5 / sqrt(5 * 4.75)
    assert load_metric("pearson").compute(predictions=x, references=y)["pearson"] == pytest.approx(
        3.5 / math.sqrt(23.75)
    )
    # Spearman: ranks of y with ties averaged = 1, 2.5, 4, 2.5; deviations from 2.5: -1.5, 0, 1.5, 0;
    # with x's rank deviations -1.5, -.5, .5, 1.5: covariance 2.25 + .75 = 3 -> 3 / sqrt(5 * 4.5)
    expected = 3.0 / math.sqrt(5 * 4.5)
    assert load_metric("spearmanr").compute(predictions=x, references=y)["spearmanr"] == pytest.approx(expected)


# --- SQuAD -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "prediction, golds, exact, f1",
    [
        ("The Denver Broncos", ["Denver Broncos"], 1.0, 1.0),  # article
        ("denver broncos!", ["Denver Broncos"], 1.0, 1.0),  # case and punctuation
        ("  Denver   Broncos ", ["Denver Broncos"], 1.0, 1.0),  # whitespace
        ("in 1990", ["1990", "the year 1990"], 0.0, 2 / 3),  # max over golds: P 1/2, R 1
        ("Broncos", ["Denver Broncos"], 0.0, 2 / 3),  # P 1, R 1/2
        ("an apple", ["the apple"], 1.0, 1.0),
        ("", [], 1.0, 1.0),  # v2: no answer, rightly
        ("Paris", [], 0.0, 0.0),  # v2: answered a question without one
        ("", ["Paris"], 0.0, 0.0),
    ],
)
def test_squad_scores_match_hand_computed(prediction, golds, exact, f1):
    assert squad_scores(prediction, golds) == (exact, pytest.approx(f1))


def test_normalisation():
    assert normalize_answer("The  Quick, brown fox!") == "quick brown fox"


def test_squad_v2_metric_splits_and_best_threshold():
    predictions = [  # q1 has an answer, q2 does not
        {"id": "q1", "prediction_text": "", "no_answer_probability": 1.0},
        {"id": "q2", "prediction_text": "", "no_answer_probability": 3.0},
    ]
    references = [
        {"id": "q1", "answers": {"text": ["Paris"], "answer_start": [0]}},
        {"id": "q2", "answers": {"text": [], "answer_start": []}},
    ]
    result = load_metric("squad_v2").compute(
        predictions=predictions, references=references, best_non_null=["Paris", "Rome"]
    )
    assert result["exact_match"] == 50.0 and result["HasAns_exact"] == 0.0 and result["NoAns_exact"] == 100.0
    # answering when the odds are <= 1.0 gets q1 right and keeps q2 empty: 100 with threshold 1.0
    assert result["best_exact"] == 100.0 and result["best_exact_thresh"] == 1.0


def test_v2_best_threshold_gives_the_best_score_when_every_odds_value_is_negative():
    """Answering nothing is best here; the threshold must then be below every odds value (the official script's
    0.0 would answer every question)."""
    references = [{"id": str(i), "answers": {"text": [], "answer_start": []}} for i in range(4)]
    predictions = [{"id": str(i), "prediction_text": "lima", "no_answer_probability": -5.0 + i} for i in range(4)]
    scores = load_metric("squad_v2").compute(predictions=predictions, references=references, best_non_null=["lima"] * 4)
    assert scores["best_f1"] == 100.0 and scores["best_f1_thresh"] < -5.0
    assert scores["f1"] == 0.0  # at the default threshold 0.0 every question is answered
