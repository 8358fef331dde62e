"""Two processes (torchrun, gloo on the CPU): data is sharded, evaluation counts each example once, and the run
reaches what one process reaches with the same global batch (batch 16 x 2 processes = batch 16 x 2 accumulated)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests import synthetic
from tests.conftest import run_cli


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None, reason="no torchrun")
def test_two_processes_share_the_work_and_match_one_process(tmp_path, tiny_model):
    rows = synthetic.sentiment(500, seed=5)
    train = synthetic.write_csv(tmp_path / "train.csv", rows[:299], ["sentence", "label"])
    validation = synthetic.write_csv(tmp_path / "validation.csv", rows[299:], ["sentence", "label"])  # 201: odd
    out = tmp_path / "out"
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    args = [
        "finetune",
        "cls",
        "--model",
        str(tiny_model),
        "--train-file",
        str(train),
        "--validation-file",
        str(validation),
        "--text-column",
        "sentence",
        "--epochs",
        "6",
        "--batch-size",
        "16",
        "--eval-batch-size",
        "16",
        "--save-steps",
        "5",
        "--lr",
        "1e-3",
        "--max-seq-length",
        "32",
    ]
    result = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "-m", "bertcli", *args, "--output-dir", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    # 299 examples / 16 = 19 batches -> 10 a process an epoch -> 60 steps for 6 epochs (one process alone: 114)
    assert metrics["train_steps"] == 60
    assert metrics["eval_samples"] == 201
    assert result.stdout.count("Saved the model") == 1  # only the main process reports
    assert sorted(p.name for p in (out / "checkpoints" / "step-55").glob("random_states_*")) == [
        "random_states_0.pkl",
        "random_states_1.pkl",
    ]

    single = run_cli(*args, "--output-dir", tmp_path / "single", "--grad-accum", "2")
    assert single.code == 0, single.stderr
    alone = single.metrics(tmp_path / "single")
    assert alone["train_steps"] == metrics["train_steps"] == 60
    assert metrics["accuracy"] > 0.9  # it learned
    # Same batches per step, same schedule; only dropout draws differ between the two set-ups.
    assert abs(metrics["accuracy"] - alone["accuracy"]) <= 0.03
    assert abs(metrics["loss"] - alone["loss"]) <= 0.1 * alone["loss"] + 0.02
