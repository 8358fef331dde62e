"""Pre-training instances: BERT's [CLS] A [SEP] B [SEP] pairs built from tokenized documents (documents.py).

Instances follow the BERT paper and Google's create_pretraining_data.py: segment A is a run of whole
sentences, B is the true continuation (IsNext) half the time and a span of a random other document
(NotNext) otherwise; segments fill `max_seq_length` tokens, except that with probability `short_seq_prob`
a shorter target is drawn; the longer segment is trimmed when the pair is too long. Without NSP, documents
are cut into full-length single segments within each document, or (RoBERTa's FULL-SENTENCES) whole sentences are
packed into full-length segments that run on from one document into the next.
"""

from __future__ import annotations

import random
from typing import Iterator

IS_NEXT, NOT_NEXT = 0, 1  # BertForPreTraining's next_sentence_label: 0 = B continues A


def _truncate_pair(a: list[int], b: list[int], max_tokens: int, rng: random.Random) -> None:
    """Trim the longer segment, a token at a time from its front or back at random, until the pair fits."""
    while len(a) + len(b) > max_tokens:
        longer = a if len(a) > len(b) else b
        del longer[0 if rng.random() < 0.5 else -1]


def nsp_instances(
    document: list[list[int]],
    doc_index: int,
    n_documents: int,
    other_document,
    max_seq_length: int,
    short_seq_prob: float,
    rng: random.Random,
) -> Iterator[tuple[list[int], list[int], int]]:
    """(segment A, segment B, next_sentence_label) from one tokenized document (a list of sentences).

    `other_document(j)` returns document j's sentences; NotNext segments come from a document != doc_index.
    """
    max_tokens = max_seq_length - 3  # [CLS] A [SEP] B [SEP]
    target = rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens
    chunk: list[list[int]] = []
    length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        length += len(document[i])
        if i == len(document) - 1 or length >= target:
            if chunk and length >= 2:
                a_end = rng.randint(1, len(chunk) - 1) if len(chunk) > 1 else 1
                tokens_a = [t for sentence in chunk[:a_end] for t in sentence]
                if n_documents > 1 and rng.random() < 0.5:
                    label, tokens_b = NOT_NEXT, []
                    j = rng.randrange(n_documents - 1)
                    j += j >= doc_index  # any document but this one
                    other = other_document(j)
                    for sentence in other[rng.randrange(len(other)) :]:
                        tokens_b.extend(sentence)
                        if len(tokens_b) >= target - len(tokens_a):
                            break
                    i -= len(chunk) - a_end  # the sentences not used as A are used again
                else:
                    label = IS_NEXT
                    tokens_b = [t for sentence in chunk[a_end:] for t in sentence]
                    if not tokens_b:  # a single sentence: its second part is its continuation
                        cut = rng.randint(1, len(tokens_a) - 1)
                        tokens_a, tokens_b = tokens_a[:cut], tokens_a[cut:]
                _truncate_pair(tokens_a, tokens_b, max_tokens, rng)
                if tokens_a and tokens_b:
                    yield tokens_a, tokens_b, label
            chunk, length = [], 0
            target = rng.randint(2, max_tokens) if rng.random() < short_seq_prob else max_tokens
        i += 1


def packed_segments(document: list[list[int]], max_seq_length: int, min_tokens: int = 8) -> Iterator[list[int]]:
    """Without NSP: the document's tokens cut into full-length single segments ([CLS] X [SEP])."""
    tokens = [t for sentence in document for t in sentence]
    size = max_seq_length - 2
    for start in range(0, len(tokens), size):
        piece = tokens[start : start + size]
        if len(piece) >= min_tokens or start == 0:
            yield piece


def packed_across_documents(
    documents: list[list[list[int]]], max_seq_length: int, separator: int
) -> Iterator[list[int]]:
    """RoBERTa's FULL-SENTENCES: whole sentences, in order, packed into segments of up to `max_seq_length` tokens
    ([CLS] X [SEP]) that run on from one document into the next, `separator` between two documents; a sentence
    longer than a segment is cut."""
    size = max_seq_length - 2
    piece: list[int] = []
    for d, document in enumerate(documents):
        for i, sentence in enumerate(document):
            joint = [separator] if d and i == 0 and piece else []  # only inside a segment, never at its ends
            if piece and len(piece) + len(joint) + len(sentence) > size:
                yield piece
                piece, joint = [], []
            while len(sentence) > size:
                yield sentence[:size]
                sentence = sentence[size:]
            piece = piece + joint + sentence
    if piece:
        yield piece
