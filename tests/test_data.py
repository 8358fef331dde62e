"""Local data files, read by parsing: TSV as GLUE writes it and as spreadsheets do, bad files named with the row and
the fix, rows with empty text skipped with a count, and training without validation data or with a held-out share
of the training file."""

import csv
import json
from pathlib import Path

import pytest

from bertcli.data import load_file
from bertcli.textfiles import tsv_quoting
from tests import synthetic
from tests.helpers import assert_one_line_error, finetune_cls_args, jsonl, metrics, run_bertcli, run_cli


def write_tsv_both_ways(tmp_path: Path, rows: list[tuple[str, str]]) -> tuple[Path, Path]:
    """The same rows as GLUE writes TSV (quotes are text, nothing is quoted) and as a spreadsheet program or pandas
    does (a field with a quote, a tab or a line break is quoted, its quotes doubled)."""
    glue = tmp_path / "glue.tsv"
    glue.write_text("sentence\tlabel\n" + "".join(f"{text}\t{label}\n" for text, label in rows), encoding="utf-8")
    quoted = tmp_path / "quoted.tsv"
    with open(quoted, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["sentence", "label"])
        writer.writerows(rows)
    return glue, quoted


def test_tsv_files_read_as_glue_and_as_spreadsheets_write_them(tiny_model, tmp_path):
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
    result = run_bertcli(*finetune_cls_args(tiny_model, out, quoted, glue, max_steps=30))
    assert result.code == 0, result.stderr
    assert metrics(out)["eval_samples"] == 200
    predicted = run_bertcli("predict", "--model", out, "--input-file", quoted, "--text-column", "sentence")
    assert predicted.code == 0, predicted.stderr
    texts = [record["text"] for record in jsonl(predicted.stdout)]
    assert texts[:3] == [text for text, _ in spreadsheet_rows[:3]] and len(texts) == 200


def test_training_without_validation_data_and_with_a_held_out_share(tiny_model, sentiment_data, tmp_path):
    def train(out, *extra):
        return run_bertcli(*finetune_cls_args(tiny_model, out, sentiment_data["train"], None, *extra, epochs=5))

    alone = train(tmp_path / "alone")
    assert alone.code == 0, alone.stderr
    m = metrics(tmp_path / "alone")
    assert "accuracy" not in m and m["train_loss"] < 0.3 and m["best_step"] is None, m  # it learned, unevaluated
    assert not any("eval_" in line for line in (tmp_path / "alone" / "log.jsonl").read_text().splitlines())

    held = train(tmp_path / "held", "--validation-split-percentage", "20")
    assert held.code == 0, held.stderr
    assert "Training: 480 examples" in held.stdout
    m = metrics(tmp_path / "held")
    assert m["eval_samples"] == 120 and m["accuracy"] >= 0.9, m
    again = run_bertcli("evaluate", "--model", tmp_path / "held")  # run.yaml names the same 120 held-out rows
    assert again.code == 0, again.stderr
    assert json.loads(again.stdout)["accuracy"] == m["accuracy"] and json.loads(again.stdout)["eval_samples"] == 120

    refused = train(tmp_path / "best", "--load-best-model-at-end")
    assert_one_line_error(refused, "--load-best-model-at-end needs evaluation data", "--validation-split-percentage")


def _csv(rows: list[str]) -> bytes:
    return ("sentence,label\n" + "".join(r + "\n" for r in rows)).encode()


GOOD_ROWS = [
    f"the film was {'great' if i % 2 else 'awful'} today,{'positive' if i % 2 else 'negative'}" for i in range(40)
]


BAD_FILES = {
    "invalid UTF-8": (
        "train.csv",
        _csv(GOOD_ROWS[:5]).replace(b"great", b"gr\xffeat", 1),
        ["line 3 is not valid UTF-8", "byte 0xff", "save the file as UTF-8"],
    ),
    "ragged CSV": (
        "train.csv",
        _csv(GOOD_ROWS[:6] + ["one,two,three"] + GOOD_ROWS[6:]),
        ["line 8 has 3 fields where the header has 2", "quote fields"],
    ),
    "invalid JSON line": (
        "train.jsonl",
        "".join(
            json.dumps({"sentence": r.split(",")[0], "label": r.split(",")[1]}) + "\n" for r in GOOD_ROWS[:9]
        ).encode()
        + b'{"sentence": "oops", label: 1}\n',
        ["line 10 is not valid JSON", "fix or remove that line"],
    ),
    "empty file": ("train.csv", b"", ["the file is empty"]),
    "header only": ("train.csv", b"sentence,label\n", ["holds a header but no examples"]),
    "mixed label types": (
        "train.jsonl",
        b"".join(
            json.dumps({"sentence": r.split(",")[0], "label": 1 if i == 3 else r.split(",")[1]}).encode() + b"\n"
            for i, r in enumerate(GOOD_ROWS)
        ),
        ["label column mixes types", "1 in row 4 is a number"],
    ),
    "only empty texts": (
        "train.csv",
        _csv([f'"  ",{r.split(",")[1]}' for r in GOOD_ROWS]),
        ["every row has empty sentence"],
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_training_file_is_named_with_its_row_and_fix(case, tmp_path, tiny_model, sentiment_data):
    name, content, fragments = BAD_FILES[case]
    bad = tmp_path / name
    bad.write_bytes(content)
    result = run_bertcli(
        *finetune_cls_args(tiny_model, tmp_path / "out", bad, sentiment_data["validation"], tiny=False)
    )
    assert result.code == 2, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"bertcli: error: {bad}") or str(bad) in message
    for fragment in fragments:
        assert fragment in message
    assert not (tmp_path / "out").exists()


def test_rows_with_empty_text_are_skipped_with_a_count(tmp_path, tiny_model, sentiment_data):
    rows = [f'"   ",{r.split(",")[1]}' if i in (2, 7, 30) else r for i, r in enumerate(GOOD_ROWS)]
    train = tmp_path / "train.csv"
    train.write_bytes(_csv(rows))
    result = run_cli(
        *finetune_cls_args(tiny_model, tmp_path / "out", train, sentiment_data["validation"], tiny=False, max_steps=1)
    )
    assert result.code == 0, result.stderr
    assert "skipped 3 of 40 rows with empty sentence (data rows 3, 8, 31)" in result.stderr
