"""`bertcli evaluate`: the metrics training wrote, again, from the model's run.yaml (from anywhere, after the
training file moved) or on another file, in agreement with `predict`; labels the model does not know refused."""

import csv
import json

import pytest

from tests import synthetic
from tests.helpers import assert_one_line_error, finetune_cls_args, jsonl, metrics, run_bertcli, run_cli


def test_evaluate_from_another_directory_after_the_training_file_moved(tiny_model, tmp_path, monkeypatch):
    """run.yaml keeps absolute paths, and evaluate needs only the validation file. (The training run, given relative
    paths in its working directory, runs in this process; the evaluations are real processes elsewhere.)"""
    work = tmp_path / "work"
    work.mkdir()
    synthetic.write_csv(work / "train.csv", synthetic.sentiment(300, seed=21), ["sentence", "label"])
    synthetic.write_csv(work / "dev.csv", synthetic.sentiment(60, seed=22), ["sentence", "label"])
    args = finetune_cls_args(tiny_model, "out", "train.csv", "dev.csv", max_steps=20)
    with monkeypatch.context() as here:
        here.chdir(work)
        result = run_cli(*args)
    assert result.code == 0, result.stderr
    (work / "train.csv").rename(work / "moved.csv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for extra in ([], ["--config", work / "out" / "run.yaml"]):
        evaluated = run_bertcli("evaluate", "--model", work / "out", *extra, cwd=elsewhere)
        assert evaluated.code == 0, evaluated.stderr
        assert json.loads(evaluated.stdout)["accuracy"] == metrics(work / "out")["accuracy"]


def test_evaluate_reproduces_training_metrics_and_agrees_with_predict(classifier, sentiment_data, tmp_path):
    trained = metrics(classifier)
    again = run_cli("evaluate", "--model", classifier)  # data and columns from the model's run.yaml
    assert again.code == 0, again.stderr
    evaluated = json.loads(again.stdout)
    assert evaluated["accuracy"] == trained["accuracy"] and evaluated["eval_samples"] == 200
    assert evaluated["loss"] == pytest.approx(trained["loss"], rel=1e-5)
    matrix = evaluated["confusion_matrix"]["matrix"]
    assert evaluated["confusion_matrix"]["labels"] == ["negative", "positive"]
    assert sum(map(sum, matrix)) == 200 and (matrix[0][0] + matrix[1][1]) / 200 == evaluated["accuracy"]
    assert set(evaluated["per_class"]["positive"]) == {"precision", "recall", "f1", "support"}

    predicted = jsonl(run_cli("predict", "--model", classifier, "--input-file", sentiment_data["validation"]).stdout)
    with open(sentiment_data["validation"]) as f:
        gold = [row["label"] for row in csv.DictReader(f)]
    assert sum(p["label"] == g for p, g in zip(predicted, gold)) / len(gold) == evaluated["accuracy"]


def test_evaluate_on_another_file(classifier, tmp_path):
    rows = synthetic.sentiment(50, seed=9)
    path = synthetic.write_csv(tmp_path / "other.csv", rows, ["sentence", "label"])
    out = tmp_path / "metrics.json"
    result = run_cli("evaluate", "--model", classifier, "--validation-file", path, "--output-file", out)
    assert result.code == 0, result.stderr
    assert json.loads(out.read_text())["eval_samples"] == 50


def test_evaluate_rejects_labels_the_model_does_not_know(classifier, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("sentence,label\ngreat film,neutral\nbad film,negative\n")
    result = run_cli("evaluate", "--model", classifier, "--validation-file", path)
    assert result.code == 2 and "'neutral' is not among the labels negative, positive" in result.stderr


def test_evaluate_without_data_names_its_own_flags(tiny_model):
    """A model with no run.yaml (init-model's) and no data: evaluate says what it takes, not training's --train-file."""
    result = run_bertcli("evaluate", "--model", tiny_model)
    line = assert_one_line_error(result, "no evaluation data", "--validation-file")
    assert "--train-file" not in line
