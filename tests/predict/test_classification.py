"""`bertcli predict`: task detection, input formats, order, ids, streaming, and bad input."""

import json
import subprocess
import sys

import pytest

from tests.conftest import TINY_TRAINING, assert_one_line_error, run_bertcli, run_cli


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, tiny_model, sentiment_data):
    out = tmp_path_factory.mktemp("predict") / "classifier"
    result = run_cli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        "--train-file",
        sentiment_data["train"],
        "--validation-file",
        sentiment_data["validation"],
        "--text-column",
        "sentence",
        "--epochs",
        "5",
        *TINY_TRAINING,
    )
    assert result.code == 0, result.stderr
    return out


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


MIXED = [  # lengths from 2 to ~40 tokens, so length sorting reorders them
    "the acting was really wonderful",
    "awful",
    "overall it felt quite dull and the music and the cast and the script and the ending and the scenes "
    "and the story seemed very poor",
    "superb",
    "the plot was boring",
    "a lovely film with a great cast",
]
EXPECTED = ["positive", "negative", "negative", "positive", "negative", "positive"]


def test_classifies_texts_in_input_order(classifier):
    result = run_cli("predict", "--model", classifier, *MIXED, "--batch-size", "2")
    assert result.code == 0, result.stderr
    out = lines(result.stdout)
    assert [r["text"] for r in out] == MIXED
    assert [r["label"] for r in out] == EXPECTED
    assert all(0.5 < r["score"] <= 1 for r in out)


def test_length_sorting_does_not_change_any_result(classifier):
    from bertcli.predict.classification import ClassificationPredictor

    records = [{"text": t} for t in MIXED * 5]
    one_by_one = [r for t in records for r in ClassificationPredictor(str(classifier), batch_size=1).predict([t])]
    batched = list(ClassificationPredictor(str(classifier), batch_size=4).predict(records, chunk_size=7))
    assert [r["label"] for r in batched] == [r["label"] for r in one_by_one]
    assert [r["score"] for r in batched] == pytest.approx([r["score"] for r in one_by_one], abs=1e-5)


def test_batches_go_longest_first_padded_to_their_longest_row_with_a_mask_only_where_padded(classifier):
    from bertcli.predict.classification import ClassificationPredictor

    predictor = ClassificationPredictor(str(classifier), batch_size=3)
    lengths = [3, 7, 5, 7, 2, 4, 4, 4]
    ids = [[10 + i] * n for i, n in enumerate(lengths)]
    features = {"input_ids": ids, "token_type_ids": [[1] * n for n in lengths]}
    batches = list(predictor._batches(features))
    order = [i for positions, _ in batches for i in positions]
    assert order == [1, 3, 2, 5, 6, 7, 0, 4]  # longest first, ties in input order, each row once
    pad = predictor.tokenizer.pad_token_id
    for positions, batch in batches:
        width = max(lengths[i] for i in positions)
        assert batch["input_ids"].shape == batch["token_type_ids"].shape == (len(positions), width)
        for row, i in enumerate(positions):
            assert batch["input_ids"][row].tolist() == ids[i] + [pad] * (width - lengths[i])
            assert batch["token_type_ids"][row].tolist() == [1] * lengths[i] + [0] * (width - lengths[i])
        if len({lengths[i] for i in positions}) == 1:
            assert "attention_mask" not in batch
        else:
            assert batch["attention_mask"].sum(axis=1).tolist() == [lengths[i] for i in positions]


def test_agrees_with_transformers_pipeline(classifier):
    from transformers import pipeline

    reference = pipeline("text-classification", model=str(classifier))(MIXED)
    ours = lines(run_cli("predict", "--model", classifier, *MIXED).stdout)
    assert [r["label"] for r in ours] == [r["label"] for r in reference]
    assert [r["score"] for r in ours] == pytest.approx([r["score"] for r in reference], abs=1e-5)


def test_files_of_every_format_carry_ids(classifier, tmp_path):
    rows = [{"id": f"r{i}", "sentence": t} for i, t in enumerate(MIXED)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "in.json").write_text(json.dumps(rows))
    (tmp_path / "in.csv").write_text("id,sentence\n" + "".join(f"{r['id']},{r['sentence']}\n" for r in rows))
    (tmp_path / "in.tsv").write_text("id\tsentence\n" + "".join(f"{r['id']}\t{r['sentence']}\n" for r in rows))
    (tmp_path / "in.txt").write_text("".join(t + "\n" for t in MIXED))
    for name in ("in.jsonl", "in.json", "in.csv", "in.tsv", "in.txt"):
        out = tmp_path / f"{name}.out"
        result = run_cli("predict", "--model", classifier, "--input-file", tmp_path / name, "--output-file", out)
        assert result.code == 0, (name, result.stderr)
        got = lines(out.read_text())
        assert [r["label"] for r in got] == EXPECTED, name
        if name != "in.txt":
            assert [r["id"] for r in got] == [r["id"] for r in rows], name


def test_csv_output(classifier, tmp_path):
    out = tmp_path / "out.csv"
    assert run_cli("predict", "--model", classifier, *MIXED[:2], "--format", "csv", "--output-file", out).code == 0
    header, *rows = out.read_text().splitlines()
    assert header == "text,label,score" and len(rows) == 2 and rows[1].startswith("awful,negative,")


def test_top_k_lists_every_label(classifier):
    out = lines(run_cli("predict", "--model", classifier, "superb", "--top-k", "2").stdout)[0]
    assert [t["label"] for t in out["top_k"]] == ["positive", "negative"]
    assert sum(t["score"] for t in out["top_k"]) == pytest.approx(1.0, abs=1e-5)


def test_stdin_text_lines_and_json_lines(classifier):
    stdin = 'the plot was boring\n{"id": 7, "text": "a lovely film"}\n'
    result = subprocess.run(
        [sys.executable, "-m", "bertcli", "predict", "--model", str(classifier)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = lines(result.stdout)
    assert [r["label"] for r in out] == ["negative", "positive"] and out[1]["id"] == 7


def test_fill_mask_from_a_pre_training_model(tiny_model):
    result = run_cli("predict", "--model", tiny_model, "the film was [MASK] .", "--top-k", "3")
    assert result.code == 0, result.stderr
    out = lines(result.stdout)[0]
    assert len(out["predictions"]) == 1 and len(out["predictions"][0]) == 3
    assert "[MASK]" not in out["filled"]


def test_model_kinds_are_detected(classifier, tiny_model, tmp_path):
    from transformers import BertConfig, BertModel

    from bertcli.tasks import registry

    assert registry.for_model(str(classifier)).name == "cls"
    assert registry.for_model(str(tiny_model)).name == "pretrain"
    BertModel(
        BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    ).save_pretrained(tmp_path / "encoder")
    result = run_cli("predict", "--model", tmp_path / "encoder", "some text")
    assert result.code == 2 and "holds a BertModel" in result.stderr


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


def test_too_long_input_is_truncated_with_a_warning(classifier):
    long_text = " ".join(["wonderful"] * 2000)
    result = run_cli("predict", "--model", classifier, long_text, "--max-seq-length", "64")
    assert result.code == 0, result.stderr
    assert lines(result.stdout)[0]["label"] == "positive"
    assert "1 input(s) longer than 64 tokens were truncated" in result.stderr


def test_streams_in_chunks(classifier):
    """Results come out chunk by chunk: the first is ready before the input is read to the end."""
    from bertcli.predict.classification import ClassificationPredictor

    consumed = []

    def records():
        for i in range(50):
            consumed.append(i)
            yield {"text": MIXED[i % len(MIXED)]}

    stream = ClassificationPredictor(str(classifier), batch_size=4).predict(records(), chunk_size=8)
    first = next(stream)
    assert first["label"] == EXPECTED[0] and len(consumed) <= 9


def test_evaluate_reproduces_training_metrics_and_agrees_with_predict(classifier, sentiment_data, tmp_path):
    import csv

    trained = json.loads((classifier / "metrics.json").read_text())
    again = run_cli("evaluate", "--model", classifier)  # data and columns from the model's run.yaml
    assert again.code == 0, again.stderr
    metrics = json.loads(again.stdout)
    assert metrics["accuracy"] == trained["accuracy"] and metrics["eval_samples"] == 200
    assert metrics["loss"] == pytest.approx(trained["loss"], rel=1e-5)
    matrix = metrics["confusion_matrix"]["matrix"]
    assert metrics["confusion_matrix"]["labels"] == ["negative", "positive"]
    assert sum(map(sum, matrix)) == 200 and (matrix[0][0] + matrix[1][1]) / 200 == metrics["accuracy"]
    assert set(metrics["per_class"]["positive"]) == {"precision", "recall", "f1", "support"}

    predicted = lines(run_cli("predict", "--model", classifier, "--input-file", sentiment_data["validation"]).stdout)
    with open(sentiment_data["validation"]) as f:
        gold = [row["label"] for row in csv.DictReader(f)]
    assert sum(p["label"] == g for p, g in zip(predicted, gold)) / len(gold) == metrics["accuracy"]


def test_evaluate_on_another_file(classifier, tmp_path):
    from tests import synthetic

    rows = synthetic.sentiment(50, seed=9)
    path = synthetic.write_csv(tmp_path / "other.csv", rows, ["sentence", "label"])
    out = tmp_path / "metrics.json"
    result = run_cli("evaluate", "--model", classifier, "--validation-file", path, "--output-file", out)
    assert result.code == 0, result.stderr
    assert json.loads(out.read_text())["eval_samples"] == 50


def test_evaluate_rejects_labels_the_model_does_not_know(classifier, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("sentence,label\ngreat film,neutral\nbad film,negative\n")
    result = run_cli("evaluate", "--model", classifier, "--validation-file", path)
    assert result.code == 2 and "'neutral' is not among the labels negative, positive" in result.stderr
