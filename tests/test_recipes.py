"""Every shipped recipe parses and validates against its task's settings; lookup by name, by task/name and by path;
`bertcli recipes list` and `show`."""

import pytest

from bertcli import recipes
from bertcli.config import resolve
from bertcli.errors import BertcliError
from bertcli.tasks import registry
from tests.helpers import ROOT, run_cli

REQUIRED_CLS = {"sst2", "cola", "mrpc", "qnli", "rte", "stsb", "mnli", "imdb", "ag_news"}


def test_the_required_recipes_ship():
    found = {r.name: r for r in recipes.list_recipes() if r.task == "cls"}
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


def test_recipes_list_and_show():
    listing = run_cli("recipes", "list").stdout
    assert "sst2" in listing and "stsb" in listing
    shown = run_cli("recipes", "show", "stsb").stdout
    assert "problem_type: regression" in shown


@pytest.mark.parametrize("info", recipes.list_recipes(), ids=lambda r: r.name)
def test_every_recipe_validates_against_its_tasks_settings(info, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the demo recipe names a file relative to the checkout
    spec = registry.get(info.task)
    cfg = resolve(spec, info.name, None, {"model": "m", "output_dir": str(tmp_path / "out")})
    assert cfg.task == spec.name and cfg.recipe == info.name


def test_a_recipe_name_two_tasks_share_resolves_to_the_commands_own(tmp_path):
    """`imdb` is a classification recipe and a pre-training one: each command takes its own, both are listed."""
    assert {r.task for r in recipes.list_recipes() if r.name == "imdb"} == {"cls", "pretrain"}
    for task, split in (("cls", "train"), ("pretrain", "unsupervised")):
        cfg = resolve(registry.get(task), "imdb", None, {"model": "m", "output_dir": str(tmp_path / task)})
        assert cfg.task == task and cfg.data.train_split == split
