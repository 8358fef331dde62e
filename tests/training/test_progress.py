"""What a training run draws in a terminal: the progress bar, and the evaluation lines above it."""

import re

from tests.helpers import finetune_sentiment_args, run_in_terminal


def test_in_a_terminal_evaluation_lines_go_above_the_progress_bar(tiny_model, sentiment_data, tmp_path):
    drawn = run_in_terminal(
        *finetune_sentiment_args(tiny_model, tmp_path / "out", sentiment_data, max_steps=12, eval_steps=4)
    )
    assert "train:" in drawn and "%|" in drawn  # the bar was drawn
    starts = [m.start() for m in re.finditer(r"step \d+ \| eval_accuracy", drawn)]
    assert len(starts) >= 3, drawn[-2000:]
    for start in starts:  # each at the start of a line, never appended to the bar's text
        assert drawn[start - 1] in "\r\n", repr(drawn[max(0, start - 80) : start + 20])
