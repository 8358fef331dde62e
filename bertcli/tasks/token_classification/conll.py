"""CoNLL-style files: one `token ... TAG` a line (the first field the word, the last its tag), a blank line between
sentences, `-DOCSTART-` lines skipped. CoNLL-2003's four columns, MSRA's two, and tab- or space-separated alike."""

from __future__ import annotations

from pathlib import Path

import datasets

from bertcli.errors import BertcliError
from bertcli.textfiles import utf8_problem

CONLL_FORMATS = (".txt", ".conll", ".bio", ".iob", ".iob2", ".bioes", ".bmes")


def read_conll(path: str | Path, tokens_column: str, tags_column: str) -> datasets.Dataset:
    path = Path(path)
    if not path.is_file():
        raise BertcliError(f"cannot read {path}: no such file")
    raw = path.read_bytes()
    problem = utf8_problem(raw)
    if problem:
        raise BertcliError(f"{path}: {problem}")
    sentences: list[list[str]] = []
    tags: list[list[str]] = []
    words: list[str] = []
    labels: list[str] = []
    for number, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        fields = line.split()
        if fields and fields[0] == "-DOCSTART-":
            continue
        if not fields:
            if words:
                sentences.append(words)
                tags.append(labels)
            words, labels = [], []
            continue
        if len(fields) < 2:
            raise BertcliError(
                f"{path} line {number} has one field ({fields[0]!r}): each line needs a token and its tag "
                "('token TAG'), and sentences a blank line between them"
            )
        words.append(fields[0])
        labels.append(fields[-1])
    if words:
        sentences.append(words)
        tags.append(labels)
    if not sentences:
        raise BertcliError(f"{path} holds no sentences: expected 'token TAG' lines, a blank line between sentences")
    return datasets.Dataset.from_dict({tokens_column: sentences, tags_column: tags})
