"""What a new user ran into (issue 14), each through the real `bertcli` command in a subprocess: the exit status,
the stderr lines and the files written are the behaviour."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests import synthetic

TINY = ["--lr", "1e-3", "--batch-size", "32", "--logging-steps", "5", "--max-seq-length", "32"]


def bertcli(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bertcli", *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def one_line_error(result, *fragments) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bertcli: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


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
        ("bool", [], ["false", "true"]),
        ("float", ["--problem-type", "single_label_classification"], ["0", "1"]),
    ],
)
def test_boolean_and_float_labels_train_a_classifier(kind, extra, names, jsonl_sentiment, tiny_model, tmp_path):
    from transformers import AutoConfig

    out = tmp_path / "out"
    result = bertcli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        "--epochs",
        "4",
        *TINY,
        *extra,
        "--train-file",
        jsonl_sentiment[f"{kind}-train"],
        "--validation-file",
        jsonl_sentiment[f"{kind}-validation"],
    )
    assert result.returncode == 0, result.stderr
    assert metrics(out)["accuracy"] >= 0.9
    config = AutoConfig.from_pretrained(out)
    assert config.problem_type == "single_label_classification" and list(config.label2id) == names
