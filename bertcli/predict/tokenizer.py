"""BERT's tokenizer straight from `tokenizers`: `tokenizer.json`, the same object that transformers' fast tokenizer
wraps, without importing transformers or torch. It serves the classification and fill-mask predictors; question
answering keeps transformers' tokenizer for its windows."""

from __future__ import annotations

import json
from pathlib import Path


def load_tokenizer(model_dir: str) -> PlainTokenizer | None:
    """The model's tokenizer.json as a PlainTokenizer, or None when there is none."""
    directory = Path(model_dir)
    if not (directory / "tokenizer.json").is_file():
        return None
    config_file = directory / "tokenizer_config.json"
    return PlainTokenizer(
        directory / "tokenizer.json", json.loads(config_file.read_text()) if config_file.is_file() else {}
    )


class PlainTokenizer:
    """The part of transformers' fast-tokenizer interface that the classification and fill-mask predictors use."""

    def __init__(self, path: Path, config: dict):
        from tokenizers import Tokenizer

        self.backend = Tokenizer.from_file(str(path))
        self.backend.no_padding()
        self.mask_token = config.get("mask_token", "[MASK]")
        self.mask_token_id = self.backend.token_to_id(self.mask_token)
        self.pad_token_id = self.backend.token_to_id(config.get("pad_token", "[PAD]")) or 0

    def __call__(
        self,
        texts: list[str],
        pairs: list[str] | None = None,
        truncation: bool = True,
        max_length: int | None = None,
        return_attention_mask: bool = False,
    ) -> _Encoded:
        if truncation and max_length:
            self.backend.enable_truncation(max_length)  # longest first, as transformers' truncation=True
        else:
            self.backend.no_truncation()
        return _Encoded(self.backend.encode_batch(list(zip(texts, pairs)) if pairs is not None else texts))

    def convert_ids_to_tokens(self, ids):
        return self.backend.id_to_token(ids) if isinstance(ids, int) else [self.backend.id_to_token(i) for i in ids]

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        return self.backend.decode([int(i) for i in ids], skip_special_tokens=skip_special_tokens)


class _Encoded(dict):
    """transformers' BatchEncoding in brief: `encoded["input_ids"]`, `encoded["token_type_ids"]`, `.encodings`."""

    def __init__(self, encodings):
        super().__init__(input_ids=[e.ids for e in encodings], token_type_ids=[e.type_ids for e in encodings])
        self.encodings = encodings
