"""The settings of `bertcli finetune ner`: its data columns and options (flags, recipe keys, run.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bertcli.config import DataSource, TaskOptions, setting


@dataclass
class TokenClassificationData(DataSource):
    train_file: str | None = setting(
        help="Training file: CoNLL-style text (.txt, .conll, .bio, .iob: 'token TAG' a line, a blank line between "
        "sentences), or json/jsonl/parquet/csv with a list of tokens and a list of tags a row.",
        evaluate=False,
    )
    tokens_column: str = setting("tokens", help="Column with each sentence's words (a list).")
    tags_column: str = setting(
        "tags", help="Column with each sentence's tags (a list, as names or as the data set's class ids)."
    )


@dataclass
class TokenClassificationOptions(TaskOptions):
    label_all_tokens: bool = setting(
        False,
        help="Train on every WordPiece piece of a word (B-X's later pieces as I-X), not only its first; "
        "evaluation and predict read the first piece either way.",
    )
    pack_sentences: bool = setting(
        True,
        help="Pack each training batch's sentences into as few rows as they fit, each sentence attending only to "
        "itself: batches of sentences drawn at random, as with --no-group-by-length, without their padding.",
    )
    tag_scheme: Literal["entities", "plain"] | None = setting(
        help="entities: BIO/BIOES tags, scored as whole entities (precision, recall, F1 as conlleval/seqeval); "
        "plain: every word's tag on its own (parts of speech; accuracy).",
        default_text="from the tags",
    )
