"""Token classification (`bertcli finetune ner`) end to end through the CLI: training that learns entities (and
plain tags), packed batches that train as padded ones, the output in transformers' pipeline, evaluate and predict,
and malformed files refused. Tags, words and windows are tested on their own beside this file."""

import json
import shutil

import pytest

from tests import synthetic
from tests.helpers import TINY_TRAINING, assert_one_line_error, metrics, read_log, run_bertcli, run_cli, training_args

TRAINING = {**TINY_TRAINING, "batch_size": 16}


# --- end to end --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory, ner_model):
    """A tiny model trained on synthetic BIOES entities from CoNLL files (with -DOCSTART- lines)."""
    root = tmp_path_factory.mktemp("ner")
    train = synthetic.write_conll(root / "train.conll", synthetic.ner(500, seed=1, scheme="BIOES"))
    validation = synthetic.write_conll(root / "dev.conll", synthetic.ner(120, seed=2, scheme="BIOES"))
    out = root / "out"
    result = run_cli(*training_args("finetune ner", ner_model, out, train, validation, **TRAINING, epochs=6))
    assert result.code == 0, result.stderr
    return out, validation


def test_learns_entities(trained):
    out, _ = trained
    scores = metrics(out)
    losses = [json.loads(line)["loss"] for line in (out / "log.jsonl").read_text().splitlines() if '"loss"' in line]
    assert losses[-1] < losses[0] / 3
    assert scores["f1"] > 0.8 and scores["accuracy"] > 0.9
    run = (out / "run.yaml").read_text()
    assert "tag_scheme: entities" in run


def test_packed_batches_train_as_the_same_batches_padded(tmp_path, ner_model):
    """Packing is a layout: without dropout, a packed run's losses are those of the same (unsorted) batches padded."""
    model = tmp_path / "no-dropout"
    shutil.copytree(ner_model, model)
    config = json.loads((model / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (model / "config.json").write_text(json.dumps(config))
    train = synthetic.write_conll(tmp_path / "train.conll", synthetic.ner(96, seed=5))
    losses = {}
    for name, layout in (("packed", []), ("padded", ["--no-pack-sentences", "--no-group-by-length"])):
        out = tmp_path / name
        settings = {**TRAINING, "logging_steps": 1, "epochs": 2, "save_steps": 0, "report": False}
        result = run_cli(*training_args("finetune ner", model, out, train, None, *layout, **settings))
        assert result.code == 0, result.stderr
        losses[name] = [r["loss"] for r in read_log(out) if "loss" in r and "eval_loss" not in r]
    assert len(losses["packed"]) == len(losses["padded"]) > 10  # 2 epochs of batches of 16 (sentences and windows)
    assert losses["packed"] == pytest.approx(losses["padded"], rel=1e-3)
    assert losses["packed"][-1] < losses["packed"][0]


def test_output_loads_in_transformers_pipeline(trained):
    from transformers import AutoModelForTokenClassification, pipeline

    out, _ = trained
    model = AutoModelForTokenClassification.from_pretrained(out)
    assert {"S-LOC", "B-PER", "E-PER", "O"} <= set(model.config.label2id)
    found = pipeline("token-classification", model=str(out), aggregation_strategy="first")("john smith went to paris")
    assert {e["entity_group"] for e in found} <= {"PER", "LOC", "ORG"} and found


def test_evaluate_prints_a_table_per_entity_type(trained):
    out, validation = trained
    result = run_cli("evaluate", "-m", out, "--validation-file", validation)
    assert result.code == 0, result.stderr
    evaluated = json.loads(result.stdout)
    assert set(evaluated["per_class"]) == {"PER", "LOC", "ORG"}
    assert all(v["support"] > 0 and 0 <= v["f1"] <= 1 for v in evaluated["per_class"].values())
    assert evaluated["f1"] == pytest.approx(metrics(out)["f1"])


def test_predict_gives_entities_for_text_and_tags_for_words(trained, tmp_path):
    out, _ = trained
    words = tmp_path / "words.jsonl"
    words.write_text(json.dumps({"tokens": ["the", "film", "with", "john", "smith", "in", "kyoto"]}) + "\n")
    result = run_bertcli("predict", "-m", out, "the film with john smith in  new york", "--output-file", tmp_path / "t")
    assert result.code == 0, result.stderr
    (record,) = [json.loads(line) for line in (tmp_path / "t").read_text().splitlines()]
    text = record["text"]
    assert record["entities"], record
    for entity in record["entities"]:
        assert text[entity["start"] : entity["end"]] == entity["text"] and 0 < entity["score"] <= 1
    assert ("LOC", "new york") in {(e["type"], e["text"]) for e in record["entities"]}
    result = run_bertcli("predict", "-m", out, "--input-file", words)
    assert result.code == 0, result.stderr
    tagged = json.loads(result.stdout)
    assert tagged["tags"][3:5] == ["B-PER", "E-PER"] and tagged["tags"][-1] == "S-LOC"
    assert len(tagged["scores"]) == 7


def test_plain_tags_are_scored_word_by_word(tmp_path, ner_model):
    """Parts of speech from a JSON Lines table: every word's tag, accuracy."""
    kinds = {w: "NOUN" for w in synthetic.FILLER}
    kinds.update({w: "DET" for w in ("the", "a")} | {w: "VERB" for w in ("was", "is", "felt", "seemed")})
    names = {w: "PROPN" for rows in synthetic.ENTITY_WORDS.values() for words in rows for w in words}

    def rows(n, seed):
        return [
            {"words": r["tokens"], "pos": [kinds.get(w) or names[w] for w in r["tokens"]]}
            for r in synthetic.ner(n, seed)
        ]

    train = synthetic.write_jsonl(tmp_path / "train.jsonl", rows(300, 3))
    validation = synthetic.write_jsonl(tmp_path / "dev.jsonl", rows(80, 4))
    out = tmp_path / "pos"
    columns = {"tokens_column": "words", "tags_column": "pos", "label_all_tokens": True}
    result = run_cli(*training_args("finetune ner", ner_model, out, train, validation, **columns, **TRAINING, epochs=3))
    assert result.code == 0, result.stderr
    scores = metrics(out)
    assert "f1" not in scores and scores["accuracy"] > 0.9
    assert "tag_scheme: plain" in (out / "run.yaml").read_text()


@pytest.mark.parametrize(
    "content, message",
    [
        ("john B-PER\nsmith\n", "line 2 has one field ('smith')"),
        ("\n\n", "holds no sentences"),
    ],
)
def test_malformed_conll_files_fail_with_one_line(tmp_path, ner_model, content, message):
    bad = tmp_path / "bad.conll"
    bad.write_text(content)
    out = tmp_path / "out"
    result = run_bertcli("finetune", "ner", "-m", ner_model, "-o", out, "--train-file", bad, "--max-steps", "1")
    assert_one_line_error(result, message)
    assert not out.exists()


def test_tokens_and_tags_of_different_lengths_are_refused(tmp_path, ner_model):
    bad = synthetic.write_jsonl(tmp_path / "bad.jsonl", [{"tokens": ["john", "smith"], "tags": ["B-PER"]}])
    result = run_bertcli("finetune", "ner", "-m", ner_model, "-o", tmp_path / "o", "--train-file", bad)
    assert result.code == 2
    assert "2 tokens but 1 tags" in result.stderr and "Traceback" not in result.stderr
