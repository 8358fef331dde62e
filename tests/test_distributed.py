"""Two processes (torchrun, gloo on the CPU): data is sharded, evaluation counts each example once."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests import synthetic


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None, reason="no torchrun")
def test_two_processes_share_the_work_and_evaluate_every_example_once(tmp_path, tiny_model):
    rows = synthetic.sentiment(500, seed=5)
    train = synthetic.write_csv(tmp_path / "train.csv", rows[:299], ["sentence", "label"])
    validation = synthetic.write_csv(tmp_path / "validation.csv", rows[299:], ["sentence", "label"])  # 201: odd
    out = tmp_path / "out"
    torchrun = os.path.join(os.path.dirname(sys.executable), "torchrun")
    result = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "-m", "bertcli", "finetune", "cls", "--model", str(tiny_model),
         "--output-dir", str(out), "--train-file", str(train), "--validation-file", str(validation),
         "--text-column", "sentence", "--epochs", "2", "--batch-size", "16", "--eval-batch-size", "16",
         "--save-steps", "5"],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    # 299 examples / 16 = 19 batches -> 10 a process an epoch -> 20 steps for 2 epochs (one process alone: 38)
    assert metrics["train_steps"] == 20
    assert metrics["eval_samples"] == 201
    assert result.stdout.count("Saved the model") == 1  # only the main process reports
    assert sorted(p.name for p in (out / "checkpoints" / "step-15").glob("random_states_*")) == [
        "random_states_0.pkl", "random_states_1.pkl"]
