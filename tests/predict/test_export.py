"""int8 and ONNX: `bertcli export` writes an ONNX model whose outputs match torch's (and says so), `predict` runs
it, and `--quantize int8` stays within rounding of float32."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from tests.helpers import bertcli_command, jsonl, run_bertcli, run_python

pytest.importorskip("onnxruntime")


def texts(sentiment_data, n=60) -> list[str]:
    return [line.split(",")[0] for line in sentiment_data["validation"].read_text().splitlines()[1 : n + 1]]


def predictions(model, sentences, *extra) -> list[dict]:
    result = run_bertcli("predict", "--model", model, *sentences, *extra)
    assert result.code == 0, result.stderr
    return jsonl(result.stdout)


@pytest.fixture(scope="module")
def onnx_export(classifier, tmp_path_factory):
    """The classifier exported to ONNX (float32), once for the tests that read the export: (its directory, what
    `bertcli export` said)."""
    out = tmp_path_factory.mktemp("export") / "onnx"
    return out, run_bertcli("export", classifier, out)


@pytest.fixture(scope="module")
def torch_predictions(classifier, sentiment_data) -> list[dict]:
    """`predict` of the classifier itself (torch, float32) on 60 validation texts: what an export is held to."""
    return predictions(classifier, texts(sentiment_data))


def test_onnx_export_matches_torch_and_predict_runs_it(onnx_export, torch_predictions, sentiment_data):
    out, result = onnx_export
    assert result.code == 0, result.stderr
    line = result.stdout.strip()
    assert "largest output difference" in line and "argmax agrees 64 of 64" in line, line
    assert float(line.split("largest output difference ")[1].split(";")[0]) < 1e-4
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "model.onnx",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    exported, original = predictions(out, texts(sentiment_data)), torch_predictions
    assert [p["label"] for p in exported] == [p["label"] for p in original]
    assert max(abs(a["score"] - b["score"]) for a, b in zip(exported, original)) < 1e-4
    refused = run_bertcli("predict", "--model", out, "fine", "--quantize", "int8")
    assert refused.code == 2 and "bertcli export --int8" in refused.stderr


def test_predict_runs_an_exported_classifier_without_importing_torch(onnx_export):
    """torch's import is most of a short `predict`'s time; onnxruntime, tokenizers and numpy are enough for an
    exported classifier."""
    out, exported = onnx_export
    assert exported.code == 0
    result = run_python(["-X", "importtime", *bertcli_command("predict", "--model", out, "a wonderful film")[1:]])
    assert result.code == 0 and json.loads(result.stdout)["label"] in {"positive", "negative"}, result.stderr
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time")
    }
    assert "onnxruntime" in imported and "torch" not in imported and "transformers" not in imported


def test_a_classifier_without_label_names_predicts_transformers_default_labels(classifier, tmp_path):
    """transformers writes no id2label for default labels (LABEL_0, LABEL_1): predict names them so, from the
    classifier's width, on torch and on an export alike."""
    unnamed = tmp_path / "unnamed"
    shutil.copytree(classifier, unnamed, ignore=shutil.ignore_patterns("checkpoint-*"))
    config = json.loads((unnamed / "config.json").read_text())
    for key in ("id2label", "label2id"):
        config.pop(key)
    (unnamed / "config.json").write_text(json.dumps(config))
    assert run_bertcli("export", unnamed, tmp_path / "onnx").code == 0
    sentences = ["a wonderful film", "dull and lifeless", "fine"]
    exported, original = predictions(tmp_path / "onnx", sentences), predictions(unnamed, sentences)
    assert {p["label"] for p in original} <= {"LABEL_0", "LABEL_1"}
    assert [p["label"] for p in exported] == [p["label"] for p in original]
    assert all(abs(a["score"] - b["score"]) < 1e-4 for a, b in zip(exported, original))


def test_int8_export_and_int8_predict_stay_close_to_float32(classifier, sentiment_data, torch_predictions, tmp_path):
    sentences, original = texts(sentiment_data), torch_predictions
    int8 = predictions(classifier, sentences, "--quantize", "int8")
    assert sum(a["label"] == b["label"] for a, b in zip(int8, original)) >= 0.95 * len(sentences)
    assert max(abs(a["score"] - b["score"]) for a, b in zip(int8, original)) < 0.1
    assert any(a["score"] != b["score"] for a, b in zip(int8, original))  # it did quantize
    out = tmp_path / "int8"
    result = run_bertcli("export", classifier, out, "--int8")
    assert result.code == 0 and "int8 ONNX" in result.stdout, result.stderr
    exported = predictions(out, sentences)
    assert sum(a["label"] == b["label"] for a, b in zip(exported, original)) >= 0.95 * len(sentences)


def test_plain_int8_forward_against_transformers(classifier, sentiment_data):
    """The plain forward's int8 layers, against transformers' float32 model on the same inputs."""
    from bertcli.predict import plain_bert

    model = plain_bert.load(str(classifier), "classification", torch.device("cpu"), torch.float32, int8=True)
    reference = AutoModelForSequenceClassification.from_pretrained(classifier).eval()
    batch = AutoTokenizer.from_pretrained(classifier)(texts(sentiment_data, 16), padding=True, return_tensors="pt")
    with torch.no_grad():
        want, got = reference(**batch).logits, model(**batch).logits
    assert model.int8 and (want - got).abs().max() < 0.2 * want.abs().max()
    assert (want.argmax(-1) == got.argmax(-1)).float().mean() >= 0.9


def test_export_refuses_a_full_directory_and_bad_values(classifier, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    result = run_bertcli("export", classifier, tmp_path / "full")
    assert result.code == 2 and "--overwrite-output-dir" in result.stderr
    assert run_bertcli("export", classifier, tmp_path / "o", "--samples", "2").code == 2
