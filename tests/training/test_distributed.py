"""Two processes (torchrun, gloo on the CPU): data is sharded, evaluation counts each example once, and the run
reaches what one process reaches with the same global batch (batch 16 x 2 processes = batch 16 x 2 accumulated)."""

import os
import shutil
import subprocess
import sys

import pytest

from tests import synthetic
from tests.helpers import finetune_cls_args, metrics, run_cli


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None, reason="no torchrun")
def test_two_processes_share_the_work_and_match_one_process(tmp_path, tiny_model):
    rows = synthetic.sentiment(500, seed=5)
    train = synthetic.write_csv(tmp_path / "train.csv", rows[:299], ["sentence", "label"])
    validation = synthetic.write_csv(tmp_path / "validation.csv", rows[299:], ["sentence", "label"])  # 201: odd
    out = tmp_path / "out"
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    settings = {"epochs": 6, "batch_size": 16, "eval_batch_size": 16, "save_steps": 5, "logging_steps": None}

    def args(out):
        return [str(arg) for arg in finetune_cls_args(tiny_model, out, train, validation, **settings)]

    result = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "-m", "bertcli", *args(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    together = metrics(out)
    # 299 examples / 16 = 19 batches -> 10 a process an epoch -> 60 steps for 6 epochs (one process alone: 114)
    assert together["train_steps"] == 60
    assert together["eval_samples"] == 201
    assert result.stdout.count("Saved the model") == 1  # only the main process reports
    assert sorted(p.name for p in (out / "checkpoints" / "step-55").glob("random_states_*")) == [
        "random_states_0.pkl",
        "random_states_1.pkl",
    ]

    single = run_cli(*args(tmp_path / "single"), "--grad-accum", "2")
    assert single.code == 0, single.stderr
    alone = metrics(tmp_path / "single")
    assert alone["train_steps"] == together["train_steps"] == 60
    assert together["accuracy"] > 0.9  # it learned
    # Same batches per step, same schedule; only dropout draws differ between the two set-ups.
    assert abs(together["accuracy"] - alone["accuracy"]) <= 0.03
    assert abs(together["loss"] - alone["loss"]) <= 0.1 * alone["loss"] + 0.02
