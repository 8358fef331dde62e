"""Configuration layering (defaults <- recipe <- --config <- flags) and validation."""

import pytest
import yaml

from bertcli.config import resolve, save_run_yaml
from bertcli.errors import BertcliError
from bertcli.tasks import registry


def cls(tmp_path, recipe=None, config=None, **flags):
    flags.setdefault("model", "some/model")
    flags.setdefault("output_dir", str(tmp_path / "out"))
    return resolve(registry.get("cls"), recipe, config, flags)


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
    cfg = cls(tmp_path, recipe="sst2", config=str(config), train={"epochs": 2})
    assert cfg.data.dataset == "nyu-mll/glue" and cfg.data.label_names == ["negative", "positive"]  # recipe
    assert cfg.train.batch_size == 32 and cfg.train.warmup_ratio == 0.1  # recipe
    assert cfg.train.lr == 3e-5 and cfg.data.text_column == "body"  # config file over recipe
    assert cfg.train.epochs == 2.0  # flag over config file
    assert cfg.recipe == "sst2"


def test_config_file_can_name_the_recipe(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("recipe: mnli\ntrain:\n  lr: 1.0e-5\n")
    cfg = cls(tmp_path, config=str(config))
    assert cfg.data.validation_split == "validation_matched" and cfg.train.lr == 1e-5


def test_yaml_scientific_notation_without_a_dot_is_read_as_a_number(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("recipe: sst2\ntrain:\n  lr: 5e-5\n")  # YAML 1.1 reads this as a string
    assert cls(tmp_path, config=str(config)).train.lr == 5e-5


def test_run_yaml_round_trips(tmp_path):
    cfg = cls(tmp_path, recipe="stsb", train={"lr": 4e-5, "seed": 7})
    path = tmp_path / "run.yaml"
    save_run_yaml(cfg, path)
    again = cls(tmp_path, config=str(path))
    assert again.to_dict() == cfg.to_dict()
    assert "versions" in yaml.safe_load(path.read_text())


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
        cls(tmp_path, recipe="sst2", **flags)


def test_model_and_output_dir_are_required(tmp_path, sentiment_data):
    data = {"train_file": str(sentiment_data["train"])}
    with pytest.raises(BertcliError, match="no model given: pass --model"):
        cls(tmp_path, model=None, data=data)
    with pytest.raises(BertcliError, match="no output directory given: pass --output-dir"):
        cls(tmp_path, output_dir=None, data=data)


def test_unknown_keys_are_rejected_with_the_valid_ones(tmp_path):
    config = tmp_path / "typo.yaml"
    config.write_text("train:\n  learning_rate: 1.0e-5\n")
    with pytest.raises(BertcliError, match=r"unknown setting 'train.learning_rate'.*\blr\b"):
        cls(tmp_path, recipe="sst2", config=str(config))


def test_a_recipe_for_another_command_is_rejected(tmp_path, monkeypatch):
    recipe = tmp_path / "qa.yaml"
    recipe.write_text("task: squad\ndata:\n  dataset: rajpurkar/squad\n")
    with pytest.raises(BertcliError, match="is for `squad`, not `cls`"):
        cls(tmp_path, recipe=str(recipe))


def test_non_empty_output_dir_needs_overwrite_or_resume(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.yaml").write_text("task: cls\n")
    with pytest.raises(BertcliError, match="--overwrite-output-dir"):
        cls(tmp_path, recipe="sst2")
    assert cls(tmp_path, recipe="sst2", train={"overwrite_output_dir": True}).train.overwrite_output_dir
    assert cls(tmp_path, recipe="sst2", train={"resume_from_checkpoint": "auto"}).train.resume_from_checkpoint == "auto"


def test_runconfig_is_plain_data(tmp_path):
    import json

    cfg = cls(tmp_path, recipe="sst2")
    plain = cfg.to_dict()
    assert json.loads(json.dumps(plain)) == plain  # nothing but dicts, lists, strings, numbers, booleans and None
    assert plain["data"]["label_names"] == ["negative", "positive"] and plain["train"]["lr"] == cfg.train.lr


def test_a_run_yaml_from_before_settings_moved_still_loads(tmp_path):
    old = tmp_path / "run.yaml"
    old.write_text(
        "task: pretrain\nmodel: m\noutput_dir: out\ndata:\n  dataset: Salesforce/wikitext\n"
        "options:\n  nsp: false\n  whole_word_masking: true\n  line_by_line: true\n  lines_per_document: 8\n"
    )
    cfg = resolve(registry.get("pretrain"), None, str(old), {"output_dir": str(tmp_path / "again")})
    assert cfg.data.line_by_line is True and cfg.data.lines_per_document == 8 and cfg.options.nsp is False
    assert cfg.options.objective == "mlm" and cfg.options.masking == "whole-word"  # switches that became choices
    flagged = resolve(
        registry.get("pretrain"),
        None,
        str(old),
        {"output_dir": str(tmp_path / "again"), "data": {"line_by_line": False}},
    )
    assert flagged.data.line_by_line is False  # a flag still overrides the file
