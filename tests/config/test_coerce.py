"""Type coercion: YAML's numbers read as numbers, unknown settings refused with the valid ones."""

import pytest

from bertcli.errors import BertcliError
from tests.helpers import resolve_cls


def test_yaml_scientific_notation_without_a_dot_is_read_as_a_number(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("recipe: sst2\ntrain:\n  lr: 5e-5\n")  # YAML 1.1 reads this as a string
    assert resolve_cls(tmp_path, config=str(config)).train.lr == 5e-5


def test_unknown_keys_are_rejected_with_the_valid_ones(tmp_path):
    config = tmp_path / "typo.yaml"
    config.write_text("train:\n  learning_rate: 1.0e-5\n")
    with pytest.raises(BertcliError, match=r"unknown setting 'train.learning_rate'.*\blr\b"):
        resolve_cls(tmp_path, recipe="sst2", config=str(config))
