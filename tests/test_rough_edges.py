"""What a new user ran into (issue 14), each through the real `bertcli` command in a subprocess: the exit status,
the stderr lines and the files written are the behaviour."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import synthetic
from tests.conftest import assert_one_line_error, run_bertcli

TINY = ["--lr", "1e-3", "--batch-size", "32", "--logging-steps", "5", "--max-seq-length", "32"]


def metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def jsonl_sentiment(tmp_path_factory) -> dict[str, Path]:
    """The synthetic sentiment task with labels written three ways: names, booleans, and floats 0.0 / 1.0."""
    root = tmp_path_factory.mktemp("labels")
    paths = {}
    for split, n, seed in (("train", 400, 11), ("validation", 100, 12)):
        rows = synthetic.sentiment(n, seed=seed)
        for kind, convert in (
            ("bool", lambda label: label == "positive"),
            ("float", lambda label: float(label == "positive")),
        ):
            records = [{"text": text, "label": convert(label)} for text, label in rows]
            paths[f"{kind}-{split}"] = synthetic.write_jsonl(root / f"{kind}-{split}.jsonl", records)
    return paths


@pytest.mark.parametrize(
    "kind, extra, names",
    [
        ("bool", [], ["false", "true"]),
        ("float", ["--problem-type", "single_label_classification"], ["0", "1"]),
    ],
)
def test_boolean_and_float_labels_train_a_classifier(kind, extra, names, jsonl_sentiment, tiny_model, tmp_path):
    from transformers import AutoConfig

    out = tmp_path / "out"
    result = run_bertcli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        "--epochs",
        "4",
        *TINY,
        *extra,
        "--train-file",
        jsonl_sentiment[f"{kind}-train"],
        "--validation-file",
        jsonl_sentiment[f"{kind}-validation"],
    )
    assert result.code == 0, result.stderr
    assert metrics(out)["accuracy"] >= 0.9
    config = AutoConfig.from_pretrained(out)
    assert config.problem_type == "single_label_classification" and list(config.label2id) == names


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, tiny_model, sentiment_data) -> Path:
    out = tmp_path_factory.mktemp("rough") / "classifier"
    result = run_bertcli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        "--max-steps",
        "20",
        *TINY,
        "--train-file",
        sentiment_data["train"],
        "--validation-file",
        sentiment_data["validation"],
        "--text-column",
        "sentence",
    )
    assert result.code == 0, result.stderr
    return out


@pytest.mark.parametrize("name", ["reviews.txt", "reviews.csv", "reviews.jsonl"])
def test_predict_names_the_line_of_a_file_that_is_not_utf8(name, classifier, tmp_path):
    path = tmp_path / name
    good = {
        "reviews.txt": "a fine film\n",
        "reviews.csv": "text\na fine film\n",
        "reviews.jsonl": '{"text": "a fine film"}\n',
    }[name]
    bad = {
        "reviews.txt": "caf\xe9 noir\n",
        "reviews.csv": "caf\xe9 noir\n",
        "reviews.jsonl": '{"text": "caf\xe9 noir"}\n',
    }[name]
    path.write_bytes(good.encode() + bad.encode("latin-1"))
    result = run_bertcli("predict", "--model", classifier, "--input-file", path)
    line, column = {"reviews.txt": (2, 4), "reviews.csv": (3, 4), "reviews.jsonl": (2, 14)}[name]
    assert_one_line_error(
        result, f"line {line} is not valid UTF-8 (byte 0xe9 at column {column})", "save the file as UTF-8"
    )


def test_predict_stdin_that_is_not_utf8(classifier):
    result = subprocess.run(
        [sys.executable, "-m", "bertcli", "predict", "--model", str(classifier)],
        input="caf\xe9\n".encode("latin-1"),
        capture_output=True,
    )
    assert result.returncode == 2 and result.stderr.decode().startswith("bertcli: error: stdin is not valid UTF-8")


def test_predict_csv_output_when_a_later_record_has_an_id(classifier, tmp_path):
    inputs = synthetic.write_jsonl(tmp_path / "in.jsonl", [{"text": "a great film"}, {"text": "dull", "id": "r2"}])
    out = tmp_path / "out.csv"
    result = run_bertcli(
        "predict", "--model", classifier, "--input-file", inputs, "--format", "csv", "--output-file", out
    )
    assert result.code == 0, result.stderr
    import csv

    rows = list(csv.DictReader(out.open()))
    assert [r["text"] for r in rows] == ["a great film", "dull"] and [r["id"] for r in rows] == ["", "r2"]
    assert all(r["label"] in ("positive", "negative") for r in rows)
    to_stdout = run_bertcli("predict", "--model", classifier, "--input-file", inputs, "--format", "csv")
    assert_one_line_error(to_stdout, "output record 2 has column(s) id", "--format jsonl")


@pytest.mark.parametrize(
    "report_to, fragments",
    [
        ("tensorboard", ["--report-to tensorboard: tensorboard is not installed; pip install tensorboard"]),
        ("all", ["--report-to all: no experiment tracker is installed", "--report-to none"]),
        ("tensorboard,comet_ml", ["tensorboard is not installed"]),
        ("comet_ml", ["pip install comet-ml"]),
        ("tensorbored", ["unknown tracker", "tensorboard, wandb"]),
    ],
)
def test_report_to_trackers_that_are_not_installed(report_to, fragments, tiny_model, sentiment_data, tmp_path):
    from accelerate.tracking import get_available_trackers

    if get_available_trackers():
        pytest.skip("an experiment tracker is installed here")
    result = run_bertcli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        tmp_path / "out",
        "--max-steps",
        "1",
        "--train-file",
        sentiment_data["train"],
        "--validation-file",
        sentiment_data["validation"],
        "--text-column",
        "sentence",
        "--report-to",
        report_to,
    )
    assert_one_line_error(result, *fragments)  # one line: no warning of Accelerate's before it
    assert not (tmp_path / "out").exists()


def test_report_to_takes_a_comma_separated_list_and_all(monkeypatch):
    import accelerate.tracking
    from accelerate.utils import LoggerType

    from bertcli.training.accelerator import trackers

    monkeypatch.setattr(
        accelerate.tracking, "get_available_trackers", lambda: [LoggerType.TENSORBOARD, LoggerType.WANDB]
    )
    assert trackers("tensorboard, wandb") == ["tensorboard", "wandb"]
    assert trackers("all") == ["tensorboard", "wandb"] and trackers("none") is None


def run_in_terminal(*args, timeout=300) -> str:
    """`bertcli ARGS` with a pseudo-terminal as its stdout and stderr (as a user's shell): everything it drew."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 40 rows, 120 columns
    process = subprocess.Popen(
        [sys.executable, "-m", "bertcli", *map(str, args)],
        stdout=terminal,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "120"},
    )
    os.close(terminal)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if ready:
            try:
                data = os.read(controller, 65536)
            except OSError:  # the terminal closed: the process has exited
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(controller)
    assert process.returncode == 0, b"".join(chunks).decode(errors="replace")[-2000:]
    return b"".join(chunks).decode(errors="replace")


def test_in_a_terminal_evaluation_lines_go_above_the_progress_bar(tiny_model, sentiment_data, tmp_path):
    import re

    drawn = run_in_terminal(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        tmp_path / "out",
        *TINY,
        "--max-steps",
        "12",
        "--eval-steps",
        "4",
        "--train-file",
        sentiment_data["train"],
        "--validation-file",
        sentiment_data["validation"],
        "--text-column",
        "sentence",
    )
    assert "train:" in drawn and "%|" in drawn  # the bar was drawn
    starts = [m.start() for m in re.finditer(r"step \d+ \| eval_accuracy", drawn)]
    assert len(starts) >= 3, drawn[-2000:]
    for start in starts:  # each at the start of a line, never appended to the bar's text
        assert drawn[start - 1] in "\r\n", repr(drawn[max(0, start - 80) : start + 20])


def test_pretraining_a_small_corpus_holds_out_enough_documents(tiny_model, tmp_path):
    """Twelve documents: 5% would hold out one, and next-sentence prediction needs two to draw NotNext pairs."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(synthetic.corpus(12, seed=3))
    out = tmp_path / "out"
    result = run_bertcli(
        "pretrain",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        "--train-file",
        corpus,
        "--max-steps",
        "2",
        "--max-seq-length",
        "32",
    )
    assert result.code == 0, result.stderr
    held_out = metrics(out)
    assert "nsp_accuracy" in held_out and held_out["eval_samples"] >= 2  # NSP pairs drawn from the 2 held-out documents

    few = tmp_path / "few.txt"
    few.write_text(synthetic.corpus(3, seed=3))
    result = run_bertcli("pretrain", "--model", tiny_model, "--output-dir", tmp_path / "few", "--train-file", few)
    assert_one_line_error(
        result,
        "holds 3 documents: too few to hold out 2 for evaluation (--validation-split-percentage)",
        "pass --validation-file",
    )


def test_resuming_with_other_training_settings_is_refused(tiny_model, sentiment_data, tmp_path):
    import yaml

    out = tmp_path / "out"
    args = [
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        *TINY,
        "--train-file",
        sentiment_data["train"],
        "--validation-file",
        sentiment_data["validation"],
        "--text-column",
        "sentence",
        "--max-steps",
        "10",
        "--save-steps",
        "5",
        "--save-total-limit",
        "5",
    ]
    assert run_bertcli(*args).code == 0
    written = (out / "run.yaml").read_text()
    changed = run_bertcli(
        *args, "--resume-from-checkpoint", out / "checkpoints" / "step-5", "--lr", "2e-3", "--batch-size", "16"
    )
    assert_one_line_error(
        changed,
        "cannot resume",
        "train.batch_size 32 -> 16",
        "train.lr 0.001 -> 0.002",
        f"--config {out / 'checkpoints' / 'step-5' / 'run.yaml'}",
    )
    assert (out / "run.yaml").read_text() == written  # not rewritten with the refused values
    # how a run logs and saves may change
    again = run_bertcli(*args, "--resume-from-checkpoint", "auto", "--logging-steps", "2")
    assert again.code == 0, again.stderr
    assert yaml.safe_load((out / "run.yaml").read_text())["train"]["lr"] == 1e-3


def test_evaluate_from_another_directory_after_the_training_file_moved(tiny_model, tmp_path):
    """run.yaml keeps absolute paths, and evaluate needs only the validation file."""
    work = tmp_path / "work"
    work.mkdir()
    synthetic.write_csv(work / "train.csv", synthetic.sentiment(300, seed=21), ["sentence", "label"])
    synthetic.write_csv(work / "dev.csv", synthetic.sentiment(60, seed=22), ["sentence", "label"])
    result = run_bertcli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        "out",
        *TINY,
        "--max-steps",
        "20",
        "--train-file",
        "train.csv",
        "--validation-file",
        "dev.csv",
        "--text-column",
        "sentence",
        cwd=work,
    )
    assert result.code == 0, result.stderr
    (work / "train.csv").rename(work / "moved.csv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for extra in ([], ["--config", work / "out" / "run.yaml"]):
        evaluated = run_bertcli("evaluate", "--model", work / "out", *extra, cwd=elsewhere)
        assert evaluated.code == 0, evaluated.stderr
        assert json.loads(evaluated.stdout)["accuracy"] == metrics(work / "out")["accuracy"]


def test_early_stopping_and_the_best_model_at_the_end(tiny_model, sentiment_data, tmp_path):
    """Accuracy on the synthetic task climbs to 1.0 within ~40 steps and stays there: with patience 3 at one
    evaluation every 10 steps, training stops 30 steps after its last improvement, not at step 300."""
    out = tmp_path / "out"
    result = run_bertcli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        *TINY,
        "--max-steps",
        "300",
        "--eval-steps",
        "10",
        "--early-stopping-patience",
        "3",
        "--metric-for-best",
        "accuracy",
        "--load-best-model-at-end",
        "--train-file",
        sentiment_data["train"],
        "--validation-file",
        sentiment_data["validation"],
        "--text-column",
        "sentence",
    )
    assert result.code == 0, result.stderr
    m = metrics(out)
    assert m["stopped_early"] is True and m["train_steps"] == m["best_step"] + 30 < 300, m
    assert m["model_step"] == m["best_step"] and m["accuracy"] == m["best_metric"] >= 0.95, m
    assert f"Stopping early at step {m['train_steps']}" in result.stdout
    evaluations = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if "eval_accuracy" in line]
    assert [e["step"] for e in evaluations][-3:] == [m["best_step"] + 10, m["best_step"] + 20, m["best_step"] + 30]


def write_tsv_both_ways(tmp_path: Path, rows: list[tuple[str, str]]) -> tuple[Path, Path]:
    """The same rows as GLUE writes TSV (quotes are text, nothing is quoted) and as a spreadsheet program or pandas
    does (a field with a quote, a tab or a line break is quoted, its quotes doubled)."""
    import csv

    glue = tmp_path / "glue.tsv"
    glue.write_text("sentence\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in rows), encoding="utf-8")
    quoted = tmp_path / "quoted.tsv"
    with open(quoted, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["sentence", "label"])
        writer.writerows(rows)
    return glue, quoted


def test_tsv_files_read_as_glue_and_as_spreadsheets_write_them(tiny_model, sentiment_data, tmp_path):
    import csv

    from bertcli.data import load_file
    from bertcli.textfiles import tsv_quoting

    rows = [(text, label) for text, label in synthetic.sentiment(200, seed=31)]
    rows[0] = ('"i know," she said , the film was great', rows[0][1] if "great" in rows[0][0] else "positive")
    glue, _ = write_tsv_both_ways(tmp_path, rows)
    assert tsv_quoting(glue) == csv.QUOTE_NONE
    assert load_file(glue)["sentence"][0] == '"i know," she said , the film was great'

    spreadsheet_rows = list(rows)
    spreadsheet_rows[1] = ('a "great" film\twith a tab', "positive")
    spreadsheet_rows[2] = ("two lines :\nan awful second one", "negative")
    (tmp_path / "spreadsheet").mkdir()
    _, quoted = write_tsv_both_ways(tmp_path / "spreadsheet", spreadsheet_rows)
    assert tsv_quoting(quoted) == csv.QUOTE_MINIMAL
    table = load_file(quoted)
    assert len(table) == 200 and table["sentence"][:3] == [text for text, _ in spreadsheet_rows[:3]]

    out = tmp_path / "out"
    result = run_bertcli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        *TINY,
        "--max-steps",
        "30",
        "--train-file",
        quoted,
        "--validation-file",
        glue,
        "--text-column",
        "sentence",
    )
    assert result.code == 0, result.stderr
    assert metrics(out)["eval_samples"] == 200
    predicted = run_bertcli("predict", "--model", out, "--input-file", quoted, "--text-column", "sentence")
    assert predicted.code == 0, predicted.stderr
    texts = [json.loads(line)["text"] for line in predicted.stdout.splitlines()]
    assert texts[:3] == [text for text, _ in spreadsheet_rows[:3]] and len(texts) == 200


def test_training_without_validation_data_and_with_a_held_out_share(tiny_model, sentiment_data, tmp_path):
    common = [
        "finetune",
        "cls",
        "--model",
        tiny_model,
        *TINY,
        "--train-file",
        sentiment_data["train"],
        "--text-column",
        "sentence",
        "--epochs",
        "5",
    ]
    alone = run_bertcli(*common, "--output-dir", tmp_path / "alone")
    assert alone.code == 0, alone.stderr
    m = metrics(tmp_path / "alone")
    assert "accuracy" not in m and m["train_loss"] < 0.3 and m["best_step"] is None, m  # it learned, unevaluated
    assert not any("eval_" in line for line in (tmp_path / "alone" / "log.jsonl").read_text().splitlines())

    held = run_bertcli(*common, "--output-dir", tmp_path / "held", "--validation-split-percentage", "20")
    assert held.code == 0, held.stderr
    assert "Training: 480 examples" in held.stdout
    m = metrics(tmp_path / "held")
    assert m["eval_samples"] == 120 and m["accuracy"] >= 0.9, m
    again = run_bertcli("evaluate", "--model", tmp_path / "held")  # run.yaml names the same 120 held-out rows
    assert again.code == 0, again.stderr
    assert json.loads(again.stdout)["accuracy"] == m["accuracy"] and json.loads(again.stdout)["eval_samples"] == 120

    refused = run_bertcli(*common, "--output-dir", tmp_path / "best", "--load-best-model-at-end")
    assert_one_line_error(refused, "--load-best-model-at-end needs evaluation data", "--validation-split-percentage")


def test_predict_keeps_the_inputs_other_columns(classifier, tmp_path):
    inputs = tmp_path / "in.csv"
    inputs.write_text("id,sentence,label,source\nr1,a great film,positive,web\nr2,dull and awful,negative,mail\n")
    kept = run_bertcli("predict", "--model", classifier, "--input-file", inputs, "--text-column", "sentence")
    assert kept.code == 0, kept.stderr
    rows = [json.loads(line) for line in kept.stdout.splitlines()]
    assert [(r["id"], r["text"], r["input_label"], r["source"]) for r in rows] == [
        ("r1", "a great film", "positive", "web"),
        ("r2", "dull and awful", "negative", "mail"),
    ]
    assert all(r["label"] in ("positive", "negative") and 0 < r["score"] <= 1 for r in rows)  # the prediction's own
    bare = run_bertcli(
        "predict", "--model", classifier, "--input-file", inputs, "--text-column", "sentence", "--no-keep-columns"
    )
    assert [sorted(json.loads(line)) for line in bare.stdout.splitlines()] == [["id", "label", "score", "text"]] * 2


def test_print_config_prints_the_resolved_run_yaml_and_runs_nothing(tiny_model, sentiment_data, tmp_path):
    import yaml

    out = tmp_path / "out"
    args = [
        "finetune",
        "squad",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        "--train-file",
        sentiment_data["train"],
        "--lr",
        "1e-4",
        "--version-2",
    ]
    printed = run_bertcli(*args, "--print-config")
    assert printed.code == 0 and printed.stderr == "", printed.stderr
    config = yaml.safe_load(printed.stdout)
    assert config["task"] == "squad" and config["train"]["lr"] == 1e-4 and config["options"]["version_2"] is True
    assert config["train"]["max_seq_length"] == 384 and config["data"]["train_file"] == str(sentiment_data["train"])
    assert not out.exists()  # nothing run, nothing written
    (tmp_path / "printed.yaml").write_text(printed.stdout)
    again = run_bertcli("finetune", "squad", "--config", tmp_path / "printed.yaml", "--print-config")
    assert yaml.safe_load(again.stdout) == config  # what it prints runs as it says
