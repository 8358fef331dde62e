"""The command line: version, help, `python -m bertcli`, and bad input (exit 2, one line, no traceback; --debug shows
it). Each command's own tests are beside this file or with what it runs (tests/tasks, tests/predict ...)."""

import pytest

from tests.helpers import assert_one_line_error, finetune_cls_args, finetune_sentiment_args, run_bertcli, run_cli


def test_version_and_help_of_every_command():
    assert run_cli("--version").stdout.startswith("bertcli ")
    for command in (["finetune", "cls"], ["init-model"], ["recipes", "list"], ["recipes", "show"]):
        result = run_cli(*command, "--help")
        assert result.code == 0, result.stderr
    help_text = run_cli("finetune", "cls", "--help").stdout
    for flag in (
        "--epochs",
        "--max-steps",
        "--batch-size",
        "--grad-accum",
        "--lr",
        "--weight-decay",
        "--warmup-ratio",
        "--max-seq-length",
        "--seed",
        "--mixed-precision",
        "--eval-steps",
        "--save-steps",
        "--save-total-limit",
        "--resume-from-checkpoint",
        "--max-train-samples",
        "--max-eval-samples",
        "--report-to",
        "--config",
        "--overwrite-output-dir",
        "--text-column",
        "--text-pair-column",
        "--label-column",
    ):
        assert flag in help_text, flag
    flat = " ".join(help_text.split())
    assert "learning rate (AdamW). [default: 5e-05]" in flat and "per forward pass. [default: 32]" in flat


def test_python_dash_m_runs_the_same_cli():
    result = run_bertcli("--version")
    assert result.code == 0 and result.stdout.startswith("bertcli ")


@pytest.fixture
def train_args(tiny_model, sentiment_data, tmp_path):
    return finetune_sentiment_args(tiny_model, tmp_path / "out", sentiment_data, tiny=False)


@pytest.mark.parametrize(
    "extra, fragments",
    [
        (["--lr", "-1"], ["--lr must be positive"]),
        (["--batch-size", "0"], ["--batch-size must be at least 1"]),
        (["--max-seq-length", "1024"], ["--max-seq-length 1024", "512 positions"]),
        (["--recipe", "nope"], ["unknown recipe 'nope'", "sst2"]),
        (["--text-column", "body"], ["column 'body' (--text-column) not found", "sentence, label"]),
        (["--label-column", "stars"], ["column 'stars' (--label-column)"]),
        (["--mixed-precision", "fp8"], ["fp8"]),
        (["--no-such-flag"], ["No such option", "--help"]),
        (["--metric-for-best", "bleu"], ["--metric-for-best bleu is not computed"]),
        (["--resume-from-checkpoint", "/nowhere/step-3"], ["checkpoint not found"]),
        (["--report-to", "no-such-tracker"], ["no-such-tracker", "--report-to"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(train_args, tmp_path, extra, fragments):
    result = run_bertcli(*train_args, *extra)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "out").exists()  # nothing was written


def test_missing_data_file(tiny_model, sentiment_data, tmp_path):
    missing = tmp_path / "missing.csv"
    args = finetune_cls_args(tiny_model, tmp_path / "out", missing, sentiment_data["validation"], tiny=False)
    assert_one_line_error(run_bertcli(*args), "--train-file not found", "missing.csv")


def test_unreadable_file_type(tiny_model, sentiment_data, tmp_path):
    odd = tmp_path / "train.xlsx"
    odd.write_text("nope")
    args = finetune_cls_args(tiny_model, tmp_path / "out", odd, sentiment_data["validation"], tiny=False)
    assert_one_line_error(run_bertcli(*args), "unknown file type '.xlsx'")


def test_model_that_does_not_exist(sentiment_data, tmp_path):
    args = finetune_sentiment_args(tmp_path / "no-model", tmp_path / "out", sentiment_data, tiny=False)
    line = assert_one_line_error(run_bertcli(*args), "cannot load model", "no-model': no such directory")
    assert "Hub" not in line  # an absolute path is never a hub name, so the hub's repo-id rule is no help


def test_debug_shows_the_traceback(train_args):
    with pytest.raises(Exception, match="--lr must be positive"):
        run_cli(*train_args, "--lr", "-1", "--debug")


def test_real_process_exit_status_and_stderr(tmp_path):
    result = run_bertcli("finetune", "cls", "--recipe", "nope", "--model", "x", "--output-dir", tmp_path / "o")
    assert assert_one_line_error(result).startswith("bertcli: error: unknown recipe 'nope'")
