"""`bertcli predict` of a classifier: results in input order whatever the batching, the batches themselves, agreement
with transformers' pipeline, top-k, truncation and streaming. Input and output formats: test_records.py."""

import pytest

from tests import synthetic
from tests.helpers import jsonl, run_cli


def test_classifies_texts_in_input_order(classifier):
    result = run_cli("predict", "--model", classifier, *synthetic.MIXED, "--batch-size", "2")
    assert result.code == 0, result.stderr
    out = jsonl(result.stdout)
    assert [r["text"] for r in out] == synthetic.MIXED
    assert [r["label"] for r in out] == synthetic.MIXED_LABELS
    assert all(0.5 < r["score"] <= 1 for r in out)


def test_length_sorting_does_not_change_any_result(classifier):
    from bertcli.predict.classification import ClassificationPredictor

    records = [{"text": t} for t in synthetic.MIXED * 5]
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

    reference = pipeline("text-classification", model=str(classifier))(synthetic.MIXED)
    ours = jsonl(run_cli("predict", "--model", classifier, *synthetic.MIXED).stdout)
    assert [r["label"] for r in ours] == [r["label"] for r in reference]
    assert [r["score"] for r in ours] == pytest.approx([r["score"] for r in reference], abs=1e-5)


def test_top_k_lists_every_label(classifier):
    out = jsonl(run_cli("predict", "--model", classifier, "superb", "--top-k", "2").stdout)[0]
    assert [t["label"] for t in out["top_k"]] == ["positive", "negative"]
    assert sum(t["score"] for t in out["top_k"]) == pytest.approx(1.0, abs=1e-5)


def test_too_long_input_is_truncated_with_a_warning(classifier):
    long_text = " ".join(["wonderful"] * 2000)
    result = run_cli("predict", "--model", classifier, long_text, "--max-seq-length", "64")
    assert result.code == 0, result.stderr
    assert jsonl(result.stdout)[0]["label"] == "positive"
    assert "1 input(s) longer than 64 tokens were truncated" in result.stderr


def test_streams_in_chunks(classifier):
    """Results come out chunk by chunk: the first is ready before the input is read to the end."""
    from bertcli.predict.classification import ClassificationPredictor

    consumed = []

    def records():
        for i in range(50):
            consumed.append(i)
            yield {"text": synthetic.MIXED[i % len(synthetic.MIXED)]}

    stream = ClassificationPredictor(str(classifier), batch_size=4).predict(records(), chunk_size=8)
    first = next(stream)
    assert first["label"] == synthetic.MIXED_LABELS[0] and len(consumed) <= 9
