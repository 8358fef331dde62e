"""The task registry: its entries agree with each other, and a model directory maps back to the task that reads
it. What is generated from the registry is tested where it shows: --help in tests/cli/test_help.py, recipes in
tests/test_recipes.py."""

from __future__ import annotations

import json

from bertcli.tasks import registry
from tests.helpers import run_cli


def test_registry_entries_are_consistent():
    names = [spec.name for spec in registry.TASKS]
    commands = [spec.command for spec in registry.TASKS]
    assert len(set(names)) == len(names) and len(set(commands)) == len(commands)
    for spec in registry.TASKS:
        assert not spec.reads or all(architecture.endswith(spec.reads) for architecture in spec.writes), spec.name
        assert spec.task_class().__name__.endswith(("Task", "_task")) and spec.predictor_class().__name__.endswith(
            "Predictor"
        )


def test_a_trained_model_maps_back_to_its_task(tmp_path):
    """What a task writes, a task reads back: its own, or (a distilled classifier) the task of that kind. A bare
    encoder (general distillation's student) is a starting point for training and for `embed`, read by no task."""
    for spec in registry.TASKS:
        for architecture in set(spec.writes) - {"BertModel"}:
            (tmp_path / "config.json").write_text(json.dumps({"architectures": [architecture]}))
            found = registry.for_model(str(tmp_path))
            assert found is spec if spec.reads else architecture in found.writes


def test_model_kinds_are_detected(classifier, tiny_model, tmp_path):
    from transformers import BertConfig, BertModel

    assert registry.for_model(str(classifier)).name == "cls"
    assert registry.for_model(str(tiny_model)).name == "pretrain"
    BertModel(
        BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    ).save_pretrained(tmp_path / "encoder")
    result = run_cli("predict", "--model", tmp_path / "encoder", "some text")
    assert result.code == 2 and "holds a BertModel" in result.stderr
