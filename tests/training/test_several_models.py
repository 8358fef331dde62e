"""The trainer's loss seam and several models: a frozen teacher beside the trained model, and two trained models
that share parameters. Both resume bit for bit from a checkpoint; the frozen model is never trained or saved; the
shared parameter stays one parameter after a checkpoint round trip; every trained model is saved."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from bertcli.tasks import registry
from bertcli.tasks.base import Models
from bertcli.tasks.classification.task import ClassificationTask
from tests.helpers import SHORT_RUN, assert_same_weights, fit, spec_for


class FrozenTeacherTask(ClassificationTask):
    """The classifier's own loss plus the squared distance of its logits to a frozen teacher's."""

    def build_models(self, data):
        student = super().build_models(data).trained["model"]
        teacher = super().build_models(data).trained["model"]  # another random head: a different function
        return Models(trained={"model": student}, frozen={"teacher": teacher})

    def loss(self, models, batch):
        outputs = self.forward(models, batch)
        with torch.no_grad():
            target = models["teacher"](**batch).logits
        return outputs.loss + torch.nn.functional.mse_loss(outputs.logits, target)


class SharedTwinTask(ClassificationTask):
    """Two classifiers trained together that share their word embeddings (as ELECTRA's generator and
    discriminator do); the loss is the sum of theirs."""

    def build_models(self, data):
        model = super().build_models(data).trained["model"]
        twin = super().build_models(data).trained["model"]
        twin.bert.embeddings.word_embeddings = model.bert.embeddings.word_embeddings
        return Models(trained={"model": model, "twin": twin})

    def loss(self, models, batch):
        return models["model"](**batch).loss + models["twin"](**batch).loss


def short_run(spec, out, tiny_model, data, **train):
    return fit(spec, tiny_model, out, data, **{**SHORT_RUN, **train})


def test_a_frozen_teacher_shapes_the_loss_stays_frozen_and_resumes_bit_for_bit(tmp_path, tiny_model, sentiment_data):
    spec = spec_for(FrozenTeacherTask)
    whole = short_run(spec, tmp_path / "whole", tiny_model, sentiment_data)
    teacher = whole.module.frozen["teacher"]
    assert not teacher.training and not any(p.requires_grad for p in teacher.parameters())
    in_optimizer = {id(p) for group in whole.optimizer.param_groups for p in group["params"]}
    assert not in_optimizer & {id(p) for p in teacher.parameters()}
    assert sorted(p.name for p in (tmp_path / "whole").iterdir() if p.is_dir()) == ["checkpoints"]  # not saved
    # the teacher changes the loss: the same run without it ends elsewhere
    plain = short_run(registry.get("cls"), tmp_path / "plain", tiny_model, sentiment_data)
    assert plain.state.step == 12
    with pytest.raises(AssertionError):
        assert_same_weights(tmp_path / "plain", tmp_path / "whole")

    short_run(
        spec,
        tmp_path / "resumed",
        tiny_model,
        sentiment_data,
        resume_from_checkpoint=str(tmp_path / "whole" / "checkpoints" / "step-4"),
    )
    assert_same_weights(tmp_path / "resumed", tmp_path / "whole")


def test_two_trained_models_share_a_parameter_through_a_checkpoint(tmp_path, tiny_model, sentiment_data):
    from transformers import AutoModelForSequenceClassification

    spec = spec_for(SharedTwinTask)
    whole = short_run(spec, tmp_path / "whole", tiny_model, sentiment_data)
    model, twin = whole.module.trained["model"], whole.module.trained["twin"]
    shared = model.bert.embeddings.word_embeddings.weight
    assert twin.bert.embeddings.word_embeddings.weight is shared
    in_optimizer = [p for group in whole.optimizer.param_groups for p in group["params"]]
    assert sum(p is shared for p in in_optimizer) == 1  # optimised once

    out = tmp_path / "whole"
    for directory in (out, out / "twin", out / "checkpoints" / "step-8", out / "checkpoints" / "step-8" / "twin"):
        assert (directory / "model.safetensors").is_file(), directory
    saved_model = AutoModelForSequenceClassification.from_pretrained(out)
    saved_twin = AutoModelForSequenceClassification.from_pretrained(out / "twin")
    embeddings = saved_model.bert.embeddings.word_embeddings.weight
    assert torch.equal(embeddings, saved_twin.bert.embeddings.word_embeddings.weight)
    assert not torch.equal(saved_model.classifier.weight, saved_twin.classifier.weight)  # two models, not one
    start = AutoModelForSequenceClassification.from_pretrained(tiny_model).bert.embeddings.word_embeddings.weight
    assert not torch.equal(embeddings, start)  # trained

    resumed = short_run(
        spec,
        tmp_path / "resumed",
        tiny_model,
        sentiment_data,
        resume_from_checkpoint=str(out / "checkpoints" / "step-4"),
    )
    r_model, r_twin = resumed.module.trained["model"], resumed.module.trained["twin"]
    assert r_twin.bert.embeddings.word_embeddings.weight is r_model.bert.embeddings.word_embeddings.weight
    assert_same_weights(tmp_path / "resumed", out)
    assert_same_weights(tmp_path / "resumed" / "twin", out / "twin")


def test_a_resumed_run_replaces_every_saved_model(tmp_path, tiny_model, sentiment_data):
    import os

    spec = spec_for(SharedTwinTask)
    out = tmp_path / "out"
    short_run(spec, out, tiny_model, sentiment_data)
    first = load_file(out / "twin" / "model.safetensors")
    inode = os.stat(out / "twin" / "model.safetensors").st_ino
    short_run(spec, out, tiny_model, sentiment_data, resume_from_checkpoint=str(out / "checkpoints" / "step-4"))
    assert os.stat(out / "twin" / "model.safetensors").st_ino != inode  # written anew ...
    again = load_file(out / "twin" / "model.safetensors")
    assert all(torch.equal(first[k], again[k]) for k in first)  # ... with the same weights
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["checkpoints", "twin"]
