"""Words to model inputs: WordPiece pieces of each word, cut into windows at word boundaries.

Training, evaluation and `predict` share this, so a word is seen the same way everywhere: its pieces come from the
model's own `tokenizers` object (words given: pre-split tokens; or the tokenizer's own words of a raw text, with
their character offsets), and a sentence longer than a window is cut between words into consecutive windows, each
[CLS] window [SEP]; every word lands in exactly one window (a word longer than a whole window keeps its first
pieces). A word's tag is read from its first piece.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Window:
    input_ids: list[int]  # [CLS] pieces [SEP]
    word_ids: list[int]  # per position: the word (index in the sentence) whose piece it is, -1 for [CLS]/[SEP]
    first_word: int  # the sentence's index of the window's first word
    n_words: int

    def first_pieces(self) -> list[int]:
        """Per position: the word's index where the position is the word's first piece, else -1."""
        marks, previous = [], -1
        for w in self.word_ids:
            marks.append(w if w != -1 and w != previous else -1)
            previous = w
        return marks


class WordEncoder:
    """Splits words into pieces and windows with a `tokenizers.Tokenizer` (a fast tokenizer's backend)."""

    def __init__(self, backend, max_length: int):
        self.backend = backend
        self.backend.no_truncation()
        self.backend.no_padding()
        specials = backend.encode("", add_special_tokens=True).ids  # BERT's template: [CLS] $A [SEP]
        if len(specials) != 2:
            raise ValueError("the tokenizer does not wrap a text in [CLS] ... [SEP]")
        self.cls, self.sep = specials
        self.max_pieces = max_length - 2

    def split_words(self, sentences: list[list[str]]) -> list[list[list[int]]]:
        """Each word's piece ids, for pre-split sentences (a word may have none: an empty or control string)."""
        encodings = self.backend.encode_batch(
            [list(words) for words in sentences], is_pretokenized=True, add_special_tokens=False
        )
        out = []
        for words, encoding in zip(sentences, encodings):
            pieces: list[list[int]] = [[] for _ in words]
            for token, word in zip(encoding.ids, encoding.word_ids):
                pieces[word].append(token)
            out.append(pieces)
        return out

    def text_words(self, texts: list[str]) -> list[tuple[list[list[int]], list[tuple[int, int]]]]:
        """For raw texts: (each word's piece ids, each word's character span in the text); the words are the
        tokenizer's own (split at spaces and punctuation, and every CJK character one word)."""
        out = []
        for encoding in self.backend.encode_batch(texts, add_special_tokens=False):
            pieces: list[list[int]] = []
            spans: list[tuple[int, int]] = []
            previous = None
            for token, word, (start, end) in zip(encoding.ids, encoding.word_ids, encoding.offsets):
                if word != previous:
                    pieces.append([])
                    spans.append((start, end))
                    previous = word
                pieces[-1].append(token)
                spans[-1] = (spans[-1][0], end)
            out.append((pieces, spans))
        return out

    def windows(self, pieces: list[list[int]]) -> list[Window]:
        """The sentence's words (their pieces) in consecutive windows of at most max_length tokens."""
        windows, ids, word_ids, first = [], [], [], 0
        for i, word in enumerate(pieces):
            word = word[: self.max_pieces]
            if ids and len(ids) + len(word) > self.max_pieces:
                windows.append(self._window(ids, word_ids, first, i))
                ids, word_ids, first = [], [], i
            ids.extend(word)
            word_ids.extend([i] * len(word))
        windows.append(self._window(ids, word_ids, first, len(pieces)))
        return windows

    def _window(self, ids: list[int], word_ids: list[int], first: int, end: int) -> Window:
        return Window([self.cls, *ids, self.sep], [-1, *word_ids, -1], first, end - first)
