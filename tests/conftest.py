"""Shared fixtures: an isolated Hugging Face cache, synthetic data the tests write, a tiny BERT made by
`bertcli init-model`, and a way to run the CLI in-process and see its exit status and output."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import synthetic


@pytest.fixture(scope="session", autouse=True)
def isolated_hf_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    os.environ.update(
        HF_HOME=str(root),
        HF_DATASETS_CACHE=str(root / "datasets"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    yield root


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """Accelerate keeps process-wide singletons; each in-process CLI run starts from a clean slate."""
    yield
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(True)
    GradientState._reset_state()


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def metrics(self, out_dir) -> dict:
        return json.loads((Path(out_dir) / "metrics.json").read_text())


def run_cli(*args) -> Result:
    """Run `bertcli ARGS` in this process through the real entry point (error handling included)."""
    from bertcli.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["bertcli", *map(str, args)]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = argv
    return Result(code, out.getvalue(), err.getvalue())


def run_bertcli(*args, timeout: int = 300, cwd=None) -> Result:
    """Run `bertcli ARGS` as its own process: where stderr lines and the exit status are the behaviour (in-process,
    pytest would swallow warnings that a user sees)."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "bertcli", *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )
    return Result(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """Bad input's contract: exit status 2 and one `bertcli: error: ...` line on stderr (so no traceback) that
    holds each fragment. Returns that line."""
    assert result.code == 2, (result.code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bertcli: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="session")
def sentiment_data(tmp_path_factory) -> dict[str, Path]:
    """A learnable sentiment task: the label is whether the sentence holds a positive or a negative word."""
    root = tmp_path_factory.mktemp("sentiment")
    train = synthetic.sentiment(600, seed=1)
    validation = synthetic.sentiment(200, seed=2)
    paths = {
        "train": synthetic.write_csv(root / "train.csv", train, ["sentence", "label"]),
        "validation": synthetic.write_csv(root / "validation.csv", validation, ["sentence", "label"]),
        "corpus": root / "corpus.txt",
    }
    paths["corpus"].write_text("".join(text + "\n" for text, _ in train + validation))
    return paths


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, sentiment_data) -> Path:
    """A random tiny BERT (2 layers, hidden 128) with a WordPiece vocabulary of the synthetic corpus."""
    out = tmp_path_factory.mktemp("models") / "tiny"
    result = run_cli("init-model", out, "--size", "tiny", "--corpus", sentiment_data["corpus"], "--vocab-size", 500)
    assert result.code == 0, result.stderr
    return out


# Fast settings for the tiny model on the synthetic tasks.
TINY_TRAINING = ["--lr", "1e-3", "--batch-size", "32", "--logging-steps", "5", "--max-seq-length", "32"]


def finetune_tiny_classifier(model, data: dict[str, Path], out, *extra) -> Result:
    """`bertcli finetune cls` (in process) of `model` on the synthetic sentiment task, with the fast settings."""
    common = ["--train-file", data["train"], "--validation-file", data["validation"], "--text-column", "sentence"]
    return run_cli("finetune", "cls", "--model", model, "--output-dir", out, *common, *TINY_TRAINING, *extra)
