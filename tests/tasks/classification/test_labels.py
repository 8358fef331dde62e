"""Label mapping: ids, names, strings, floats (regression), and the errors for labels that don't fit."""

import datasets
import pytest

from bertcli.errors import BertcliError
from bertcli.tasks.classification.labels import infer_labels
from tests.helpers import assert_one_line_error, finetune_cls_args, run_bertcli


def labels(train, evals, feature=None, names=None, problem_type=None):
    return infer_labels(train, evals, feature, names, problem_type, "data.csv")


def test_string_labels_map_to_sorted_ids():
    space = labels(["pos", "neg", "pos"], ["neg"])
    assert space.names == ["neg", "pos"] and space.encode(["pos", "neg"]) == [1, 0]


def test_label_names_fix_the_order_of_string_labels():
    space = labels(["positive", "negative"], ["positive"], names=["negative", "positive"])
    assert space.encode(["negative", "positive"]) == [0, 1]


def test_integer_ids_with_names_are_kept():
    space = labels([0, 1, 1], [1, 0], names=["negative", "positive"])
    assert space.to_id is None and space.names == ["negative", "positive"] and space.encode([1, 0]) == [1, 0]


def test_integers_without_names_become_contiguous_ids():
    space = labels([1, 5, 3], [5])
    assert space.names == ["1", "3", "5"] and space.encode([5, 1]) == [2, 0]


def test_class_label_feature_gives_the_names():
    feature = datasets.ClassLabel(names=["World", "Sports", "Business"])
    assert labels([0, 2], [1], feature=feature).names == ["World", "Sports", "Business"]


def test_floats_mean_regression():
    space = labels([0.5, 3.2], [1.0])
    assert space.problem_type == "regression" and space.num_labels == 1 and space.encode([1, 2.5]) == [1.0, 2.5]


def test_recipe_can_force_regression_on_integer_scores():
    assert labels([1, 2, 5], [3], problem_type="regression").problem_type == "regression"


@pytest.mark.parametrize(
    "train, evals, names, message",
    [
        (["a", "b"], ["c"], None, "validation label 'c' is not among the labels a, b"),
        ([0, 1, 2], [0], ["neg", "pos"], "label 2 is not an id of the 2 label names"),
        (["a", "a"], ["a"], None, "a single class"),
        (["x", "y"], ["x"], ["negative", "positive"], "training label 'x' is not among"),
        (["a", None], ["a"], None, "some examples have no label"),
    ],
)
def test_labels_that_do_not_fit_are_errors(train, evals, names, message):
    with pytest.raises(BertcliError, match=message):
        labels(train, evals, names=names)


def test_a_validation_label_outside_the_training_labels_names_the_validation_file(tmp_path, tiny_model):
    train, dev = tmp_path / "t4.csv", tmp_path / "v_unseen.csv"
    train.write_text("sentence,label\na fine film,pos\na dull film,neg\n")
    dev.write_text("sentence,label\nan odd film,neutral\n")
    result = run_bertcli(*finetune_cls_args(tiny_model, tmp_path / "out", train, dev))
    line = assert_one_line_error(result, "v_unseen.csv: validation label 'neutral' is not among the labels neg, pos")
    assert "t4.csv" not in line
