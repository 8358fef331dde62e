"""Every shipped recipe parses and validates; lookup by name, by task/name and by path."""

import pytest

from bertcli import recipes
from bertcli.config import resolve
from bertcli.errors import BertcliError
from bertcli.tasks import registry

REQUIRED_CLS = {"sst2", "cola", "mrpc", "qnli", "rte", "stsb", "mnli", "imdb", "ag_news"}


def test_the_required_recipes_ship():
    found = {r.name: r for r in recipes.list_recipes()}
    assert REQUIRED_CLS <= set(found)
    assert all(found[name].task == "cls" and found[name].description for name in REQUIRED_CLS)


@pytest.mark.parametrize("info", [r for r in recipes.list_recipes() if r.task == "cls"], ids=lambda r: r.name)
def test_every_classification_recipe_validates(info, tmp_path):
    cfg = resolve(registry.get("cls"), info.name, None, {"output_dir": str(tmp_path / "out")})
    assert cfg.data.dataset and cfg.data.text_column and cfg.model
    assert cfg.options.metrics, "a recipe names its metrics"
    if cfg.options.problem_type != "regression":
        assert cfg.data.label_names and len(cfg.data.label_names) >= 2


def test_regression_and_pair_recipes_say_so():
    stsb = recipes.load_recipe("stsb")
    assert stsb["options"]["problem_type"] == "regression" and stsb["data"]["text_pair_column"] == "sentence2"
    assert recipes.load_recipe("mnli")["data"]["validation_split"] == "validation_matched"


def test_lookup_by_task_and_name_and_by_path(tmp_path):
    assert recipes.find_recipe("cls/sst2") == recipes.find_recipe("sst2")
    own = tmp_path / "mine.yaml"
    own.write_text("task: cls\ndata:\n  dataset: me/mine\n")
    assert recipes.load_recipe(str(own))["data"]["dataset"] == "me/mine"


def test_unknown_recipe_names_the_known_ones():
    with pytest.raises(BertcliError, match="unknown recipe 'sst3'.*sst2"):
        recipes.find_recipe("sst3")


def test_extra_recipe_directories_come_first(tmp_path, monkeypatch):
    (tmp_path / "cls").mkdir()
    (tmp_path / "cls" / "sst2.yaml").write_text("task: cls\ndescription: mine\ndata:\n  dataset: me/sst2\n")
    monkeypatch.setenv("BERTCLI_RECIPES_PATH", str(tmp_path))
    assert recipes.load_recipe("sst2")["data"]["dataset"] == "me/sst2"
