"""Early stopping and the best model at the end: training stops `patience` evaluations after the last improvement,
and --load-best-model-at-end saves the best evaluation's model, not the last one's."""

import pytest

from bertcli.tasks.classification.task import ClassificationTask
from tests.helpers import (
    SHORT_RUN,
    assert_same_weights,
    finetune_sentiment_args,
    fit,
    metrics,
    read_log,
    run_bertcli,
    spec_for,
)


def test_early_stopping_and_the_best_model_at_the_end(tiny_model, sentiment_data, tmp_path):
    """Accuracy on the synthetic task climbs to 1.0 within ~40 steps and stays there: with patience 3 at one
    evaluation every 10 steps, training stops 30 steps after its last improvement, not at step 300."""
    out = tmp_path / "out"
    stopping = {"early_stopping_patience": 3, "metric_for_best": "accuracy", "load_best_model_at_end": True}
    result = run_bertcli(
        *finetune_sentiment_args(tiny_model, out, sentiment_data, max_steps=300, eval_steps=10, **stopping)
    )
    assert result.code == 0, result.stderr
    m = metrics(out)
    assert m["stopped_early"] is True and m["train_steps"] == m["best_step"] + 30 < 300, m
    assert m["model_step"] == m["best_step"] and m["accuracy"] == m["best_metric"] >= 0.95, m
    assert f"Stopping early at step {m['train_steps']}" in result.stdout
    evaluations = [record for record in read_log(out) if "eval_accuracy" in record]
    assert [e["step"] for e in evaluations][-3:] == [m["best_step"] + 10, m["best_step"] + 20, m["best_step"] + 30]


class ScriptedMetricTask(ClassificationTask):
    """Accuracy as scripted, one value per evaluation, so that the best evaluation is known in advance."""

    script = [0.2, 0.9, 0.5, 0.4, 0.9]

    def compute_metrics(self, outputs, data):
        metrics, predictions = super().compute_metrics(outputs, data)
        self.calls = getattr(self, "calls", 0) + 1
        return {**metrics, "accuracy": self.script[self.calls - 1]}, predictions


def test_load_best_model_at_end_saves_the_best_evaluations_model(tmp_path, tiny_model, sentiment_data):
    out = tmp_path / "out"
    steps = {"max_steps": 8, "eval_steps": 2, "save_steps": 2}
    fit(
        spec_for(ScriptedMetricTask),
        tiny_model,
        out,
        sentiment_data,
        **{**SHORT_RUN, **steps},
        load_best_model_at_end=True,
    )
    saved = metrics(out)
    assert saved["best_step"] == 4 and saved["model_step"] == 4 and saved["train_steps"] == 8
    assert saved["accuracy"] == 0.9  # the saved model's evaluation, not the last one's (0.4)
    assert_same_weights(out, out / "checkpoints" / "step-4")
    assert_same_weights(out / "checkpoints" / "best", out / "checkpoints" / "step-4")
    with pytest.raises(AssertionError):
        assert_same_weights(out, out / "checkpoints" / "step-6")  # a later model, not the one saved
