"""End to end: `bertcli finetune cls` on a tiny BERT made by init-model, through the real CLI: it learns, writes the
output contract, repeats itself from run.yaml; sentence pairs, regression, multi-label, class weights and labels
written as booleans or floats."""

import os
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from transformers import AutoConfig

from tests import synthetic
from tests.helpers import finetune_cls_args, jsonl, metrics, read_log, run_bertcli, run_cli


def cache_files() -> set[str]:
    root = Path(os.environ["HF_DATASETS_CACHE"])
    return {str(p) for p in root.rglob("cache-*.arrow")}


def test_learns_a_learnable_task(classifier):
    out = classifier
    assert metrics(out)["accuracy"] >= 0.95
    losses = [r["loss"] for r in read_log(out) if "loss" in r]
    assert losses[-1] < 0.3 * losses[0], losses
    first_eval = next(r for r in read_log(out) if "eval_accuracy" in r)
    assert first_eval["step"] < metrics(out)["train_steps"]  # evaluated at each epoch's end, not only at the end


def test_outputs_follow_the_contract(classifier):
    out = classifier
    for name in ("model.safetensors", "config.json", "tokenizer.json", "metrics.json", "run.yaml", "log.jsonl"):
        assert (out / name).is_file(), name
    written = metrics(out)
    for key in ("accuracy", "f1", "train_runtime_s", "train_samples_per_second", "eval_samples_per_second"):
        assert isinstance(written[key], float), key
    log = read_log(out)
    assert {"step", "epoch", "loss", "lr", "samples_per_second"} <= set(log[0])


def test_saved_model_loads_in_transformers_and_pipeline(classifier):
    from transformers import AutoModelForSequenceClassification, pipeline

    out = classifier
    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.config.label2id == {"negative": 0, "positive": 1}
    classify = pipeline("text-classification", model=str(out))
    predictions = classify(
        [
            "the acting was really wonderful",
            "it felt dull and the ending was awful",
            "overall a superb film",
            "the plot seemed quite boring",
        ]
    )
    assert [p["label"] for p in predictions] == ["positive", "negative", "positive", "negative"]


def test_run_yaml_repeats_the_run_and_reuses_the_tokenized_cache(classifier, tmp_path):
    out = classifier
    run_yaml = out / "run.yaml"
    assert "versions:" in run_yaml.read_text() and "transformers:" in run_yaml.read_text()
    before = cache_files()
    again = run_cli("finetune", "cls", "--config", run_yaml, "--output-dir", tmp_path / "again")
    assert again.code == 0, again.stderr
    assert cache_files() == before  # tokenization was read from the cache, not redone
    first, second = metrics(out), metrics(tmp_path / "again")
    assert second["accuracy"] == first["accuracy"]
    assert second["loss"] == pytest.approx(first["loss"], rel=1e-5)


def test_sentence_pairs_use_segment_b(tmp_path, tiny_model):
    rows = synthetic.sentiment_pairs(600, seed=3)
    train = synthetic.write_csv(tmp_path / "train.csv", rows[:500], ["first", "second", "label"])
    validation = synthetic.write_csv(tmp_path / "validation.csv", rows[500:], ["first", "second", "label"])
    out = tmp_path / "pairs"
    pairs = {"text_column": "first", "text_pair_column": "second", "max_seq_length": 48}
    result = run_cli(*finetune_cls_args(tiny_model, out, train, validation, **pairs, epochs=4))
    assert result.code == 0, result.stderr
    # Only segment B decides the label, so a model that never saw it would sit at chance.
    assert result.metrics(out)["accuracy"] >= 0.9


def test_float_labels_train_a_regression_head(tmp_path, tiny_model):
    rows = synthetic.score(700, seed=4)
    train = synthetic.write_csv(tmp_path / "train.csv", rows[:600], ["text", "score"])
    validation = synthetic.write_csv(tmp_path / "validation.csv", rows[600:], ["text", "score"])
    out = tmp_path / "regression"
    settings = {"text_column": None, "label_column": "score", "epochs": 5}
    result = run_cli(*finetune_cls_args(tiny_model, out, train, validation, **settings))
    assert result.code == 0, result.stderr
    scores = metrics(out)
    assert scores["pearson"] > 0.8 and scores["spearmanr"] > 0.8, scores
    spread = sum((v - sum(r[1] for r in rows[600:]) / 100) ** 2 for _, v in rows[600:]) / 100
    assert scores["mse"] < 0.5 * spread and 0 < scores["mae"] < 1.0, scores  # well below predicting the mean
    config = AutoConfig.from_pretrained(out)
    assert config.problem_type == "regression" and config.num_labels == 1


def test_multi_label_classification_learns_each_label(tmp_path, tiny_model):
    """Each sentence holds a positive word, a negative word, both or neither: its labels are that set."""
    rows = synthetic.multi_label(800, seed=5)
    train = synthetic.write_jsonl(tmp_path / "train.jsonl", rows[:600])
    validation = synthetic.write_jsonl(tmp_path / "validation.jsonl", rows[600:])
    out = tmp_path / "multi"
    # BCE on two sigmoids sits on the label priors for several epochs first (a higher rate is unstable)
    result = run_cli(*finetune_cls_args(tiny_model, out, train, validation, label_column="labels", epochs=10))
    assert result.code == 0, result.stderr
    scores = metrics(out)
    first = next(r for r in read_log(out) if "eval_f1_micro" in r)
    assert scores["f1_micro"] >= 0.9 and scores["f1_macro"] >= 0.9 and scores["accuracy"] >= 0.8, scores
    assert scores["accuracy"] > first["eval_accuracy"] or first["eval_accuracy"] >= 0.8  # it learned
    config = AutoConfig.from_pretrained(out)
    assert config.problem_type == "multi_label_classification" and set(config.label2id) == {"negative", "positive"}
    predicted = run_cli("predict", "--model", out, "a really wonderful film", "dull and boring", "good but awful")
    labels = [record["label"] for record in jsonl(predicted.stdout)]
    assert labels == [["positive"], ["negative"], ["negative", "positive"]], labels


def test_class_weights_balanced_are_resolved_into_run_yaml_and_change_training(tmp_path, tiny_model, sentiment_data):
    rows = synthetic.sentiment(400, seed=6)
    rows = [r for r in rows if r[1] == "positive"] + [r for r in rows if r[1] == "negative"][:50]  # 200 vs 50
    train = synthetic.write_csv(tmp_path / "train.csv", rows, ["sentence", "label"])

    def run(out, *extra):
        result = run_cli(*finetune_cls_args(tiny_model, out, train, sentiment_data["validation"], *extra, max_steps=6))
        assert result.code == 0, result.stderr
        return load_file(out / "model.safetensors")

    plain = run(tmp_path / "plain")
    weighted = run(tmp_path / "weighted", "--class-weights", "balanced")
    recorded = yaml.safe_load((tmp_path / "weighted" / "run.yaml").read_text())["options"]["class_weights"]
    assert [float(w) for w in recorded.split(",")] == [2.5, 0.625]  # 250 / (2 x 50), 250 / (2 x 200)
    assert any(not torch.equal(plain[k], weighted[k]) for k in plain)
    again = run(tmp_path / "listed", "--class-weights", recorded)  # the recorded numbers repeat the run
    assert all(torch.equal(again[k], weighted[k]) for k in weighted)


@pytest.fixture(scope="module")
def jsonl_sentiment(tmp_path_factory) -> dict[str, Path]:
    """The synthetic sentiment task with labels written three ways: names, booleans, and floats 0.0 / 1.0."""
    root = tmp_path_factory.mktemp("labels")
    paths = {}
    for split, n, seed in (("train", 400, 11), ("validation", 100, 12)):
        rows = synthetic.sentiment(n, seed=seed)
        for kind, convert in (
            ("bool", lambda label: label == "positive"),
            ("float", lambda label: float(label == "positive")),
        ):
            records = [{"text": text, "label": convert(label)} for text, label in rows]
            paths[f"{kind}-{split}"] = synthetic.write_jsonl(root / f"{kind}-{split}.jsonl", records)
    return paths


@pytest.mark.parametrize(
    "kind, extra, names",
    [
        ("bool", {}, ["false", "true"]),
        ("float", {"problem_type": "single_label_classification"}, ["0", "1"]),
    ],
)
def test_boolean_and_float_labels_train_a_classifier(kind, extra, names, jsonl_sentiment, tiny_model, tmp_path):
    out = tmp_path / "out"
    train, validation = jsonl_sentiment[f"{kind}-train"], jsonl_sentiment[f"{kind}-validation"]
    result = run_bertcli(*finetune_cls_args(tiny_model, out, train, validation, text_column=None, epochs=4, **extra))
    assert result.code == 0, result.stderr
    assert metrics(out)["accuracy"] >= 0.9
    config = AutoConfig.from_pretrained(out)
    assert config.problem_type == "single_label_classification" and list(config.label2id) == names
