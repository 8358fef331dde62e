"""Text files the user gives: where one is not UTF-8 (training data and `predict` inputs alike)."""

from __future__ import annotations

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
