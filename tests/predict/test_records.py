"""`predict`'s records in and out: every input format (files, stdin) with ids and the input's other columns kept,
JSON Lines or CSV out, and bad input (a file that is not UTF-8, empty, without the column, malformed) a one-line
error."""

import csv
import json

import pytest

from tests import synthetic
from tests.helpers import assert_one_line_error, jsonl, run_bertcli, run_cli


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
    result = run_bertcli("predict", "--model", classifier, stdin="caf\xe9\n".encode("latin-1"))
    assert result.code == 2 and result.stderr.startswith("bertcli: error: stdin is not valid UTF-8")


def test_predict_csv_output_when_a_later_record_has_an_id(classifier, tmp_path):
    inputs = synthetic.write_jsonl(tmp_path / "in.jsonl", [{"text": "a great film"}, {"text": "dull", "id": "r2"}])
    out = tmp_path / "out.csv"
    result = run_bertcli(
        "predict", "--model", classifier, "--input-file", inputs, "--format", "csv", "--output-file", out
    )
    assert result.code == 0, result.stderr
    rows = list(csv.DictReader(out.open()))
    assert [r["text"] for r in rows] == ["a great film", "dull"] and [r["id"] for r in rows] == ["", "r2"]
    assert all(r["label"] in ("positive", "negative") for r in rows)
    to_stdout = run_bertcli("predict", "--model", classifier, "--input-file", inputs, "--format", "csv")
    assert_one_line_error(to_stdout, "output record 2 has column(s) id", "--format jsonl")


def test_predict_keeps_the_inputs_other_columns(classifier, tmp_path):
    inputs = tmp_path / "in.csv"
    inputs.write_text("id,sentence,label,source\nr1,a great film,positive,web\nr2,dull and awful,negative,mail\n")
    kept = run_bertcli("predict", "--model", classifier, "--input-file", inputs, "--text-column", "sentence")
    assert kept.code == 0, kept.stderr
    rows = jsonl(kept.stdout)
    assert [(r["id"], r["text"], r["input_label"], r["source"]) for r in rows] == [
        ("r1", "a great film", "positive", "web"),
        ("r2", "dull and awful", "negative", "mail"),
    ]
    assert all(r["label"] in ("positive", "negative") and 0 < r["score"] <= 1 for r in rows)  # the prediction's own
    bare = run_bertcli(
        "predict",
        "--model",
        classifier,
        "--input-file",
        inputs,
        "--text-column",
        "sentence",
        "--no-keep-columns",
    )
    assert [sorted(json.loads(line)) for line in bare.stdout.splitlines()] == [["id", "label", "score", "text"]] * 2


def test_files_of_every_format_carry_ids(classifier, tmp_path):
    rows = [{"id": f"r{i}", "sentence": t} for i, t in enumerate(synthetic.MIXED)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "in.json").write_text(json.dumps(rows))
    (tmp_path / "in.csv").write_text("id,sentence\n" + "".join(f"{r['id']},{r['sentence']}\n" for r in rows))
    (tmp_path / "in.tsv").write_text("id\tsentence\n" + "".join(f"{r['id']}\t{r['sentence']}\n" for r in rows))
    (tmp_path / "in.txt").write_text("".join(t + "\n" for t in synthetic.MIXED))
    for name in ("in.jsonl", "in.json", "in.csv", "in.tsv", "in.txt"):
        out = tmp_path / f"{name}.out"
        result = run_cli("predict", "--model", classifier, "--input-file", tmp_path / name, "--output-file", out)
        assert result.code == 0, (name, result.stderr)
        got = jsonl(out.read_text())
        assert [r["label"] for r in got] == synthetic.MIXED_LABELS, name
        if name != "in.txt":
            assert [r["id"] for r in got] == [r["id"] for r in rows], name


def test_csv_output(classifier, tmp_path):
    out = tmp_path / "out.csv"
    assert (
        run_cli("predict", "--model", classifier, *synthetic.MIXED[:2], "--format", "csv", "--output-file", out).code
        == 0
    )
    header, *rows = out.read_text().splitlines()
    assert header == "text,label,score" and len(rows) == 2 and rows[1].startswith("awful,negative,")


def test_stdin_text_lines_and_json_lines(classifier):
    stdin = 'the plot was boring\n{"id": 7, "text": "a lovely film"}\n'
    result = run_bertcli("predict", "--model", classifier, stdin=stdin, timeout=120)
    assert result.code == 0, result.stderr
    out = jsonl(result.stdout)
    assert [r["label"] for r in out] == ["negative", "positive"] and out[1]["id"] == 7


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", "", "is empty"),
        ("header.csv", "id,sentence\n", "has a header but no rows"),
        ("cols.csv", "id,body\n1,great\n", "no column 'sentence'"),
        ("bad.jsonl", '{"sentence": "fine"}\n{"sentence": oops}\n', "line 2: invalid JSON"),
        ("blank.txt", "\n\n", "holds no text"),
    ],
)
def test_bad_input_files(classifier, tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    result = run_bertcli("predict", "--model", classifier, "--input-file", tmp_path / name)
    assert_one_line_error(result, message)
