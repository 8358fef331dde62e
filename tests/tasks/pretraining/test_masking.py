"""Masking for pre-training: the 15% / 80-10-10 statistics, whole words (WordPiece continuations) masked together,
and spans whose lengths follow SpanBERT's distribution without cutting a word."""

import random

import torch

from bertcli.tasks.pretraining.masking import SPAN_LENGTHS, Masker


def random_batch(tokenizer, rows=400, width=128, seed=0):
    """Ordinary tokens with [CLS] ... [SEP] ... [SEP] and right padding."""
    g = torch.Generator().manual_seed(seed)
    special = set(tokenizer.all_special_ids)
    ordinary = torch.tensor([i for i in range(len(tokenizer)) if i not in special])
    ids = ordinary[torch.randint(len(ordinary), (rows, width), generator=g)]
    lengths = torch.randint(width // 2, width + 1, (rows,), generator=g)
    mask = torch.arange(width)[None, :] < lengths[:, None]
    ids[:, 0] = tokenizer.cls_token_id
    ids[torch.arange(rows), lengths - 1] = tokenizer.sep_token_id
    ids[torch.arange(rows), lengths // 2] = tokenizer.sep_token_id
    ids[~mask] = tokenizer.pad_token_id
    return ids, mask.long()


def test_masking_statistics(tiny_tokenizer):
    tokenizer = tiny_tokenizer
    ids, attention = random_batch(tokenizer)
    corrupted, labels = Masker(tokenizer, 0.15)(ids, attention, torch.Generator().manual_seed(1))
    special = torch.isin(ids, torch.tensor(tokenizer.all_special_ids)) | (attention == 0)
    chosen = labels != -100
    assert not (chosen & special).any()  # never [CLS], [SEP] or padding
    assert (labels[chosen] == ids[chosen]).all()
    share = chosen.sum().item() / (~special).sum().item()
    assert abs(share - 0.15) < 0.01, share
    n = chosen.sum().item()
    masked = (corrupted[chosen] == tokenizer.mask_token_id).sum().item() / n
    unchanged = (corrupted[chosen] == ids[chosen]).sum().item() / n
    replaced = 1 - masked - unchanged
    assert abs(masked - 0.8) < 0.02 and abs(unchanged - 0.1) < 0.02 and abs(replaced - 0.1) < 0.02, (
        masked,
        unchanged,
        replaced,
    )
    assert (corrupted[~chosen] == ids[~chosen]).all()  # nothing else is touched


def test_whole_word_masking_never_splits_a_word(tiny_tokenizer):
    tokenizer = tiny_tokenizer
    vocab = tokenizer.get_vocab()
    pieces = [i for t, i in vocab.items() if t.startswith("##")]
    starts = [i for t, i in vocab.items() if not t.startswith("##") and i not in tokenizer.all_special_ids]
    assert pieces, "the test tokenizer has WordPiece continuations"
    rng = random.Random(0)
    rows = []
    for _ in range(300):
        row = [tokenizer.cls_token_id]
        while len(row) < 63:
            row += [rng.choice(starts)] + [rng.choice(pieces) for _ in range(rng.randint(0, 3))]
        rows.append(row[:63] + [tokenizer.sep_token_id])
    ids = torch.tensor(rows)
    _, labels = Masker(tokenizer, 0.15, "whole-word")(ids, torch.ones_like(ids), torch.Generator().manual_seed(2))
    chosen = labels != -100
    continuation = torch.tensor([[t in set(pieces) for t in row] for row in rows])
    # a continuation piece is chosen exactly when the token before it is (same word)
    inside = continuation[:, 1:]
    assert (chosen[:, 1:][inside] == chosen[:, :-1][inside]).all()
    share = chosen.sum().item() / (ids.numel() - 2 * len(rows))
    assert 0.12 < share < 0.18


def test_span_lengths_follow_spanbert_distribution(tiny_tokenizer):
    """On long rows of one-token words with a small budget (spans rarely touch), the masked runs' lengths follow
    the geometric distribution (p 0.2) cut at 10 words: mean 3.8."""
    tokenizer = tiny_tokenizer
    words = [
        i for t, i in tokenizer.get_vocab().items() if not t.startswith("##") and i not in tokenizer.all_special_ids
    ]
    g = torch.Generator().manual_seed(0)
    ids = torch.tensor(words)[torch.randint(len(words), (60, 1000), generator=g)]
    ids[:, 0], ids[:, -1] = tokenizer.cls_token_id, tokenizer.sep_token_id
    masker = Masker(tokenizer, 0.04, "span")
    corrupted, labels = masker(ids, torch.ones_like(ids), g)
    chosen = labels != -100
    assert abs(chosen.sum().item() / (60 * 998) - 0.04) < 0.002  # the budget
    runs = []
    for row in chosen.int().tolist():
        length = 0
        for c in row + [0]:
            if c:
                length += 1
            elif length:
                runs.append(length)
                length = 0
    observed = torch.bincount(torch.tensor(runs), minlength=12)[1:11].double() / len(runs)
    assert len(runs) > 500 and sum(r > 10 for r in runs) < 0.02 * len(runs)  # two spans that touch are one run: rare
    assert abs(sum(runs) / len(runs) - 3.8) < 0.35, sum(runs) / len(runs)
    assert torch.allclose(observed, SPAN_LENGTHS, atol=0.04), (observed, SPAN_LENGTHS)
    # 80/10/10 per span: a span is masked, replaced or kept as a whole
    masked = (corrupted == tokenizer.mask_token_id) & chosen
    assert abs(masked.sum().item() / chosen.sum().item() - 0.8) < 0.05


def test_span_masking_keeps_words_whole(tiny_tokenizer):
    tokenizer = tiny_tokenizer
    text = " ".join(["unbelievably wonderful captainship harbourmaster"] * 20)
    ids = torch.tensor([tokenizer(text, truncation=True, max_length=128)["input_ids"]] * 50)
    continuation = torch.tensor([t.startswith("##") for t in tokenizer.convert_ids_to_tokens(ids[0])])
    assert continuation.any()  # the test's words are cut into pieces
    _, labels = Masker(tokenizer, 0.15, "span")(ids, torch.ones_like(ids), torch.Generator().manual_seed(3))
    chosen = labels != -100
    # a piece is chosen exactly when the piece before it (same word) is
    inside = continuation[1:]
    assert torch.equal(chosen[:, 1:][:, inside], chosen[:, :-1][:, inside])
