"""Validation: bad values refused with the flag to fix, a model and an output directory required, and an output
directory in use refused unless overwriting or resuming."""

import pytest

from bertcli.errors import BertcliError
from tests.helpers import resolve_cls


@pytest.mark.parametrize(
    "flags, message",
    [
        ({"train": {"lr": -1.0}}, "--lr must be positive"),
        ({"train": {"batch_size": 0}}, "--batch-size must be at least 1"),
        ({"train": {"grad_accum": 0}}, "--grad-accum must be at least 1"),
        ({"train": {"warmup_ratio": 1.5}}, "--warmup-ratio must be in [0, 1)"),
        ({"train": {"mixed_precision": "fp8"}}, "must be one of no, fp16, bf16"),
        ({"train": {"epochs": "many"}}, "train.epochs must be float"),
    ],
)
def test_invalid_values_are_rejected(tmp_path, flags, message):
    with pytest.raises(BertcliError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        resolve_cls(tmp_path, recipe="sst2", **flags)


def test_model_and_output_dir_are_required(tmp_path, sentiment_data):
    data = {"train_file": str(sentiment_data["train"])}
    with pytest.raises(BertcliError, match="no model given: pass --model"):
        resolve_cls(tmp_path, model=None, data=data)
    with pytest.raises(BertcliError, match="no output directory given: pass --output-dir"):
        resolve_cls(tmp_path, output_dir=None, data=data)


def test_non_empty_output_dir_needs_overwrite_or_resume(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.yaml").write_text("task: cls\n")
    with pytest.raises(BertcliError, match="--overwrite-output-dir"):
        resolve_cls(tmp_path, recipe="sst2")
    assert resolve_cls(tmp_path, recipe="sst2", train={"overwrite_output_dir": True}).train.overwrite_output_dir
    assert (
        resolve_cls(tmp_path, recipe="sst2", train={"resume_from_checkpoint": "auto"}).train.resume_from_checkpoint
        == "auto"
    )
