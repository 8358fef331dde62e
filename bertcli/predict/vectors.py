"""Vectors: which hidden states `bertcli embed` pools, and the files it writes them to. Light: the CLI checks its
flags with it before torch loads."""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from bertcli.errors import BertcliError


def parse_layers(layers: str) -> list[int]:
    """`-1` or `-4,-3,-2,-1`: indices into the hidden states (0 is the embeddings' output, -1 the last layer)."""
    try:
        parsed = [int(x) for x in str(layers).split(",") if x.strip()]
    except ValueError:
        parsed = []
    if not parsed:
        raise BertcliError(f"--layers {layers}: give layer numbers, comma-separated (-1 is the last layer)")
    return parsed


class VectorWriter:
    """Embeddings in input order, written as they come: `.npy` (float32 rows; the ids, when inputs have them, in
    `<name>.ids.txt` beside it), `.parquet` (id, text, embedding) or JSON Lines (`.jsonl`, or stdout)."""

    FORMATS = (".npy", ".parquet", ".jsonl")
    HEADER = 128  # bytes kept for the .npy header, written last with the final count (its dict fits, padded)

    @classmethod
    def check(cls, path: str | None) -> None:
        if path and Path(path).suffix.lower() not in cls.FORMATS:
            raise BertcliError(f"--output-file {path}: write .npy, .parquet or .jsonl")

    def __init__(self, path: str | None):
        self.check(path)
        self.path = Path(path) if path else None
        self.format = self.path.suffix.lower() if self.path else ".jsonl"
        self.count, self.dim, self.ids = 0, 0, []
        self.parquet = None  # a pyarrow ParquetWriter
        if self.format == ".npy":
            self.file = open(self.path, "wb")
            self.file.write(b"\0" * self.HEADER)
        elif self.format == ".jsonl":
            self.file = open(self.path, "w", encoding="utf-8") if self.path else sys.stdout

    def write_all(self, results: Iterable[dict], chunk: int = 1024) -> None:
        iterator = iter(results)
        while rows := list(itertools.islice(iterator, chunk)):
            self._write(rows)

    def _write(self, rows: list[dict]) -> None:
        self.dim, self.count = len(rows[0]["embedding"]), self.count + len(rows)
        if self.format == ".npy":
            self.file.write(np.asarray([r["embedding"] for r in rows], dtype="<f4").tobytes())
            self.ids += [r.get("id") for r in rows]
        elif self.format == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("embedding", pa.list_(pa.float32()))])
            table = pa.table(
                {
                    "id": [None if r.get("id") is None else str(r["id"]) for r in rows],
                    "text": [r.get("text") for r in rows],
                    "embedding": [r["embedding"] for r in rows],
                },
                schema=schema,
            )
            self.parquet = self.parquet or pq.ParquetWriter(self.path, schema)
            self.parquet.write_table(table)
        else:
            self.file.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
            self.file.flush()

    def close(self) -> None:
        if self.format == ".npy":
            header = repr({"descr": "<f4", "fortran_order": False, "shape": (self.count, self.dim)}).encode("latin1")
            header += b" " * (self.HEADER - 10 - len(header) - 1) + b"\n"  # magic 6, version 2, length 2
            self.file.seek(0)
            self.file.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header)
            self.file.close()
            if any(i is not None for i in self.ids):
                self.path.with_name(self.path.stem + ".ids.txt").write_text(
                    "".join(f"{i}\n" for i in self.ids), encoding="utf-8"
                )
        elif self.parquet is not None:
            self.parquet.close()
        elif self.format == ".jsonl" and self.file is not sys.stdout:
            self.file.close()
