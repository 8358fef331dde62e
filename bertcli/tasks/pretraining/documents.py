"""Pre-training documents: each a list of sentences, read from text files, tables or hub data sets.

Text files hold one sentence or paragraph a line and a blank line between documents; WikiText-style files, whose
articles start with a ` = Title = ` line, are split at those headings instead. Tables and hub data sets hold one
document a row of their text column, or (`line_by_line`) one line a row of a running text. Long lines are split
into sentences; with `clean_html`, HTML line breaks (`<br />`, as in IMDB's reviews) are line breaks (never a
document boundary), other tags are dropped and entities unescaped. Every reader gives a datasets.Dataset with one
row per document: {"sentences": [...]}.
"""

from __future__ import annotations

import html
import re
from itertools import islice
from pathlib import Path
from typing import Iterator

import datasets

from bertcli.config import DataSource
from bertcli.data import load_file, load_split, require_columns
from bertcli.errors import BertcliError

TABLE_FORMATS = (".csv", ".tsv", ".json", ".jsonl", ".parquet")  # one document a row, in --text-column
TOP_HEADING = re.compile(r"^= [^=].* =$")  # WikiText article title: " = Homarus gammarus = "
SUB_HEADING = re.compile(r"^(= ){2,}.*( =){2,}$")
# After . ! ? and a space, before what starts a sentence; after 。！？ (no space), not before a closing quote.
HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
SPACES = re.compile(r"[ \t]{2,}")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])|(?<=[。！？])(?![”’」』）])\s*")


def load_documents(data, split: str, with_extra_sources: bool) -> datasets.Dataset:
    """The documents of `split` ("train" or "validation") as the data settings (PretrainingData) name them."""
    path = data.train_file if split == "train" else data.validation_file
    if path and Path(path).suffix.lower() not in TABLE_FORMATS:  # plain text: .txt, WikiText's .tokens, ...
        documents = datasets.Dataset.from_generator(
            _text_documents,
            gen_kwargs={"path": path, "signature": file_signature(path), "clean_html": data.clean_html},
        )
    elif path:
        documents = _table_documents(load_file(path), data.text_column, path, data.clean_html)
    else:
        sources = [
            {
                "dataset": data.dataset,
                "config": data.dataset_config,
                "text_column": data.text_column,
                "line_by_line": data.line_by_line,
                "lines_per_document": data.lines_per_document,
                "clean_html": data.clean_html,
            }
        ]
        sources += (data.extra_sources or []) if with_extra_sources else []
        split_name = data.train_split if split == "train" else data.validation_split
        documents = datasets.concatenate_datasets([_hub_documents(source, split_name) for source in sources])
    if len(documents) == 0:
        raise BertcliError(f"{path or data.dataset} holds no text")
    return documents


def html_to_text(text: str) -> str:
    """HTML line breaks as newlines, other tags dropped, entities (&amp;) unescaped."""
    return html.unescape(SPACES.sub(" ", HTML_TAG.sub(" ", HTML_BREAK.sub("\n", text))))


def split_sentences(line: str) -> list[str]:
    return [s for s in SENTENCE_END.split(line) if s.strip()]


def documents_from_lines(lines: Iterator[str]) -> Iterator[list[str]]:
    """Documents (lists of sentences) from text lines: blank lines separate documents, unless the text has
    WikiText article headings, which then do (and its blank lines only separate paragraphs)."""
    lines = iter(lines)
    head = [line for _, line in zip(range(2000), lines)]
    by_heading = any(TOP_HEADING.match(line.strip()) for line in head)
    document: list[str] = []
    for line in (*head, *lines):
        text = line.strip()
        boundary = TOP_HEADING.match(text) if by_heading else not text
        if boundary:
            if document:
                yield document
            document = []
        elif text and not SUB_HEADING.match(text):
            document.extend(split_sentences(text))
    if document:
        yield document


def text_file_documents(path: str, clean_html: bool = False) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        lines = _html_lines(f) if clean_html else f
        for sentences in documents_from_lines(lines):
            yield {"sentences": sentences}


def _html_lines(lines: Iterator[str]) -> Iterator[str]:
    """Each line's HTML line breaks as lines of their own; only a line that was blank stays blank (a document
    boundary), never one that a break made."""
    for line in lines:
        if not line.strip():
            yield line
        else:
            yield from (part for part in html_to_text(line).split("\n") if part.strip())


def file_signature(path: str) -> str:
    """Changes when the file does: it goes into the cache key of documents read from it."""
    stat = Path(path).stat()
    return f"{Path(path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def _text_documents(path: str, signature: str, clean_html: bool):
    """Generator for datasets.Dataset.from_generator; `signature` is only there to key the cache."""
    yield from text_file_documents(path, clean_html)


def _table_documents(table, column: str, source: str, clean_html: bool = False):
    """One document a row of `column`."""
    require_columns(table, {"--text-column": column}, source)
    documents = table.map(
        lambda batch: {"sentences": [_row_sentences(t, clean_html) for t in batch[column]]},
        batched=True,
        remove_columns=table.column_names,
        desc="Reading documents",
    )
    return documents.filter(lambda batch: [bool(s) for s in batch["sentences"]], batched=True)


def _hub_documents(source: dict, split: str):
    name, column = source["dataset"], source.get("text_column", "text")
    if not source.get("line_by_line"):
        table = load_split(DataSource(dataset=name, dataset_config=source.get("config"), train_split=split), "train")
        return _table_documents(table, column, f"{name} ({split})", source.get("clean_html", False))
    kwargs = {
        "name": name,
        "config": source.get("config"),
        "split": split,
        "column": column,
        "lines_per_document": source.get("lines_per_document"),
        "clean_html": source.get("clean_html", False),
    }
    return datasets.Dataset.from_generator(_line_stream_documents, gen_kwargs=kwargs)


def _line_stream_documents(name, config, split, column, lines_per_document, clean_html):
    """Documents of a hub data set whose rows are lines (split at headings / blank lines, or every N lines)."""
    table = load_split(DataSource(dataset=name, dataset_config=config, train_split=split), "train")
    lines = (row[column] or "" for row in table)
    lines = _html_lines(lines) if clean_html else lines
    if lines_per_document:
        while block := list(islice(lines, lines_per_document)):
            sentences = [s for line in block if line.strip() for s in split_sentences(line.strip())]
            if sentences:
                yield {"sentences": sentences}
    else:
        for sentences in documents_from_lines(lines):
            yield {"sentences": sentences}


def _row_sentences(text, clean_html: bool = False) -> list[str]:
    """One table row is one document: its lines, long lines split into sentences."""
    if not text:
        return []
    text = html_to_text(str(text)) if clean_html else text
    return [s for line in str(text).splitlines() if line.strip() for s in split_sentences(line.strip())]
