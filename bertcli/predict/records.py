"""Input records for `bertcli predict`, read lazily, and the writers for its output.

Inputs: texts given as arguments; a file (txt: one text a line; csv/tsv; json: a list of objects; jsonl); or
`-`/a pipe for stdin (one text a line, or JSON Lines). Every record comes out as a dict with the fields a
predictor reads (`text`, `text_pair`, `question`, `context`) plus `id` when the input had one. Files are read
as streams, never whole (a JSON list excepted: that format has no streaming form).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator

from bertcli.errors import BertcliError
from bertcli.textfiles import file_utf8_problem, tsv_quoting

TEXT_FORMATS = (".txt", ".text")
TABLE_FORMATS = {".csv": ",", ".tsv": "\t"}
JSON_FORMATS = (".json", ".jsonl", ".ndjson")


def input_records(texts: list[str] | None, input_file: str | None, fields: Fields, verb: str) -> Iterator[dict]:
    """The inputs of `predict` and `embed`: TEXT arguments, --input-file, or stdin when it is a pipe. The first
    record is read at once, so that a bad input fails before the model loads."""
    if texts:
        records = iter([{"text": t} for t in texts])
    elif input_file:
        records = read_records(input_file, fields)
    elif not sys.stdin.isatty():
        records = read_records("-", fields)
    else:
        raise BertcliError(f"nothing to {verb}: pass TEXT arguments, --input-file FILE, or pipe input on stdin")
    first = next(records)
    return itertools.chain([first], records)


def read_records(source: str, fields: Fields) -> Iterator[dict]:
    """Records from a file path or '-' (stdin), as `fields` picks them from each row."""
    if source == "-":
        # strictly UTF-8, whatever the locale (a C locale would smuggle bad bytes through as surrogates)
        stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8") if hasattr(sys.stdin, "buffer") else sys.stdin
        try:
            yield from _read_stdin(stdin, fields)
        except UnicodeDecodeError as e:
            raise BertcliError("stdin is not valid UTF-8: pipe UTF-8 text, or pass the file with --input-file") from e
        return
    path = Path(source)
    if not path.is_file():
        raise BertcliError(f"--input-file not found: {source}")
    ext = path.suffix.lower()
    if ext not in (*TABLE_FORMATS, *JSON_FORMATS, *TEXT_FORMATS):
        raise BertcliError(f"cannot read {source}: unknown file type '{ext}' (use txt, csv, tsv, json or jsonl)")
    try:
        with open(path, encoding="utf-8", newline="") as f:
            if ext in TABLE_FORMATS:
                yield from _read_table(f, TABLE_FORMATS[ext], fields, source)
            elif ext in JSON_FORMATS:
                yield from _read_json(f, fields, source)
            else:
                yield from _read_lines(f, fields, source)
    except UnicodeDecodeError as e:  # found while streaming: find the line (reads the file once more, only now)
        raise BertcliError(f"{source}: {file_utf8_problem(path) or 'not valid UTF-8: save the file as UTF-8'}") from e


@dataclass
class Fields:
    """How an input row becomes a record: the column of each field a predictor reads (a tuple of names: the first
    present wins; None: not read), the id column, and, with `keep`, the row's other columns too, those named as a
    predictor's outputs (`keep`) renamed input_<name> so that neither hides the other."""

    columns: dict[str, str | tuple | None]
    id_column: str = "id"
    keep: tuple[str, ...] | None = None

    @property
    def first(self) -> str:
        """The field a plain line of text fills."""
        return next(iter(k for k, v in self.columns.items() if v is not None), "text")

    def pick(self, row: dict, where: str) -> dict:
        record, used = {}, {self.id_column}
        for field, column in self.columns.items():
            if column is None:
                continue
            names = column if isinstance(column, tuple) else (column,)
            name = next((n for n in names if n in row), None)
            if name is None:
                raise BertcliError(
                    f"{where}: no column '{names[0]}' (found: {', '.join(map(str, row)) or 'none'}); "
                    f"name the right one with --{field.replace('_', '-')}-column"
                )
            value = row[name]
            record[field] = "" if value is None else value if isinstance(value, list) else str(value)  # list: words
            used.add(name)
        if self.id_column in row:
            record["id"] = row[self.id_column]
        if self.keep is not None:
            for name, value in row.items():
                if name not in used and name is not None:
                    record[f"input_{name}" if name in self.keep or name in record else name] = value
        return record


def _read_table(f: IO, delimiter: str, fields: Fields, source: str) -> Iterator[dict]:
    quoting = tsv_quoting(source) if delimiter == "\t" else csv.QUOTE_MINIMAL  # GLUE's or a spreadsheet's TSV
    reader = csv.DictReader(f, delimiter=delimiter, quoting=quoting)
    if reader.fieldnames is None:
        raise BertcliError(f"{source} is empty: it needs a header line and at least one row")
    n = 0
    for n, row in enumerate(reader, start=1):
        yield fields.pick(row, f"{source} line {n + 1}")
    if n == 0:
        raise BertcliError(f"{source} has a header but no rows")


def _read_json(f: IO, fields: Fields, source: str) -> Iterator[dict]:
    first = f.read(1)
    while first.isspace():
        first = f.read(1)
    if first == "[":  # a JSON list of objects
        try:
            rows = json.loads(first + f.read())
        except json.JSONDecodeError as e:
            raise BertcliError(f"{source} is not valid JSON: {e.msg} at line {e.lineno}") from e
        lines: Iterable = ((i + 1, row) for i, row in enumerate(rows))
    else:  # JSON Lines
        lines = _json_lines(io.StringIO(first + f.readline()), f, source)
    n = 0
    for n, row in lines:
        if not isinstance(row, dict):
            raise BertcliError(f"{source} line {n}: expected a JSON object, got {type(row).__name__}")
        yield fields.pick(row, f"{source} line {n}")
    if n == 0:
        raise BertcliError(f"{source} holds no records")


def _json_lines(head: IO, rest: IO, source: str) -> Iterator[tuple[int, object]]:
    number = 0
    for stream in (head, rest):
        for line in stream:
            number += 1
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as e:
                raise BertcliError(f"{source} line {number}: invalid JSON ({e.msg}); one JSON object per line") from e


def _read_lines(f: IO, fields: Fields, source: str) -> Iterator[dict]:
    field = fields.first
    n = 0
    for line in f:
        text = line.rstrip("\r\n")
        if text.strip():
            n += 1
            yield {field: text}
    if n == 0:
        raise BertcliError(f"{source} holds no text")


def _read_stdin(f: IO, fields: Fields) -> Iterator[dict]:
    """One text a line, or JSON Lines (each line that starts with '{' is read as a JSON object)."""
    field = fields.first
    n = 0
    for number, line in enumerate(f, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        n += 1
        if stripped.startswith("{"):
            try:
                row = json.loads(stripped)
            except json.JSONDecodeError as e:
                raise BertcliError(f"stdin line {number}: invalid JSON ({e.msg})") from e
            yield fields.pick(row, f"stdin line {number}")
        else:
            yield {field: line.rstrip("\r\n")}
    if n == 0:
        raise BertcliError("stdin holds no input: pipe texts (one a line) or JSON Lines, or pass TEXT or --input-file")


class Writer:
    """JSON Lines (default) or CSV, to a file or stdout, flushed line by line so output streams.

    CSV columns are those of the first record; a later record with a column the header lacks (an `id` that only
    some inputs carry) widens the header: a file is rewritten once with the new column, stdout cannot be, so there
    it is an error that says what to do."""

    def __init__(self, path: str | None, fmt: str = "jsonl"):
        self.fmt, self.path = fmt, path
        self.file = open(path, "w", encoding="utf-8", newline="") if path else sys.stdout
        self.csv = None
        self.fields: list[str] = []
        self.count = 0

    def write(self, record: dict) -> None:
        self.count += 1
        if self.fmt == "jsonl":
            self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            flat = {
                k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v for k, v in record.items()
            }
            if self.csv is None:
                self._header(list(flat))
            elif not flat.keys() <= set(self.fields):
                self._widen([k for k in flat if k not in self.fields])
            self.csv.writerow(flat)
        if self.file is sys.stdout:
            self.file.flush()

    def _header(self, fields: list[str]) -> None:
        self.fields = fields
        self.csv = csv.DictWriter(self.file, fieldnames=fields, restval="")
        self.csv.writeheader()

    def _widen(self, new: list[str]) -> None:
        if self.file is sys.stdout:
            raise BertcliError(
                f"output record {self.count} has column(s) {', '.join(new)} that the CSV header written before lacks: "
                "give every input the same columns, write --format jsonl, or write to a file with --output-file"
            )
        self.file.close()
        with open(self.path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        self.file = open(self.path, "w", encoding="utf-8", newline="")
        self._header(self.fields + new)
        self.csv.writerows(rows)

    def close(self) -> None:
        if self.file is not sys.stdout:
            self.file.close()
