"""Question answering: windows and offsets, span post-processing, SQuAD files, and end-to-end training through the
CLI (SQuAD's metrics: tests/test_metrics.py)."""

import json

import numpy as np
import pytest
import yaml

from bertcli.tasks.question_answering.squad import (
    SpanSettings,
    Windowing,
    best_spans,
    make_features,
    mismatched_answers,
    normalize_answers,
    read_squad_json,
)
from tests import synthetic
from tests.helpers import run_cli, training_args


# --- windows and offsets -----------------------------------------------------------------------------------
def round_trip(tokenizer, rows, windowing):
    features = make_features(
        tokenizer, [r["question"] for r in rows], [r["context"] for r in rows], windowing, [r["answers"] for r in rows]
    )
    found = {}
    for i, (start, end) in enumerate(zip(features["start_positions"], features["end_positions"])):
        row = rows[features["example_index"][i]]
        offsets = features["offset_mapping"][i]
        assert len(features["input_ids"][i]) <= windowing.max_length
        if start == 0:
            assert end == 0
            continue
        assert start <= end
        found.setdefault(row["id"], []).append(row["context"][offsets[start][0] : offsets[end][1]])
    return features, found


def test_answers_round_trip_exactly_through_windows_and_offsets(tiny_tokenizer):
    rows = synthetic.qa(40, seed=7)
    _, found = round_trip(tiny_tokenizer, rows, Windowing(max_length=64, doc_stride=16, max_query_length=16))
    assert set(found) == {r["id"] for r in rows}  # every answer lands in at least one window
    for row in rows:
        assert set(found[row["id"]]) == {row["answers"]["text"][0]}


def test_long_unicode_contexts_split_into_overlapping_windows(tiny_tokenizer):
    filler = "the café in zürich served crème brûlée to naïve visitors from são paulo . " * 30
    context = filler + "the answer is señor müller 東京 . " + filler
    start = context.index("señor müller 東京")
    row = {
        "id": "u1",
        "question": "who is it ?",
        "context": context,
        "answers": {"text": ["señor müller 東京"], "answer_start": [start]},
    }
    windowing = Windowing(max_length=96, doc_stride=32, max_query_length=16)
    features, found = round_trip(tiny_tokenizer, [row], windowing)
    assert len(features["input_ids"]) >= 5
    assert set(found["u1"]) == {"señor müller 東京"}
    # consecutive windows overlap by doc_stride context tokens
    first, second = features["offset_mapping"][0], features["offset_mapping"][1]
    first_ctx = [tuple(o) for o in first if o[0] >= 0]
    second_ctx = [tuple(o) for o in second if o[0] >= 0]
    assert first_ctx[-32:] == second_ctx[:32]


def test_questions_are_cut_to_max_query_length(tiny_tokenizer):
    question = " ".join(["where"] * 100) + " ?"
    features = make_features(tiny_tokenizer, [question], ["paris is nice ."], Windowing(64, 8, 10))
    assert features["token_type_ids"][0].count(0) == 10 + 2  # [CLS] + 10 question tokens + [SEP]


def test_mismatched_answer_starts_are_found():
    answers = [
        normalize_answers({"text": ["paris"], "answer_start": [0]}),
        normalize_answers('{"text": ["oslo"], "answer_start": [2]}'),
    ]
    assert mismatched_answers(["a", "b"], ["paris x", "in oslo"], answers) == ["b"]


# --- post-processing on hand-built logits ----------------------------------------------------------------
CONTEXT = "w0 w1 w2 w3 w4 w5"  # token k of the context covers characters 3k .. 3k+2


def one_window(start, end, settings=None, width=8):
    """One feature: [CLS] q [SEP] w0..w5 -> context tokens at positions 2..7."""
    settings = settings or SpanSettings()
    offsets = np.full((1, width, 2), -1)
    for k in range(6):
        offsets[0, 2 + k] = (3 * k, 3 * k + 2)
    logits = np.array([start], dtype=float), np.array([end], dtype=float)
    return best_spans(*logits, offsets, np.array([0]), [CONTEXT], settings)[0]


def test_best_span_is_the_highest_valid_sum():
    start = [0, 0, -5, -5, 5, -5, -5, -5]  # best start at w2 (position 4)
    end = [0, 0, 0, 9, 0, 0, 4, 0]  # best end at w1 (position 3) is before it: w2..w1 is no span
    result = one_window(start, end)
    assert (result["answer"], result["start"], result["end"]) == ("w2 w3 w4", 6, 14)  # start w2 + end w4 = 9


def test_max_answer_length_is_respected():
    start = [0, 0, 9, 0, 0, 0, 0, 0]
    end = [0, 0, 0, 0, 0, 0, 0, 9]
    assert one_window(start, end)["answer"] == "w0 w1 w2 w3 w4 w5"
    short = one_window(start, end, SpanSettings(max_answer_length=2))
    assert len(short["answer"].split()) <= 2


def test_tokens_outside_the_context_are_never_answers():
    start = [50, 50, 0, 0, 0, 0, 0, 1]  # [CLS] and the question score highest
    end = [50, 50, 0, 0, 0, 0, 0, 1]
    assert one_window(start, end)["answer"] == "w5"


def test_version_2_prefers_null_when_its_score_wins():
    start = [6, 0, 0, 2, 0, 0, 0, 0]
    end = [6, 0, 0, 2, 0, 0, 0, 0]  # null 12 > best span 4
    v2 = one_window(start, end, SpanSettings(version_2=True))
    assert v2["answer"] == "" and v2["best"] == "w1" and v2["score_diff"] == pytest.approx(8.0)
    lenient = one_window(start, end, SpanSettings(version_2=True, null_score_diff_threshold=10.0))
    assert lenient["answer"] == "w1"
    assert one_window(start, end)["answer"] == "w1"  # v1 never answers null


def test_best_span_across_windows_and_examples():
    width = 6
    offsets = np.full((3, width, 2), -1)
    offsets[:, 2:5] = [(0, 2), (3, 5), (6, 8)]  # three windows: two of example 0, one of example 1
    start = np.zeros((3, width))
    end = np.zeros((3, width))
    start[0, 2], end[0, 2] = 1, 1  # example 0, window 0: "aa" scores 2
    start[1, 3], end[1, 4] = 3, 3  # example 0, window 1: "bb cc" scores 6
    start[2, 4], end[2, 4] = 2, 2  # example 1: "zz"
    results = best_spans(start, end, offsets, np.array([0, 0, 1]), ["aa bb cc", "xx yy zz"], SpanSettings(n_best=3))
    assert [r["answer"] for r in results] == ["bb cc", "zz"]
    assert sum(c["probability"] for c in results[0]["n_best"]) == pytest.approx(1.0)


# --- data and the whole command ----------------------------------------------------------------------------
def test_nested_squad_json_is_flattened(tmp_path):
    rows = synthetic.qa(3, seed=1)
    records = read_squad_json(synthetic.write_squad_json(tmp_path / "s.json", rows))
    assert [r["id"] for r in records] == [r["id"] for r in rows]
    assert records[0]["answers"] == rows[0]["answers"]


@pytest.fixture(scope="module")
def qa_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("qa")
    rows = synthetic.qa(900, seed=1)
    corpus = root / "corpus.txt"
    corpus.write_text("".join(r["question"] + "\n" + r["context"] + "\n" for r in rows))
    model = root / "tiny"
    assert run_cli("init-model", model, "--size", "tiny", "--corpus", corpus, "--vocab-size", 500).code == 0
    return {
        "train": synthetic.write_jsonl(root / "train.jsonl", rows[:700]),
        "validation": synthetic.write_squad_json(root / "dev.json", rows[700:]),
        "model": model,
    }


QA_TRAINING = {
    "max_seq_length": 64,
    "doc_stride": 16,
    "max_query_length": 16,
    "batch_size": 32,
    "lr": "1e-3",
    "warmup_ratio": 0.1,
    "logging_steps": 50,
    "save_steps": 0,
}


def finetune_squad(data, out, *extra):
    return run_cli(
        *training_args("finetune squad", data["model"], out, data["train"], data["validation"], *extra, **QA_TRAINING)
    )


def test_exact_match_rises_well_above_the_untrained_model(qa_data, tmp_path):
    untrained = finetune_squad(qa_data, tmp_path / "untrained", "--max-steps", "1", "--lr", "1e-9")
    assert untrained.code == 0, untrained.stderr
    trained = finetune_squad(qa_data, tmp_path / "trained", "--epochs", "3", "--eval-steps", "1000")
    assert trained.code == 0, trained.stderr
    before, after = untrained.metrics(tmp_path / "untrained"), trained.metrics(tmp_path / "trained")
    assert before["exact_match"] < 20 and after["exact_match"] > 80, (before, after)
    assert after["f1"] >= after["exact_match"]

    out = tmp_path / "trained"
    predictions = json.loads((out / "predictions.json").read_text())
    n_best = json.loads((out / "nbest_predictions.json").read_text())
    assert len(predictions) == len(n_best) == 200
    some_id = next(iter(predictions))
    assert n_best[some_id][0]["text"] == predictions[some_id]
    from transformers import AutoModelForQuestionAnswering

    assert AutoModelForQuestionAnswering.from_pretrained(out).config.architectures == ["BertForQuestionAnswering"]
    context = "the film was shot in winter . anna lives in lima . it was ."
    result = run_cli("predict", "--model", out, "--question", "where does anna live ?", "--context", context)
    assert result.code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answer"] == "lima" and context[answer["start"] : answer["end"]] == "lima"

    # predict agrees with the evaluation inside training on the validation questions
    dev = json.loads(qa_data["validation"].read_text())["data"][0]["paragraphs"]
    rows = [{"id": p["qas"][0]["id"], "question": p["qas"][0]["question"], "context": p["context"]} for p in dev]
    (tmp_path / "dev.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_cli("predict", "--model", out, "--input-file", tmp_path / "dev.jsonl")
    assert result.code == 0, result.stderr
    assert {r["id"]: r["answer"] for r in map(json.loads, result.stdout.splitlines())} == predictions


def test_version_2_learns_when_there_is_no_answer(tmp_path, qa_data):
    rows = synthetic.qa(900, seed=2, unanswerable=0.5)
    data = {
        **qa_data,
        "train": synthetic.write_jsonl(tmp_path / "train.jsonl", rows[:700]),
        "validation": synthetic.write_squad_json(tmp_path / "dev.json", rows[700:], version="v2.0"),
    }
    result = finetune_squad(data, tmp_path / "v2", "--version-2", "--epochs", "3", "--eval-steps", "1000")
    assert result.code == 0, result.stderr
    metrics = result.metrics(tmp_path / "v2")
    assert metrics["NoAns_f1"] > 80 and metrics["HasAns_f1"] > 60, metrics
    assert {"best_f1", "best_f1_thresh"} <= set(metrics)
    odds = json.loads((tmp_path / "v2" / "null_odds.json").read_text())
    assert len(odds) == 200

    # the threshold found gives the score found: evaluate at it
    run = yaml.safe_load((tmp_path / "v2" / "run.yaml").read_text())
    run["options"]["null_score_diff_threshold"] = metrics["best_f1_thresh"]
    (tmp_path / "at-best.yaml").write_text(yaml.safe_dump(run))
    again = run_cli("evaluate", "--model", tmp_path / "v2", "--config", tmp_path / "at-best.yaml")
    assert again.code == 0, again.stderr
    assert json.loads(again.stdout)["f1"] == pytest.approx(metrics["best_f1"])


def test_mismatched_answers_are_reported_and_skipped(qa_data, tmp_path):
    rows = synthetic.qa(60, seed=3)
    rows[0]["answers"]["answer_start"] = [rows[0]["answers"]["answer_start"][0] + 1]
    data = {**qa_data, "train": synthetic.write_jsonl(tmp_path / "train.jsonl", rows)}
    result = finetune_squad(data, tmp_path / "out", "--max-steps", "1", "--max-eval-samples", "10")
    assert result.code == 0, result.stderr
    assert "1 training answers are not at their answer_start" in result.stderr and rows[0]["id"] in result.stderr


def test_no_usable_answer_is_an_error_and_empty_questions_are_skipped(qa_data, tmp_path):
    rows = synthetic.qa(12, seed=5)
    for row in rows:
        row["answers"]["answer_start"] = [row["answers"]["answer_start"][0] + 1]
    data = {**qa_data, "train": synthetic.write_jsonl(tmp_path / "off.jsonl", rows)}
    result = finetune_squad(data, tmp_path / "out", "--max-steps", "1")
    assert result.code == 2 and "no training answer is at its answer_start" in result.stderr
    assert not (tmp_path / "out").exists()

    rows = synthetic.qa(30, seed=6)
    rows[4]["question"] = "   "
    data = {**qa_data, "train": synthetic.write_jsonl(tmp_path / "blank.jsonl", rows)}
    result = finetune_squad(data, tmp_path / "out2", "--max-steps", "1", "--max-eval-samples", "10")
    assert result.code == 0, result.stderr
    assert "skipped 1 of 30 rows with empty question / context (data rows 5)" in result.stderr


def test_v1_data_without_answers_needs_version_2(qa_data, tmp_path):
    rows = synthetic.qa(20, seed=4, unanswerable=0.5)
    data = {**qa_data, "train": synthetic.write_jsonl(tmp_path / "train.jsonl", rows)}
    result = finetune_squad(data, tmp_path / "out", "--max-steps", "1")
    assert result.code == 2 and "pass --version-2" in result.stderr
