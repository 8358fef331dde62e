"""The offline metrics against hand-computed values, through the evaluate API."""

import math

import evaluate
import pytest

from bertcli.metrics import load_metric


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
