"""Reliability: a run killed at any moment resumes to the same result; Ctrl-C stops with a checkpoint; a NaN loss
or a full disk stops without losing the last good checkpoint.

The kill tests run real `bertcli` processes and SIGKILL them: from outside at a moment of the test's choosing,
and from inside at two exact points of a checkpoint save (a patched hook kills its own process there).
"""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests import synthetic
from tests.helpers import (
    assert_same_weights,
    finetune_cls_args,
    finetune_sentiment_args,
    metrics,
    read_log,
    run_bertcli,
    run_python,
    start_bertcli,
)

# 600 examples / batch 32 = 19 batches an epoch: 24 steps cross an epoch boundary.
STEPS = {"max_steps": 24, "save_steps": 5, "save_total_limit": 2, "logging_steps": 1, "eval_steps": 10}


# Runs `bertcli ARGS` with a checkpoint hook that SIGKILLs its own process at POINT of the save of step STEP.
KILLER = textwrap.dedent("""
    import os, signal, sys
    from bertcli.training.checkpoints import Checkpointer

    point, step, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    save_model, rotate = Checkpointer._save_model_hook, Checkpointer._rotate

    def kill():
        os.kill(os.getpid(), signal.SIGKILL)

    def save_model_then_die(self, models, weights, output_dir):  # model written, optimizer/RNG not yet
        save_model(self, models, weights, output_dir)
        if point == "mid-save" and output_dir.endswith(f".step-{step}.tmp"):
            kill()

    def die_before_rotating(self, keep_step):  # new checkpoint renamed into place, old ones not yet deleted
        if point == "before-rotation" and (self.root / f"step-{step}").is_dir():
            kill()
        rotate(self, keep_step)

    Checkpointer._save_model_hook, Checkpointer._rotate = save_model_then_die, die_before_rotating
    sys.argv = ["bertcli", *args]
    from bertcli.cli import main
    main()
""")


def command(tiny_model, sentiment_data, out: Path, **overrides) -> list:
    return finetune_sentiment_args(tiny_model, out, sentiment_data, **{**STEPS, "warmup_ratio": 0.1, **overrides})


def losses(out: Path) -> list[tuple]:
    return [(r["step"], r.get("loss"), r.get("lr"), r.get("eval_accuracy")) for r in read_log(out)]


def assert_same_run(actual: Path, expected: Path) -> None:
    """Bit-identical weights, the same metrics and the same loss curve."""
    assert_same_weights(actual, expected)
    ma, me = metrics(actual), metrics(expected)
    for key in ("accuracy", "f1", "loss", "train_steps", "best_step"):
        assert ma[key] == me[key], key
    assert losses(actual) == losses(expected)


@pytest.fixture(scope="module")
def uninterrupted(tiny_model, sentiment_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "out"
    result = run_bertcli(*command(tiny_model, sentiment_data, out))
    assert result.code == 0, result.stderr
    return out


@pytest.mark.parametrize(
    "point, step, resumed_from",
    [
        ("mid-save", 15, "step-10"),  # a half-written .step-15.tmp is left behind: never picked
        ("before-rotation", 15, "step-15"),  # three checkpoints on disk for a moment
    ],
)
def test_sigkill_inside_a_checkpoint_save_then_resume_matches(
    tmp_path, tiny_model, sentiment_data, uninterrupted, point, step, resumed_from
):
    out = tmp_path / "out"
    args = command(tiny_model, sentiment_data, out)
    killed = run_python(["-c", KILLER, point, step, *args])
    assert killed.code == -signal.SIGKILL, killed.stderr
    assert not (out / "model.safetensors").exists()
    on_disk = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert on_disk == (
        [".step-15.tmp", "step-10", "step-5"] if point == "mid-save" else ["step-10", "step-15", "step-5"]
    )

    resumed = run_bertcli(*args, "--resume-from-checkpoint", "auto")
    assert resumed.code == 0, resumed.stderr
    assert f"Resumed from {out / 'checkpoints' / resumed_from} at step {resumed_from[5:]}" in resumed.stdout
    assert_same_run(out, uninterrupted)
    # the stale .tmp is gone and rotation ends where the uninterrupted run's did
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == sorted(
        p.name for p in (uninterrupted / "checkpoints").iterdir()
    )


def test_sigkill_from_outside_mid_training_then_resume_matches(tmp_path, tiny_model, sentiment_data, uninterrupted):
    out = tmp_path / "out"
    args = command(tiny_model, sentiment_data, out)
    process = start_bertcli(*args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    log = out / "log.jsonl"
    deadline = time.monotonic() + 240
    while not (log.is_file() and any(json.loads(line)["step"] >= 12 for line in log.read_text().splitlines())):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.01)
    process.kill()
    assert process.wait() == -signal.SIGKILL
    assert not (out / "model.safetensors").exists()

    resumed = run_bertcli(*args, "--resume-from-checkpoint", "auto")
    assert resumed.code == 0, resumed.stderr
    assert "Resumed from" in resumed.stdout
    assert_same_run(out, uninterrupted)


def test_ctrl_c_stops_with_a_checkpoint_and_the_run_continues(tmp_path, tiny_model, sentiment_data):
    out = tmp_path / "out"
    args = command(tiny_model, sentiment_data, out, max_steps=400, save_steps=1000)
    process = start_bertcli(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    log = out / "log.jsonl"
    deadline = time.monotonic() + 240
    while not (log.is_file() and log.read_text().count("\n") >= 3):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("bertcli: stopped at step ") and "--resume-from-checkpoint auto" in line
    step = int(line.split("stopped at step ")[1].split(":")[0])
    assert 3 <= step < 400
    checkpoint = out / "checkpoints" / f"step-{step}"
    assert json.loads((checkpoint / "trainer_state.json").read_text())["step"] == step
    assert not (out / "model.safetensors").exists()  # stopped: no final model claims to be finished

    resumed = run_bertcli(*args, "--resume-from-checkpoint", "auto", "--max-steps", str(step + 3))
    assert resumed.code == 0, resumed.stderr
    assert f"Resumed from {checkpoint} at step {step}" in resumed.stdout
    assert metrics(out)["train_steps"] == step + 3


def test_a_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, tiny_model):
    rows = synthetic.score(80, seed=4)
    rows[45] = (rows[45][0], float("inf"))  # one broken regression label
    train = synthetic.write_csv(tmp_path / "train.csv", rows, ["sentence", "score"])
    validation = synthetic.write_csv(tmp_path / "validation.csv", rows[:20], ["sentence", "score"])
    out = tmp_path / "out"
    settings = {"label_column": "score", "lr": None, "batch_size": 8, "logging_steps": 100}
    args = finetune_cls_args(tiny_model, out, train, validation, **settings, epochs=1, save_steps=1, save_total_limit=2)
    result = run_bertcli(*args)
    assert result.code == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "loss became NaN or infinite by step" in message
    step = int(message.split("by step ")[1].split(";")[0])
    assert not (out / "model.safetensors").exists()
    saved = sorted((out / "checkpoints").glob("step-*"), key=lambda p: int(p.name[5:]))
    assert step >= 3, "with seed 42 the broken row comes later than the first steps: checkpoints exist before it"
    assert [int(p.name[5:]) for p in saved] == [step - 2, step - 1]
    assert f"the last good checkpoint is {saved[-1]}" in message
    for checkpoint in saved:  # everything kept is finite
        assert all(torch.isfinite(t).all() for t in load_file(checkpoint / "model.safetensors").values())


# Runs `bertcli ARGS` and, when the checkpoint of step STEP starts saving, lowers the process's file-size limit to
# 1 MB: from then on the OS refuses the writes (EFBIG) as it would on a full disk, and no root is needed to see it.
FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from bertcli.training.checkpoints import Checkpointer

    step, args = int(sys.argv[1]), sys.argv[2:]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a refused write is an error, not a kill
    save = Checkpointer.save

    def save_on_a_full_disk(self, at, *rest, **kwargs):
        if at == step:
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        return save(self, at, *rest, **kwargs)

    Checkpointer.save = save_on_a_full_disk
    sys.argv = ["bertcli", *args]
    from bertcli.cli import main
    main()
""")


def test_a_full_disk_while_saving_keeps_the_previous_checkpoint(tmp_path, tiny_model, sentiment_data):
    from transformers import AutoModelForSequenceClassification

    out = tmp_path / "out"
    args = command(tiny_model, sentiment_data, out, save_total_limit=3)
    result = run_python(["-c", FULL_DISK, "10", *args])
    assert result.code == 2, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith("bertcli: error: cannot save checkpoint step-10: writing to ") and "MB free" in message
    assert "step-5 is intact" in message and "--resume-from-checkpoint auto" in message
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-5"]  # the partial save is gone
    model = AutoModelForSequenceClassification.from_pretrained(out / "checkpoints" / "step-5")
    assert model.config.num_labels == 2
    assert not (out / "model.safetensors").exists()

    resumed = run_bertcli(*args, "--resume-from-checkpoint", "auto")  # space again: the run goes on from step 5
    assert resumed.code == 0, resumed.stderr
    assert f"Resumed from {out / 'checkpoints' / 'step-5'} at step 5" in resumed.stdout


# Runs `bertcli ARGS` and SIGKILLs it inside the final save: POINT "final-written" once the model is written aside
# (OUT/.final.tmp), "before-metrics" as the files are renamed into OUT, just before metrics.json.
FINAL_KILLER = textwrap.dedent("""
    import os, signal, sys
    from bertcli.training.modules import TrainingModule

    point, args = sys.argv[1], sys.argv[2:]
    save, replace = TrainingModule.save, os.replace

    def save_then_die(self, root):
        save(self, root)
        if point == "final-written" and str(root).endswith(".final.tmp"):
            os.kill(os.getpid(), signal.SIGKILL)

    def replace_or_die(src, dst):
        if point == "before-metrics" and str(dst).endswith("metrics.json"):
            os.kill(os.getpid(), signal.SIGKILL)
        replace(src, dst)

    TrainingModule.save, os.replace = save_then_die, replace_or_die
    sys.argv = ["bertcli", *args]
    from bertcli.cli import main
    main()
""")


@pytest.mark.parametrize("point", ["final-written", "before-metrics"])
def test_a_kill_inside_the_final_save_leaves_no_finished_looking_run(
    tmp_path, tiny_model, sentiment_data, uninterrupted, point
):
    out = tmp_path / "out"
    args = command(tiny_model, sentiment_data, out)
    killed = run_python(["-c", FINAL_KILLER, point, *args])
    assert killed.code == -signal.SIGKILL, killed.stderr
    assert not (out / "metrics.json").exists()  # metrics.json, renamed last, says a run finished
    assert (out / "model.safetensors").exists() == (point == "before-metrics")
    resumed = run_bertcli(*args, "--resume-from-checkpoint", "auto")
    assert resumed.code == 0, resumed.stderr
    assert_same_run(out, uninterrupted)
    assert not list(out.glob(".*tmp"))
    assert {"model.safetensors", "config.json", "tokenizer.json", "metrics.json", "run.yaml", "log.jsonl"} <= {
        p.name for p in out.iterdir()
    }


# --- bad input, end to end: one line naming the file, the row and the fix; exit 2; nothing written --------------
