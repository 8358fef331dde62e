"""BERT's masked-LM corruption, vectorised in torch.

Of the tokens that may be chosen (never [CLS], [SEP] or padding), each is chosen with probability
`mlm_probability`; of the chosen, 80% become [MASK], 10% a random token, 10% stay as they are. Labels hold
the original token at chosen positions and -100 elsewhere. With whole-word masking, words are chosen instead
of tokens: a chosen word's WordPiece pieces ("##...") are all chosen with it, and so are the tokens a word
segmenter marked as continuing its word (`word_continues`: Chinese words, which the tokenizer cuts into
characters, whole-word masked over jieba's words).
"""

from __future__ import annotations

import torch


class Masker:
    def __init__(self, tokenizer, mlm_probability: float = 0.15, whole_word: bool = False):
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
        self.whole_word = whole_word

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
        if self.whole_word:
            # a word starts at a non-"##" token; special tokens and padding are boundaries too
            continues = self.is_continuation[input_ids]
            if word_continues is not None:
                continues = continues | word_continues.bool()
            # a word also starts after [CLS] or [SEP]: a segment cut inside a word begins with the word's rest
            after_boundary = torch.nn.functional.pad(~candidates[:, :-1], (1, 0), value=True)
            word_start = ~candidates | ~continues | after_boundary
            positions = torch.arange(input_ids.shape[1]).expand_as(input_ids)
            # each token's word starts at the latest word start at or before it
            start_of_word = torch.where(word_start, positions, 0).cummax(dim=1).values
            chosen = candidates & (draw.gather(1, start_of_word) < self.probability)
        else:
            chosen = candidates & (draw < self.probability)
        labels = torch.where(chosen, input_ids, -100)
        how = torch.rand(input_ids.shape, generator=generator)
        to_mask = chosen & (how < 0.8)
        to_random = chosen & (how >= 0.8) & (how < 0.9)
        corrupted = input_ids.masked_fill(to_mask, self.mask_id)
        pick = torch.randint(len(self.random_ids), input_ids.shape, generator=generator)
        corrupted = torch.where(to_random, self.random_ids[pick], corrupted)
        return corrupted, labels
