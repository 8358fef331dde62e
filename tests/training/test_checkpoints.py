"""Checkpoints: discovery and rotation, and each one a model directory transformers loads."""

import pytest

from bertcli.errors import BertcliError
from bertcli.training.checkpoints import Checkpointer, list_checkpoints
from tests.helpers import finetune_sentiment_args, run_cli


class _Accelerator:
    is_main_process = True

    def register_save_state_pre_hook(self, hook):
        pass

    def register_load_state_pre_hook(self, hook):
        pass


def make(root, *steps):
    for step in steps:
        (root / f"step-{step}").mkdir(parents=True)


def test_list_sorts_by_step_and_ignores_unfinished_saves(tmp_path):
    make(tmp_path, 10, 2, 100)
    (tmp_path / ".step-200.tmp").mkdir()
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-2", "step-10", "step-100"]


def test_rotation_keeps_the_newest_and_always_the_best(tmp_path):
    make(tmp_path, 2, 4, 6, 8)
    Checkpointer(_Accelerator(), tmp_path, None, save_total_limit=2)._rotate(keep_step=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-2", "step-6", "step-8"]


def test_resume_auto_takes_the_latest_and_a_path_must_be_a_checkpoint(tmp_path):
    checkpointer = Checkpointer(_Accelerator(), tmp_path, None, save_total_limit=None)
    assert checkpointer.resolve("auto") is None
    make(tmp_path, 5, 15)
    assert checkpointer.resolve("auto").name == "step-15"
    with pytest.raises(BertcliError, match="not a bertcli checkpoint"):
        checkpointer.resolve(str(tmp_path / "step-5"))  # no trainer_state.json


def test_checkpoint_is_a_loadable_model_dir(tmp_path, tiny_model, sentiment_data):
    from transformers import AutoModelForSequenceClassification

    out = tmp_path / "ckpt"
    result = run_cli(*finetune_sentiment_args(tiny_model, out, sentiment_data, max_steps=4, save_steps=2))
    assert result.code == 0, result.stderr
    step2 = out / "checkpoints" / "step-2"
    assert (step2 / "trainer_state.json").is_file() and (step2 / "optimizer.bin").is_file()
    model = AutoModelForSequenceClassification.from_pretrained(step2)
    assert model.config.num_labels == 2
    assert not list((out / "checkpoints").glob(".*tmp"))  # no half-written checkpoint left behind
