"""Tags: entities decoded from BIO, BIOES and BMES as conlleval decodes them (and scored as seqeval scores them),
and tag sets told apart."""

import random

import pytest

from bertcli.tasks.token_classification import tags as tagging


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
