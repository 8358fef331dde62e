"""Text files the user gives, training data and `predict` inputs alike: where one is not UTF-8, how a TSV quotes."""

from __future__ import annotations

import csv
import re
from pathlib import Path


def utf8_problem(raw: bytes) -> str | None:
    """The first line that is not valid UTF-8, with its byte and column and the fix; None when all of it is."""
    for number, line in enumerate(raw.splitlines(), 1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as e:
            return (
                f"line {number} is not valid UTF-8 (byte 0x{line[e.start]:02x} at column {e.start + 1}): "
                "save the file as UTF-8"
            )
    return None


def file_utf8_problem(path: str | Path) -> str | None:
    return utf8_problem(Path(path).read_bytes())


QUOTE_STARTS = re.compile(r'(?:^|\t)"', re.M)  # a field that begins with a quote
QUOTED_FIELDS = re.compile(r'(?:^|\t)"(?:[^"]|"")*"(?=\t|\r?\n|$)', re.M)  # "...", "" inside, may span lines


def tsv_quoting(path: str | Path, sample_bytes: int = 1 << 20) -> int:
    """How a TSV file quotes: csv.QUOTE_MINIMAL when every field that begins with a quote is a whole quoted field
    (spreadsheet programs and pandas write "a ""b"" c", and quote fields holding tabs or line breaks), else
    csv.QUOTE_NONE: GLUE's files hold bare quotes (`"I know," he said.`) that are part of the text."""
    with open(path, encoding="utf-8", errors="replace", newline="") as f:
        sample = f.read(sample_bytes)
    if len(sample) == sample_bytes and "\n" in sample:  # a sample: end it at a line break
        sample = sample[: sample.rindex("\n") + 1]
    starts = len(QUOTE_STARTS.findall(sample))
    return csv.QUOTE_MINIMAL if starts and len(QUOTED_FIELDS.findall(sample)) == starts else csv.QUOTE_NONE
