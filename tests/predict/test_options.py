"""The options of the commands that run a model: declared once (RuntimeOptions, and each task's PredictOptions named
by its registry entry), and an option a model's predictor does not take refused, never dropped."""

import dataclasses
import json

import pytest

from bertcli.config.runtime import RankedOptions, RuntimeOptions
from bertcli.errors import BertcliError
from bertcli.tasks import registry
from tests.helpers import assert_one_line_error, run_bertcli


def test_each_task_names_its_predictor_options_and_its_predictor_takes_them():
    for spec in registry.TASKS:
        accepted = spec.predictor_class().accepted_options()
        own = {f.name for f in dataclasses.fields(spec.predict_options)}
        assert own <= accepted, (spec.name, own - accepted)
        runtime = set(RuntimeOptions().predictor_kwargs())
        assert runtime <= accepted, (spec.name, runtime - accepted)


def test_an_option_the_predictor_does_not_take_is_refused(classifier):
    from bertcli.predict.base import load_predictor

    with pytest.raises(BertcliError, match="takes no option 'doc_stride'"):
        load_predictor(str(classifier), doc_stride=64)
    assert load_predictor(str(classifier), top_k=2).top_k == 2


def test_a_flag_of_another_tasks_predictor_is_a_one_line_error(classifier):
    result = run_bertcli("predict", "--model", classifier, "--doc-stride", "64", "a fine film")
    assert_one_line_error(result, "--doc-stride does not apply to", "a `cls` model", "--top-k")
    ranked = run_bertcli("predict", "--model", classifier, "--top-k", "2", "a fine film")
    assert ranked.code == 0, ranked.stderr
    assert len(json.loads(ranked.stdout.splitlines()[0])["top_k"]) == 2


@pytest.mark.parametrize(
    "command, flag", [("predict", "--batch-size"), ("embed", "--batch-size"), ("predict", "--max-seq-length")]
)
def test_runtime_bounds_are_checked_where_they_are_declared(classifier, command, flag):
    result = run_bertcli(command, "--model", classifier, flag, "0", "a fine film")
    assert_one_line_error(result, f"{flag} must be at least 1, got 0")


def test_runtime_and_ranked_options_check_themselves():
    with pytest.raises(BertcliError, match="--top-k must be at least 1, got 0"):
        RankedOptions(top_k=0).check()
    RankedOptions().check()  # None: not given
    assert RuntimeOptions(quantize="int8").predictor_kwargs()["quantize"] == "int8"
    assert RuntimeOptions().predictor_kwargs()["quantize"] is None
