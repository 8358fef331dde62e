"""Load data from local files or the Hugging Face Hub, check columns, and tokenize once with a cache.

Local files: csv, tsv, json, jsonl, parquet and txt, read with `datasets.load_dataset(<format>,
data_files=...)`, which works offline and caches an Arrow copy. Tokenized features are cached too, under a
fingerprint of (input data, tokenizer, settings), so a second run on the same data skips tokenization.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path
from typing import Callable

import datasets

from bertcli.config import DataConfig
from bertcli.errors import BertcliError

if not sys.stderr.isatty():  # progress bars only where someone watches them
    datasets.disable_progress_bars()

# extension -> (datasets builder, reader options)
FILE_FORMATS = {
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"delimiter": "\t", "quoting": csv.QUOTE_NONE}),  # GLUE tsv files hold bare quotes
    ".json": ("json", {}),
    ".jsonl": ("json", {}),
    ".parquet": ("parquet", {}),
    ".txt": ("text", {}),
}


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def load_file(path: str | Path) -> datasets.Dataset:
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FILE_FORMATS:
        raise BertcliError(f"cannot read {path}: unknown file type '{ext}' (use {', '.join(FILE_FORMATS)})")
    builder, options = FILE_FORMATS[ext]
    try:
        dataset = datasets.load_dataset(builder, data_files=str(path), split="train", **options)
    except Exception as e:  # the readers raise many types; all mean "this file is not what its name says"
        raise BertcliError(f"cannot read {path} as {ext[1:]}: {_first_line(e)}") from e
    if len(dataset) == 0:
        raise BertcliError(f"{path} holds no examples")
    return dataset


def load_split(data: DataConfig, split: str) -> datasets.Dataset:
    """The `train` or `validation` split: the local file when one is given, else the hub dataset."""
    local = data.train_file if split == "train" else data.validation_file
    if local:
        return load_file(local)
    flag = "--train-file" if split == "train" else "--validation-file"
    if not data.dataset:
        raise BertcliError(f"no {split} data: pass {flag} FILE or a --recipe that names a dataset")
    split_name = data.train_split if split == "train" else data.validation_split
    try:
        return datasets.load_dataset(data.dataset, data.dataset_config, split=split_name)
    except Exception as e:
        raise BertcliError(
            f"cannot load '{data.dataset}' ({split_name} split) from the Hugging Face Hub: {_first_line(e)}; "
            f"check the name and your network, or pass local files with {flag}"
        ) from e


def require_columns(dataset: datasets.Dataset, columns: dict[str, str | None], source: str) -> None:
    """`columns` maps a flag name (--text-column) to the column it names; None means unused."""
    for flag, column in columns.items():
        if column is not None and column not in dataset.column_names:
            raise BertcliError(
                f"column '{column}' ({flag}) not found in {source}: its columns are "
                f"{', '.join(dataset.column_names)}; pass {flag} NAME"
            )


def take(dataset: datasets.Dataset, n: int | None) -> datasets.Dataset:
    return dataset.select(range(min(n, len(dataset)))) if n else dataset


def tokenizer_fingerprint(tokenizer) -> str:
    """A hash of what the tokenizer does, not of its call state (a call with truncation=True changes
    the backend's `truncation` field, which would otherwise change the hash between two calls)."""
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    state.pop("truncation", None)
    state.pop("padding", None)
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()[:16]


def map_cached(
    dataset: datasets.Dataset, function: Callable, settings: dict, desc: str, **map_kwargs
) -> datasets.Dataset:
    """`dataset.map(function, batched=True)` cached under an explicit fingerprint of its inputs.

    datasets fingerprints a map by pickling the function, which is not stable for closures over a
    tokenizer; naming the inputs that matter (`settings`, JSON-serialisable) makes reuse reliable.
    """
    key = json.dumps({"input": dataset._fingerprint, **settings}, sort_keys=True, default=str)
    fingerprint = hashlib.sha256(key.encode()).hexdigest()[:32]
    return dataset.map(function, batched=True, new_fingerprint=fingerprint, desc=desc, **map_kwargs)
