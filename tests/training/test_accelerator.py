"""The Accelerator's set-up: experiment trackers (--report-to) that are not installed are one-line errors, mixed
precision that the machine cannot run is refused, and `accelerate launch` on a machine without GPUs is pointed to
torchrun."""

import pytest
import torch

from tests.helpers import assert_one_line_error, finetune_sentiment_args, run_bertcli


@pytest.mark.parametrize(
    "report_to, fragments",
    [
        ("tensorboard", ["--report-to tensorboard: tensorboard is not installed; pip install tensorboard"]),
        ("all", ["--report-to all: no experiment tracker is installed", "--report-to none"]),
        ("tensorboard,comet_ml", ["tensorboard is not installed"]),
        ("comet_ml", ["pip install comet-ml"]),
        ("tensorbored", ["unknown tracker", "tensorboard, wandb"]),
    ],
)
def test_report_to_trackers_that_are_not_installed(report_to, fragments, tiny_model, sentiment_data, tmp_path):
    from accelerate.tracking import get_available_trackers

    if get_available_trackers():
        pytest.skip("an experiment tracker is installed here")
    out = tmp_path / "out"
    result = run_bertcli(
        *finetune_sentiment_args(tiny_model, out, sentiment_data, tiny=False, max_steps=1, report_to=report_to)
    )
    assert_one_line_error(result, *fragments)  # one line: no warning of Accelerate's before it
    assert not (tmp_path / "out").exists()


def test_report_to_takes_a_comma_separated_list_and_all(monkeypatch):
    import accelerate.tracking
    from accelerate.utils import LoggerType

    from bertcli.training.accelerator import trackers

    monkeypatch.setattr(
        accelerate.tracking, "get_available_trackers", lambda: [LoggerType.TENSORBOARD, LoggerType.WANDB]
    )
    assert trackers("tensorboard, wandb") == ["tensorboard", "wandb"]
    assert trackers("all") == ["tensorboard", "wandb"] and trackers("none") is None


def test_accelerate_launch_on_a_cpu_only_machine_is_pointed_to_torchrun(monkeypatch, capsys):
    from bertcli.training.accelerator import warn_single_cpu_process

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setenv("ACCELERATE_USE_CPU", "False")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")  # what `accelerate launch --num_processes 2` leaves
    warn_single_cpu_process()
    assert "torchrun --nproc_per_node" in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "2")  # really two processes: nothing to say
    warn_single_cpu_process()
    assert capsys.readouterr().err == ""


def test_fp16_needs_a_gpu(tiny_model, sentiment_data, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    args = finetune_sentiment_args(tiny_model, tmp_path / "out", sentiment_data, tiny=False, mixed_precision="fp16")
    assert_one_line_error(run_bertcli(*args), "fp16")
