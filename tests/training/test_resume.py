"""Resuming from a checkpoint: the run ends with the weights it would have had uninterrupted, and resuming with
other training settings is refused (how a run logs and saves may change). The runs killed at awkward moments are
in test_reliability.py."""

import shutil

import torch
import yaml
from safetensors.torch import load_file

from tests.helpers import assert_one_line_error, finetune_sentiment_args, read_log, run_bertcli, run_cli


def test_resuming_with_other_training_settings_is_refused(tiny_model, sentiment_data, tmp_path):
    out = tmp_path / "out"
    args = finetune_sentiment_args(tiny_model, out, sentiment_data, max_steps=10, save_steps=5, save_total_limit=5)
    assert run_cli(*args).code == 0  # the run to resume: in this process (the resumed runs are real processes)
    written = (out / "run.yaml").read_text()
    changed = run_bertcli(
        *args, "--resume-from-checkpoint", out / "checkpoints" / "step-5", "--lr", "2e-3", "--batch-size", "16"
    )
    assert_one_line_error(
        changed,
        "cannot resume",
        "train.batch_size 32 -> 16",
        "train.lr 0.001 -> 0.002",
        f"--config {out / 'checkpoints' / 'step-5' / 'run.yaml'}",
    )
    assert (out / "run.yaml").read_text() == written  # not rewritten with the refused values
    # how a run logs and saves may change
    again = run_bertcli(*args, "--resume-from-checkpoint", "auto", "--logging-steps", "2")
    assert again.code == 0, again.stderr
    assert yaml.safe_load((out / "run.yaml").read_text())["train"]["lr"] == 1e-3


def test_resume_ends_with_the_same_weights_as_an_uninterrupted_run(tmp_path, tiny_model, sentiment_data):
    # 600 examples / batch 32 = 19 batches an epoch; with --grad-accum 2, 10 steps an epoch: the run
    # crosses an epoch boundary and the checkpoint at step 6 sits in the middle of an epoch.
    steps = {"max_steps": 14, "save_steps": 6, "save_total_limit": 5, "eval_steps": 4}
    settings = {**steps, "grad_accum": 2, "warmup_ratio": 0.2}

    def finetune(out, *extra):
        return run_cli(*finetune_sentiment_args(tiny_model, out, sentiment_data, *extra, **settings))

    whole = finetune(tmp_path / "whole")
    assert whole.code == 0, whole.stderr

    # The same run, "stopped" after its step-6 checkpoint: a copy with everything written after it dropped ...
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "whole", broken)
    checkpoints = sorted(p.name for p in (broken / "checkpoints").iterdir())
    assert checkpoints == ["step-12", "step-6"]
    shutil.rmtree(broken / "checkpoints" / "step-12")
    (broken / "model.safetensors").unlink()
    # ... and resume from the latest checkpoint.
    resumed = finetune(broken, "--resume-from-checkpoint", "auto")
    assert resumed.code == 0, resumed.stderr
    assert "Resumed from" in resumed.stdout and "step-6" in resumed.stdout

    expected, actual = load_file(tmp_path / "whole" / "model.safetensors"), load_file(broken / "model.safetensors")
    assert expected.keys() == actual.keys()
    for name in expected:
        torch.testing.assert_close(actual[name], expected[name], rtol=0, atol=1e-6, msg=name)
    assert [r["step"] for r in read_log(broken)] == [r["step"] for r in read_log(tmp_path / "whole")]
