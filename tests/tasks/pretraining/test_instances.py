"""Pre-training instances: NSP pairs balanced and within their documents, and RoBERTa's FULL-SENTENCES packing
across documents."""

import random

from bertcli.tasks.pretraining.instances import IS_NEXT, NOT_NEXT, nsp_instances, packed_across_documents


def tokenized_documents(n=1000, seed=0):
    """Documents of 'sentences' whose token ids say which document they come from: doc d uses d*1000 + k."""
    rng = random.Random(seed)
    return [
        [[d * 1000 + rng.randrange(1, 999) for _ in range(rng.randint(3, 30))] for _ in range(rng.randint(1, 12))]
        for d in range(n)
    ]


def test_nsp_instances_are_balanced_and_respect_documents():
    documents = tokenized_documents()
    labels, max_len = [], 64
    for index, document in enumerate(documents):
        rng = random.Random(index)
        for a, b, label in nsp_instances(document, index, len(documents), lambda j: documents[j], max_len, 0.1, rng):
            assert len(a) + len(b) + 3 <= max_len and a and b
            doc_a = {t // 1000 for t in a}
            doc_b = {t // 1000 for t in b}
            assert doc_a == {index}
            if label == IS_NEXT:
                assert doc_b == {index}  # a true continuation never leaves its document
            else:
                assert label == NOT_NEXT and index not in doc_b  # a random next always comes from another
            labels.append(label)
    assert len(labels) > 2000
    assert abs(sum(labels) / len(labels) - 0.5) < 0.03


def test_packing_across_documents_keeps_sentences_whole_and_separates_documents():
    """RoBERTa's FULL-SENTENCES: every sentence once, in order, whole (unless longer than a segment), segments that
    run on from one document into the next with a separator (0) between them, and fill up."""
    rng = random.Random(0)
    documents, k = [], 0
    for _ in range(60):  # sentence k is k+1 repeated: where each sentence went can be read off the pieces
        documents.append([[k + i + 1] * rng.randint(1, 20) for i in range(rng.randint(1, 6))])
        k += len(documents[-1])
    documents[7][0] = [documents[7][0][0]] * 70  # longer than a segment (30 tokens): cut
    pieces = list(packed_across_documents(documents, 32, separator=0))
    assert all(1 <= len(p) <= 30 for p in pieces)
    flat = [t for p in pieces for t in p]
    assert [t for t in flat if t] == [t for doc in documents for s in doc for t in s]  # all of it, in order
    for piece in pieces[:-1]:
        assert piece[0] != 0 and piece[-1] != 0  # a separator sits between two documents, inside a segment
    where = {}
    for i, piece in enumerate(pieces):
        for t in piece:
            where.setdefault(t, set()).add(i)
    cut = documents[7][0][0]
    assert all(len(pieces_of) == 1 for t, pieces_of in where.items() if t not in (0, cut))  # sentences whole
    document_of = {t: d for d, doc in enumerate(documents) for s in doc for t in s}
    for piece in pieces:  # within a segment: a separator exactly where one document ends and the next begins
        for i in range(1, len(piece)):
            if piece[i] == 0:
                assert document_of[piece[i + 1]] == document_of[piece[i - 1]] + 1
            elif piece[i - 1]:
                assert document_of[piece[i]] == document_of[piece[i - 1]]
    assert sum(len(p) for p in pieces) / len(pieces) > 22  # full segments, not one a sentence
