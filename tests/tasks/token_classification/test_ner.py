"""Token classification (`bertcli finetune ner`): entity decoding as conlleval, label alignment on word pieces,
windows, character offsets of predicted entities, and training that learns, end to end through the CLI."""

import json
import random
import shutil

import pytest

from bertcli.tasks.token_classification import tags as tagging
from bertcli.tasks.token_classification.task import piece_labels
from bertcli.tasks.token_classification.words import WordEncoder
from tests import synthetic
from tests.conftest import assert_one_line_error, run_bertcli, run_cli

TRAINING = ["--lr", "1e-3", "--batch-size", "16", "--logging-steps", "5", "--max-seq-length", "32"]


@pytest.fixture(scope="module")
def ner_model(tmp_path_factory):
    """A tiny random BERT whose small vocabulary splits most names into several pieces."""
    root = tmp_path_factory.mktemp("ner-model")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(" ".join(row["tokens"]) for row in synthetic.ner(400, seed=9)) + "\n")
    result = run_cli("init-model", root / "tiny", "--size", "tiny", "--corpus", corpus, "--vocab-size", 120)
    assert result.code == 0, result.stderr
    return root / "tiny"


@pytest.fixture(scope="module")
def encoder(ner_model):
    from transformers import AutoTokenizer

    return WordEncoder(AutoTokenizer.from_pretrained(ner_model).backend_tokenizer, max_length=16)


# --- entities from tags -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "tags, expected",
    [
        (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 2), ("LOC", 3, 4)]),
        (["S-LOC", "B-ORG", "I-ORG", "E-ORG", "O"], [("LOC", 0, 1), ("ORG", 1, 4)]),
        (["B-PER", "M-PER", "E-PER", "S-LOC"], [("PER", 0, 3), ("LOC", 3, 4)]),  # MSRA's BMES
        (["I-PER", "I-PER", "O"], [("PER", 0, 2)]),  # an I- with no B- starts an entity
        (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 1), ("LOC", 1, 3)]),  # a type change ends one, starts another
        (["B-PER", "B-PER"], [("PER", 0, 1), ("PER", 1, 2)]),
        (["E-PER", "E-PER"], [("PER", 0, 1), ("PER", 1, 2)]),  # an E- after O or E- starts (and ends) one
        (["O", "I-LOC", "E-LOC", "I-LOC"], [("LOC", 1, 3), ("LOC", 3, 4)]),
        (["B-creative-work", "I-creative-work"], [("creative-work", 0, 2)]),  # WNUT's hyphenated types
        (["O", "O"], []),
    ],
)
def test_entities_are_decoded_as_conlleval_decodes_them(tags, expected):
    assert [tuple(e) for e in tagging.entities(tags)] == expected


def test_entities_and_scores_match_seqeval_on_random_malformed_sequences():
    seqeval = pytest.importorskip("seqeval.metrics")
    from seqeval.metrics.sequence_labeling import get_entities

    rng = random.Random(0)
    alphabet = ["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC"]
    gold = [[rng.choice(alphabet) for _ in range(rng.randint(1, 12))] for _ in range(3000)]
    guess = [[t if rng.random() < 0.7 else rng.choice(alphabet) for t in row] for row in gold]
    for row in gold[:500]:
        theirs = sorted((kind, start, end + 1) for kind, start, end in get_entities(row))
        assert sorted(tuple(e) for e in tagging.entities(row)) == theirs, row
    ours, _ = tagging.entity_scores(gold, guess)
    assert ours["precision"] == pytest.approx(seqeval.precision_score(gold, guess))
    assert ours["recall"] == pytest.approx(seqeval.recall_score(gold, guess))
    assert ours["f1"] == pytest.approx(seqeval.f1_score(gold, guess))
    assert ours["accuracy"] == pytest.approx(seqeval.accuracy_score(gold, guess))


def test_tag_sets_tell_entities_from_plain_tags():
    assert tagging.is_entity_tag_set(["O", "B-PER", "I-PER", "E-LOC", "S-LOC", "M-ORG"])
    assert not tagging.is_entity_tag_set(["NN", "VBD", "DT", "O"])  # parts of speech
    assert tagging.scheme_name(["O", "B-PER", "I-PER"]) == "BIO"
    assert tagging.scheme_name(["O", "B-PER", "E-PER"]) == "BIOES"
    assert tagging.sorted_tags(["I-PER", "B-LOC", "O", "B-PER"]) == ["O", "B-LOC", "B-PER", "I-PER"]
    assert tagging.inside_tag("B-PER", {"B-PER", "I-PER"}) == "I-PER"
    assert tagging.inside_tag("B-PER", {"B-PER", "M-PER"}) == "M-PER"  # BMES
    assert tagging.inside_tag("S-PER", {"S-PER", "I-PER"}) == "S-PER"


# --- word pieces and windows --------------------------------------------------------------------------------
def test_labels_sit_on_first_pieces_or_on_every_piece(encoder):
    words = ["kyoto", "initech", "the", "rio"]
    pieces = encoder.split_words([words])[0]
    assert any(len(p) > 1 for p in pieces)  # the small vocabulary splits names into pieces
    (window,) = encoder.windows(pieces)
    names = ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    inside = [0, 2, 2, 4, 4]
    word_labels = [1, 3, 0, 1]  # B-LOC B-ORG O B-LOC
    first = piece_labels(window, word_labels, inside, all_pieces=False)
    every = piece_labels(window, word_labels, inside, all_pieces=True)
    assert first[0] == first[-1] == every[0] == every[-1] == -100  # [CLS] and [SEP]
    position = 1
    for word, n in enumerate(len(p) for p in pieces):
        assert first[position] == word_labels[word]
        assert first[position + 1 : position + n] == [-100] * (n - 1)
        assert every[position + 1 : position + n] == [inside[word_labels[word]]] * (n - 1)  # B-X -> I-X
        position += n
    assert [names[i] for i in every if i != -100].count("I-ORG") == len(pieces[1]) - 1


def test_long_sentences_are_cut_into_windows_between_words(encoder):
    words = [random.Random(i).choice(["kyoto", "initech", "the", "film", "rio", "de", "janeiro"]) for i in range(60)]
    pieces = encoder.split_words([words])[0]
    windows = encoder.windows(pieces)
    assert len(windows) > 3
    seen = []
    for window in windows:
        assert len(window.input_ids) <= 16
        inner = window.word_ids[1:-1]
        seen += sorted(set(inner))
        for word in set(inner):  # a word's pieces are all in this window, in order
            assert [window.input_ids[1 + i] for i, w in enumerate(inner) if w == word] == pieces[word]
    assert seen == list(range(len(words)))  # every word in exactly one window, in order


def test_raw_text_words_carry_character_offsets_through_spaces_accents_and_cjk(encoder):
    text = "  Kyoto   initech\tRIO  北京欢迎你 !"
    pieces, spans = encoder.text_words([text])[0]
    assert len(pieces) == len(spans)
    assert [text[s:e] for s, e in spans] == ["Kyoto", "initech", "RIO", "北", "京", "欢", "迎", "你", "!"]


def test_predicted_entities_span_their_words_characters():
    from bertcli.predict.token_classification import TokenClassificationPredictor

    text = "Dr.  Li  Wei 访问 北京 ."
    spans = [(0, 2), (2, 3), (5, 7), (9, 12), (13, 14), (14, 15), (16, 17), (17, 18), (19, 20)]
    tags = ["O", "O", "B-PER", "I-PER", "O", "O", "B-LOC", "E-LOC", "O"]
    predictor = TokenClassificationPredictor.__new__(TokenClassificationPredictor)
    predictor.entities = True
    found = predictor._from_text(text, spans, [(t, 0.5) for t in tags])["entities"]
    assert [(e["type"], e["text"]) for e in found] == [("PER", "Li  Wei"), ("LOC", "北京")]
    assert all(text[e["start"] : e["end"]] == e["text"] for e in found)


# --- end to end --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory, ner_model):
    """A tiny model trained on synthetic BIOES entities from CoNLL files (with -DOCSTART- lines)."""
    root = tmp_path_factory.mktemp("ner")
    train = synthetic.write_conll(root / "train.conll", synthetic.ner(500, seed=1, scheme="BIOES"))
    validation = synthetic.write_conll(root / "dev.conll", synthetic.ner(120, seed=2, scheme="BIOES"))
    out = root / "out"
    args = ["finetune", "ner", "-m", ner_model, "-o", out, "--train-file", train, "--validation-file", validation]
    result = run_cli(*args, *TRAINING, "--epochs", "6")
    assert result.code == 0, result.stderr
    return out, validation


def test_learns_entities(trained):
    out, _ = trained
    metrics = json.loads((out / "metrics.json").read_text())
    losses = [json.loads(line)["loss"] for line in (out / "log.jsonl").read_text().splitlines() if '"loss"' in line]
    assert losses[-1] < losses[0] / 3
    assert metrics["f1"] > 0.8 and metrics["accuracy"] > 0.9
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
        args = ["finetune", "ner", "-m", model, "-o", out, "--train-file", train, *TRAINING, "--logging-steps", "1"]
        result = run_cli(*args, "--epochs", "2", "--save-steps", "0", "--no-report", *layout)
        assert result.code == 0, result.stderr
        log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
        losses[name] = [r["loss"] for r in log if "loss" in r and "eval_loss" not in r]
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
    metrics = json.loads(result.stdout)
    assert set(metrics["per_class"]) == {"PER", "LOC", "ORG"}
    assert all(v["support"] > 0 and 0 <= v["f1"] <= 1 for v in metrics["per_class"].values())
    saved = json.loads((out / "metrics.json").read_text())
    assert metrics["f1"] == pytest.approx(saved["f1"])


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
    result = run_cli(
        "finetune",
        "ner",
        "-m",
        ner_model,
        "-o",
        out,
        "--train-file",
        train,
        "--validation-file",
        validation,
        "--tokens-column",
        "words",
        "--tags-column",
        "pos",
        "--label-all-tokens",
        *TRAINING,
        "--epochs",
        "3",
    )
    assert result.code == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert "f1" not in metrics and metrics["accuracy"] > 0.9
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
