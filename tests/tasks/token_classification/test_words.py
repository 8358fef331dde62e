"""Words and word pieces: labels on first pieces or every piece, long sentences cut into windows between words, and
raw text's words with their character offsets."""

import random

import pytest

from bertcli.tasks.token_classification.task import piece_labels
from bertcli.tasks.token_classification.words import WordEncoder


@pytest.fixture(scope="module")
def encoder(ner_model):
    from transformers import AutoTokenizer

    return WordEncoder(AutoTokenizer.from_pretrained(ner_model).backend_tokenizer, max_length=16)


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
