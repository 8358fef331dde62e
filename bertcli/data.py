"""Load data from local files or the Hugging Face Hub, check columns, and tokenize once with a cache.

Local files: csv, tsv, json, jsonl, parquet and txt, read with `datasets.load_dataset(<format>,
data_files=...)`, which works offline and caches an Arrow copy. Tokenized features are cached too, under a
fingerprint of (input data, tokenizer, settings), so a second run on the same data skips tokenization.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import sys
from pathlib import Path
from typing import Callable

import datasets

from bertcli.config import DataSource
from bertcli.errors import BertcliError
from bertcli.textfiles import tsv_quoting, utf8_problem

if not sys.stderr.isatty():  # progress bars only where someone watches them
    datasets.disable_progress_bars()

# extension -> (datasets builder, reader options)
FILE_FORMATS = {
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"delimiter": "\t"}),  # quoting as the file does it (textfiles.tsv_quoting)
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
    if not path.is_file():
        raise BertcliError(f"cannot read {path}: no such file")
    if not os.access(path, os.R_OK):
        raise BertcliError(f"cannot read {path}: permission denied; make it readable (chmod +r)")
    builder, options = FILE_FORMATS[ext]
    if ext == ".tsv":
        options = {**options, "quoting": tsv_quoting(path)}
    try:
        with _quiet_datasets():  # datasets logs its own multi-line report before raising
            dataset = datasets.load_dataset(builder, data_files=str(path), split="train", **options)
    except Exception as e:  # the readers raise many types; all mean "this file is not what its name says"
        problem = diagnose(path, ext) or f"cannot read it as {ext[1:]} ({_first_line(e)})"
        raise BertcliError(f"{path}: {problem}") from e
    if len(dataset) == 0:
        raise BertcliError(f"{path} holds no examples")
    return dataset


@contextlib.contextmanager
def _quiet_datasets():
    level = datasets.logging.get_verbosity()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL)
    try:
        yield
    finally:
        datasets.logging.set_verbosity(level)


def diagnose(path: Path, ext: str) -> str | None:
    """Why a file the readers rejected is unreadable, naming the line and the fix; None when no reason is found.
    Runs only after a failure, so the normal path reads each file once."""
    raw = path.read_bytes()
    if not raw.strip():
        return "the file is empty: add a header and examples"
    problem = utf8_problem(raw)
    if problem:
        return problem
    text = raw.decode("utf-8")
    if ext in (".csv", ".tsv"):
        delimiter, quoting = ("\t", tsv_quoting(path)) if ext == ".tsv" else (",", csv.QUOTE_MINIMAL)
        reader = csv.reader(io.StringIO(text), delimiter=delimiter, quoting=quoting)
        header = next(reader)
        rows = 0
        for row in reader:
            rows += 1
            if row and len(row) != len(header):
                return (
                    f"line {reader.line_num} has {len(row)} fields where the header has {len(header)}: "
                    "quote fields that contain the delimiter, or fix that row"
                )
        if rows == 0:
            return "the file holds a header but no examples"
    if ext in (".json", ".jsonl"):
        first = next(line for line in text.splitlines() if line.strip())
        if ext == ".json" and _json_error(first):  # one JSON document over many lines, not JSON Lines
            e = _json_error(text)
            return e and f"invalid JSON at line {e.lineno}, column {e.colno} ({e.msg}): fix the file"
        for number, line in enumerate(text.splitlines(), 1):
            e = line.strip() and _json_error(line)
            if e:
                return f"line {number} is not valid JSON ({e.msg}, column {e.colno}): fix or remove that line"
    return None


def _json_error(text: str) -> json.JSONDecodeError | None:
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return e
    return None


def drop_empty_texts(dataset: datasets.Dataset, columns: list[str], source: str) -> datasets.Dataset:
    """Skip rows whose text (any of `columns`) is missing or only whitespace, saying how many and which;
    an error when no row is left."""
    values = zip(*(dataset[c] for c in columns))
    empty = [i for i, row in enumerate(values) if any(v is None or not str(v).strip() for v in row)]
    if not empty:
        return dataset
    names = " / ".join(columns)
    if len(empty) == len(dataset):
        raise BertcliError(f"{source}: every row has empty {names}: check the file and the column flags")
    first = ", ".join(str(i + 1) for i in empty[:5]) + (", ..." if len(empty) > 5 else "")
    print(
        f"bertcli: warning: {source}: skipped {len(empty)} of {len(dataset)} rows with empty {names} "
        f"(data rows {first})",
        file=sys.stderr,
    )
    dropped = set(empty)
    return dataset.select([i for i in range(len(dataset)) if i not in dropped])


def load_split(data: DataSource, split: str) -> datasets.Dataset:
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


def take(dataset: datasets.Dataset | None, n: int | None) -> datasets.Dataset | None:
    return dataset.select(range(min(n, len(dataset)))) if n and dataset is not None else dataset


def train_and_eval(
    data: DataSource,
    load: Callable[[str, int | None], datasets.Dataset],
    seed: int,
    limits: tuple[int | None, int | None] = (None, None),
    training: bool = True,
    least: int = 1,
    unit: str = "examples",
) -> tuple[datasets.Dataset | None, datasets.Dataset | None]:
    """(training examples, evaluation examples) as `data.evaluation_source()` says: `load("validation", limit)`, or
    a held-out share of `load("train", None)`, shuffled with `seed` (so `bertcli evaluate` holds out the same ones),
    or none. `limits` are --max-train-samples and --max-eval-samples; the training examples are None for `bertcli
    evaluate` (`training` False). Each side of a hold-out keeps at least `least` examples."""
    source = data.evaluation_source()
    if source != "held_out":
        train = load("train", limits[0]) if training else None
        return train, (load("validation", limits[1]) if source else None)
    train = load("train", None)
    n = len(train)
    n_eval = max(least, round(n * data.validation_split_percentage / 100))
    if n - n_eval < least:
        raise BertcliError(
            f"{data.source('train')} holds {n} {unit}: too few to hold out {n_eval} for evaluation "
            f"(--validation-split-percentage) and train on the rest; pass --validation-file, or give more {unit}"
        )
    split = train.train_test_split(test_size=n_eval, seed=seed, shuffle=True)
    return (take(split["train"], limits[0]) if training else None), take(split["test"], limits[1])


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
