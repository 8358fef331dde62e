"""What the loop counts: metrics.json's losses against the per-step log."""

import pytest

from tests.helpers import finetune_sentiment_args, metrics, read_log, run_cli


def test_train_loss_is_the_last_window_and_train_loss_mean_the_whole_run(tiny_model, sentiment_data, tmp_path):
    out = tmp_path / "out"
    result = run_cli(*finetune_sentiment_args(tiny_model, out, sentiment_data, max_steps=6, logging_steps=1))
    assert result.code == 0, result.stderr
    losses = [record["loss"] for record in read_log(out) if "loss" in record]
    assert len(losses) == 6 and len(set(losses)) > 1
    found = metrics(out)
    assert found["train_loss"] == pytest.approx(losses[-1])
    assert found["train_loss_mean"] == pytest.approx(sum(losses) / len(losses), rel=1e-5)
