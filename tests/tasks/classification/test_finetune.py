"""End to end: `bertcli finetune cls` on a tiny BERT made by init-model, through the real CLI."""

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests import synthetic
from tests.conftest import TINY_TRAINING, run_cli


def finetune(model, out, data, *extra):
    return run_cli(
        "finetune",
        "cls",
        "--model",
        model,
        "--output-dir",
        out,
        "--train-file",
        data["train"],
        "--validation-file",
        data["validation"],
        "--text-column",
        "sentence",
        *TINY_TRAINING,
        *extra,
    )


def read_log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def cache_files() -> set[str]:
    root = Path(os.environ["HF_DATASETS_CACHE"])
    return {str(p) for p in root.rglob("cache-*.arrow")}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model, sentiment_data):
    out = tmp_path_factory.mktemp("cls") / "sentiment"
    result = finetune(tiny_model, out, sentiment_data, "--epochs", "5")
    assert result.code == 0, result.stderr
    return out, result


def test_learns_a_learnable_task(trained):
    out, result = trained
    metrics = result.metrics(out)
    assert metrics["accuracy"] >= 0.95
    losses = [r["loss"] for r in read_log(out) if "loss" in r]
    assert losses[-1] < 0.3 * losses[0], losses
    first_eval = next(r for r in read_log(out) if "eval_accuracy" in r)
    assert first_eval["step"] < metrics["train_steps"]  # evaluated at each epoch's end, not only at the end


def test_outputs_follow_the_contract(trained):
    out, _ = trained
    for name in ("model.safetensors", "config.json", "tokenizer.json", "metrics.json", "run.yaml", "log.jsonl"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("accuracy", "f1", "train_runtime_s", "train_samples_per_second", "eval_samples_per_second"):
        assert isinstance(metrics[key], float), key
    log = read_log(out)
    assert {"step", "epoch", "loss", "lr", "samples_per_second"} <= set(log[0])


def test_saved_model_loads_in_transformers_and_pipeline(trained):
    from transformers import AutoModelForSequenceClassification, pipeline

    out, _ = trained
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


def test_run_yaml_repeats_the_run_and_reuses_the_tokenized_cache(trained, tmp_path):
    out, result = trained
    run_yaml = out / "run.yaml"
    assert "versions:" in run_yaml.read_text() and "transformers:" in run_yaml.read_text()
    before = cache_files()
    again = run_cli("finetune", "cls", "--config", run_yaml, "--output-dir", tmp_path / "again")
    assert again.code == 0, again.stderr
    assert cache_files() == before  # tokenization was read from the cache, not redone
    first, second = result.metrics(out), again.metrics(tmp_path / "again")
    assert second["accuracy"] == first["accuracy"]
    assert second["loss"] == pytest.approx(first["loss"], rel=1e-5)


def test_output_dir_is_never_overwritten_without_the_flag(trained, tiny_model, sentiment_data):
    out, _ = trained
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    result = finetune(tiny_model, out, sentiment_data, "--max-steps", "2")
    assert result.code == 2
    assert "--overwrite-output-dir" in result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_resume_ends_with_the_same_weights_as_an_uninterrupted_run(tmp_path, tiny_model, sentiment_data):
    # 600 examples / batch 32 = 19 batches an epoch; with --grad-accum 2, 10 steps an epoch: the run
    # crosses an epoch boundary and the checkpoint at step 6 sits in the middle of an epoch.
    args = [
        "--max-steps",
        "14",
        "--save-steps",
        "6",
        "--save-total-limit",
        "5",
        "--eval-steps",
        "4",
        "--grad-accum",
        "2",
        "--warmup-ratio",
        "0.2",
    ]
    whole = finetune(tiny_model, tmp_path / "whole", sentiment_data, *args)
    assert whole.code == 0, whole.stderr

    # The same run, "stopped" after its step-6 checkpoint: drop everything written after it ...
    broken = tmp_path / "broken"
    first = finetune(tiny_model, broken, sentiment_data, *args)
    assert first.code == 0, first.stderr
    checkpoints = sorted(p.name for p in (broken / "checkpoints").iterdir())
    assert checkpoints == ["step-12", "step-6"]
    shutil.rmtree(broken / "checkpoints" / "step-12")
    (broken / "model.safetensors").unlink()
    # ... and resume from the latest checkpoint.
    resumed = finetune(tiny_model, broken, sentiment_data, *args, "--resume-from-checkpoint", "auto")
    assert resumed.code == 0, resumed.stderr
    assert "Resumed from" in resumed.stdout and "step-6" in resumed.stdout

    expected, actual = load_file(tmp_path / "whole" / "model.safetensors"), load_file(broken / "model.safetensors")
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=0, atol=1e-6, msg=name)
    assert [r["step"] for r in read_log(broken)] == [r["step"] for r in read_log(tmp_path / "whole")]


def test_checkpoint_is_a_loadable_model_dir(tmp_path, tiny_model, sentiment_data):
    from transformers import AutoModelForSequenceClassification

    out = tmp_path / "ckpt"
    result = finetune(tiny_model, out, sentiment_data, "--max-steps", "4", "--save-steps", "2")
    assert result.code == 0, result.stderr
    step2 = out / "checkpoints" / "step-2"
    assert (step2 / "trainer_state.json").is_file() and (step2 / "optimizer.bin").is_file()
    model = AutoModelForSequenceClassification.from_pretrained(step2)
    assert model.config.num_labels == 2
    assert not list((out / "checkpoints").glob(".*tmp"))  # no half-written checkpoint left behind


def test_sentence_pairs_use_segment_b(tmp_path, tiny_model):
    rows = synthetic.sentiment_pairs(600, seed=3)
    train = synthetic.write_csv(tmp_path / "train.csv", rows[:500], ["first", "second", "label"])
    validation = synthetic.write_csv(tmp_path / "validation.csv", rows[500:], ["first", "second", "label"])
    out = tmp_path / "pairs"
    result = run_cli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        "--train-file",
        train,
        "--validation-file",
        validation,
        "--text-column",
        "first",
        "--text-pair-column",
        "second",
        "--epochs",
        "4",
        *TINY_TRAINING,
        "--max-seq-length",
        "48",
    )
    assert result.code == 0, result.stderr
    # Only segment B decides the label, so a model that never saw it would sit at chance.
    assert result.metrics(out)["accuracy"] >= 0.9


def test_float_labels_train_a_regression_head(tmp_path, tiny_model):
    from transformers import AutoConfig

    rows = synthetic.score(700, seed=4)
    train = synthetic.write_csv(tmp_path / "train.csv", rows[:600], ["text", "score"])
    validation = synthetic.write_csv(tmp_path / "validation.csv", rows[600:], ["text", "score"])
    out = tmp_path / "regression"
    result = run_cli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        "--train-file",
        train,
        "--validation-file",
        validation,
        "--label-column",
        "score",
        "--epochs",
        "5",
        *TINY_TRAINING,
    )
    assert result.code == 0, result.stderr
    metrics = result.metrics(out)
    assert metrics["pearson"] > 0.8 and metrics["spearmanr"] > 0.8, metrics
    spread = sum((v - sum(r[1] for r in rows[600:]) / 100) ** 2 for _, v in rows[600:]) / 100
    assert metrics["mse"] < 0.5 * spread and 0 < metrics["mae"] < 1.0, metrics  # well below predicting the mean
    config = AutoConfig.from_pretrained(out)
    assert config.problem_type == "regression" and config.num_labels == 1


def test_multi_label_classification_learns_each_label(tmp_path, tiny_model):
    """Each sentence holds a positive word, a negative word, both or neither: its labels are that set."""
    from transformers import AutoConfig

    rows = synthetic.multi_label(800, seed=5)
    train = synthetic.write_jsonl(tmp_path / "train.jsonl", rows[:600])
    validation = synthetic.write_jsonl(tmp_path / "validation.jsonl", rows[600:])
    out = tmp_path / "multi"
    args = ["--model", tiny_model, "--output-dir", out, "--train-file", train, "--validation-file", validation]
    result = run_cli(
        "finetune",
        "cls",
        *args,
        "--text-column",
        "sentence",
        "--label-column",
        "labels",
        "--epochs",
        "10",  # BCE on two sigmoids sits on the label priors for several epochs first (a higher rate is unstable)
        *TINY_TRAINING,
    )
    assert result.code == 0, result.stderr
    metrics = result.metrics(out)
    first = next(r for r in read_log(out) if "eval_f1_micro" in r)
    assert metrics["f1_micro"] >= 0.9 and metrics["f1_macro"] >= 0.9 and metrics["accuracy"] >= 0.8, metrics
    assert metrics["accuracy"] > first["eval_accuracy"] or first["eval_accuracy"] >= 0.8  # it learned
    config = AutoConfig.from_pretrained(out)
    assert config.problem_type == "multi_label_classification" and set(config.label2id) == {"negative", "positive"}
    predicted = run_cli("predict", "--model", out, "a really wonderful film", "dull and boring", "good but awful")
    labels = [json.loads(line)["label"] for line in predicted.stdout.splitlines()]
    assert labels == [["positive"], ["negative"], ["negative", "positive"]], labels


def test_class_weights_balanced_are_resolved_into_run_yaml_and_change_training(tmp_path, tiny_model, sentiment_data):
    import yaml

    rows = synthetic.sentiment(400, seed=6)
    rows = [r for r in rows if r[1] == "positive"] + [r for r in rows if r[1] == "negative"][:50]  # 200 vs 50
    train = synthetic.write_csv(tmp_path / "train.csv", rows, ["sentence", "label"])

    def run(out, *extra):
        result = finetune(tiny_model, out, {**sentiment_data, "train": train}, "--max-steps", "6", *extra)
        assert result.code == 0, result.stderr
        return load_file(out / "model.safetensors")

    plain = run(tmp_path / "plain")
    weighted = run(tmp_path / "weighted", "--class-weights", "balanced")
    recorded = yaml.safe_load((tmp_path / "weighted" / "run.yaml").read_text())["options"]["class_weights"]
    assert [float(w) for w in recorded.split(",")] == [2.5, 0.625]  # 250 / (2 x 50), 250 / (2 x 200)
    assert any(not torch.equal(plain[k], weighted[k]) for k in plain)
    again = run(tmp_path / "listed", "--class-weights", recorded)  # the recorded numbers repeat the run
    assert all(torch.equal(again[k], weighted[k]) for k in weighted)
