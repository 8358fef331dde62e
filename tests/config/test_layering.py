"""Configuration layering: defaults <- task <- recipe <- --config <- flags, each layer over the one before."""

import pytest
import yaml

from bertcli.config import resolve
from bertcli.errors import BertcliError
from bertcli.tasks import registry
from tests.helpers import resolve_cls


def test_defaults_apply_when_nothing_overrides_them(tmp_path, sentiment_data):
    """With nothing given, a run's settings are the dataclasses' defaults, the task's own training defaults on top."""
    import dataclasses

    from bertcli.config import TrainConfig

    for name, train_file in (("cls", sentiment_data["train"]), ("squad", sentiment_data["train"])):
        spec = registry.get(name)
        cfg = resolve(
            spec,
            None,
            None,
            {"model": "m", "output_dir": str(tmp_path / name), "data": {"train_file": str(train_file)}},
        )
        assert cfg.train == dataclasses.replace(TrainConfig(), **spec.options.train_defaults)
        assert cfg.options == spec.options()
        assert cfg.data == dataclasses.replace(spec.data(), train_file=str(train_file))


def test_each_layer_overrides_the_one_before(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"train": {"lr": 3e-5, "epochs": 7}, "data": {"text_column": "body"}}))
    cfg = resolve_cls(tmp_path, recipe="sst2", config=str(config), train={"epochs": 2})
    assert cfg.data.dataset == "nyu-mll/glue" and cfg.data.label_names == ["negative", "positive"]  # recipe
    assert cfg.train.batch_size == 32 and cfg.train.warmup_ratio == 0.1  # recipe
    assert cfg.train.lr == 3e-5 and cfg.data.text_column == "body"  # config file over recipe
    assert cfg.train.epochs == 2.0  # flag over config file
    assert cfg.recipe == "sst2"


def test_config_file_can_name_the_recipe(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("recipe: mnli\ntrain:\n  lr: 1.0e-5\n")
    cfg = resolve_cls(tmp_path, config=str(config))
    assert cfg.data.validation_split == "validation_matched" and cfg.train.lr == 1e-5


def test_a_recipe_for_another_command_is_rejected(tmp_path, monkeypatch):
    recipe = tmp_path / "qa.yaml"
    recipe.write_text("task: squad\ndata:\n  dataset: rajpurkar/squad\n")
    with pytest.raises(BertcliError, match="is for `squad`, not `cls`"):
        resolve_cls(tmp_path, recipe=str(recipe))


def test_runconfig_is_plain_data(tmp_path):
    import json

    cfg = resolve_cls(tmp_path, recipe="sst2")
    plain = cfg.to_dict()
    assert json.loads(json.dumps(plain)) == plain  # nothing but dicts, lists, strings, numbers, booleans and None
    assert plain["data"]["label_names"] == ["negative", "positive"] and plain["train"]["lr"] == cfg.train.lr
