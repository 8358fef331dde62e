"""BERT's masked-LM corruption, with tokens, whole words or spans of words as the unit that is masked.

Of the tokens that may be chosen (never [CLS], [SEP] or padding), about `mlm_probability` are chosen; of those,
80% become [MASK], 10% a random token, 10% stay as they are. Labels hold the original token at chosen positions
and -100 elsewhere. What is chosen together:
- `token`: each token on its own (BERT);
- `whole-word`: a word's WordPiece pieces ("##...") with it, and the tokens a word segmenter marked as continuing
  its word (`word_continues`: Chinese words, which the tokenizer cuts into characters, masked over jieba's words);
- `span`: SpanBERT's contiguous spans of whole words, each span's length in words drawn from a geometric
  distribution (p = 0.2) cut off at 10 words and renormalised (mean 3.8), spans added until the budget of
  `mlm_probability` of the row's tokens is reached; the 80/10/10 choice is made once per span.
"""

from __future__ import annotations

import torch

SPAN_P, SPAN_MAX_WORDS = 0.2, 10
# P(span length = k words), k = 1..10: geometric(p) cut at 10 and renormalised, as SpanBERT samples it
SPAN_LENGTHS = SPAN_P * (1 - SPAN_P) ** torch.arange(SPAN_MAX_WORDS, dtype=torch.float64)
SPAN_LENGTHS /= SPAN_LENGTHS.sum()


class Masker:
    def __init__(self, tokenizer, mlm_probability: float = 0.15, unit: str = "token"):
        vocab = tokenizer.get_vocab()
        size = max(vocab.values()) + 1
        self.mask_id = tokenizer.mask_token_id
        self.special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)))
        is_special = torch.zeros(size, dtype=torch.bool)
        is_special[self.special_ids] = True
        self.random_ids = torch.nonzero(~is_special).flatten()  # random replacements are ordinary tokens
        self.is_continuation = torch.zeros(size, dtype=torch.bool)  # "##ing": a piece inside a word
        for token, i in vocab.items():
            self.is_continuation[i] = token.startswith("##")
        self.probability = mlm_probability
        self.unit = unit

    def __call__(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        generator: torch.Generator | None = None,
        word_continues: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(corrupted input_ids, labels) for a batch (batch, length); `word_continues` (same shape, 0/1) marks
        tokens that continue the word before them, besides "##" pieces."""
        candidates = attention_mask.bool() & ~torch.isin(input_ids, self.special_ids)
        draw = torch.rand(input_ids.shape, generator=generator)
        if self.unit == "token":
            chosen = candidates & (draw < self.probability)
            unit_start = torch.arange(input_ids.shape[1]).expand_as(input_ids)  # each token is its own unit
        else:
            word_start = self.word_starts(input_ids, candidates, word_continues)
            positions = torch.arange(input_ids.shape[1]).expand_as(input_ids)
            # each token's word starts at the latest word start at or before it
            start_of_word = torch.where(word_start, positions, 0).cummax(dim=1).values
            if self.unit == "span":
                chosen, unit_start = self.spans(candidates, word_start, generator)
            else:
                chosen, unit_start = candidates & (draw.gather(1, start_of_word) < self.probability), start_of_word
        labels = torch.where(chosen, input_ids, -100)
        # 80/10/10, decided once per unit (token, word or span): a word is masked, replaced or kept whole
        how = torch.rand(input_ids.shape, generator=generator).gather(1, unit_start)
        to_mask = chosen & (how < 0.8)
        to_random = chosen & (how >= 0.8) & (how < 0.9)
        corrupted = input_ids.masked_fill(to_mask, self.mask_id)
        pick = torch.randint(len(self.random_ids), input_ids.shape, generator=generator)
        corrupted = torch.where(to_random, self.random_ids[pick], corrupted)
        return corrupted, labels

    def word_starts(self, input_ids, candidates, word_continues) -> torch.Tensor:
        """True where a word starts: a non-"##" token, a token after [CLS]/[SEP] (a segment cut inside a word begins
        with the word's rest), and special tokens and padding themselves (boundaries)."""
        continues = self.is_continuation[input_ids]
        if word_continues is not None:
            continues = continues | word_continues.bool()
        after_boundary = torch.nn.functional.pad(~candidates[:, :-1], (1, 0), value=True)
        return ~candidates | ~continues | after_boundary

    def spans(self, candidates, word_start, generator) -> tuple[torch.Tensor, torch.Tensor]:
        """SpanBERT's masking, row by row: (chosen tokens, the position where each token's span starts).

        A span is a length in words and a random first word; a span that would overlap one already chosen is
        drawn again; words are added until the row's budget of tokens is reached (the last span may end early)."""
        chosen = torch.zeros_like(candidates)
        span_start = torch.arange(candidates.shape[1]).expand_as(candidates).clone()
        for row in range(candidates.shape[0]):
            boundaries = torch.nonzero(word_start[row]).flatten().tolist() + [candidates.shape[1]]
            # the words of the row: [start, end) token ranges of candidates ([CLS], [SEP], padding start no word)
            words = [(a, b) for a, b in zip(boundaries, boundaries[1:]) if candidates[row, a]]
            budget = max(1, round(int(candidates[row].sum()) * self.probability))
            taken, masked, tries = set(), 0, 0
            while words and masked < budget and tries < 100:
                length = min(int(sample_span_lengths(1, generator)), len(words))
                first = int(torch.randint(len(words) - length + 1, (1,), generator=generator))
                span = range(first, first + length)
                if taken.intersection(span):
                    tries += 1
                    continue
                for k in span:
                    if masked >= budget:
                        break
                    a, b = words[k]
                    chosen[row, a:b] = True
                    span_start[row, a:b] = words[first][0]
                    taken.add(k)
                    masked += b - a
        return chosen, span_start


def sample_span_lengths(n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """`n` span lengths in words, from SpanBERT's clipped geometric distribution."""
    return torch.multinomial(SPAN_LENGTHS.float(), n, replacement=True, generator=generator) + 1
