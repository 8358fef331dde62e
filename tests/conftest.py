"""Shared fixtures: an isolated Hugging Face cache, synthetic data the tests write and a tiny BERT made by
`bertcli init-model`. Helpers that are not fixtures live in tests/helpers.py, the data in tests/synthetic.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests import synthetic
from tests.helpers import finetune_sentiment_args, reset_accelerate, run_cli


@pytest.fixture(scope="session", autouse=True)
def isolated_hf_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    os.environ.update(
        HF_HOME=str(root),
        HF_DATASETS_CACHE=str(root / "datasets"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
    )
    yield root


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """Accelerate keeps process-wide singletons; each in-process CLI run starts from a clean slate."""
    yield
    reset_accelerate()


@pytest.fixture(scope="session")
def sentiment_data(tmp_path_factory) -> dict[str, Path]:
    """A learnable sentiment task: the label is whether the sentence holds a positive or a negative word."""
    root = tmp_path_factory.mktemp("sentiment")
    train = synthetic.sentiment(600, seed=1)
    validation = synthetic.sentiment(200, seed=2)
    paths = {
        "train": synthetic.write_csv(root / "train.csv", train, ["sentence", "label"]),
        "validation": synthetic.write_csv(root / "validation.csv", validation, ["sentence", "label"]),
        "corpus": root / "corpus.txt",
    }
    paths["corpus"].write_text("".join(text + "\n" for text, _ in train + validation))
    return paths


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, sentiment_data) -> Path:
    """A random tiny BERT (2 layers, hidden 128) with a WordPiece vocabulary of the synthetic corpus."""
    out = tmp_path_factory.mktemp("models") / "tiny"
    result = run_cli("init-model", out, "--size", "tiny", "--corpus", sentiment_data["corpus"], "--vocab-size", 500)
    assert result.code == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def classifier(tmp_path_factory, tiny_model, sentiment_data) -> Path:
    """The tiny BERT fine-tuned on the sentiment task (5 epochs at the fast settings; accuracy 1.0), trained once for
    every test that reads a trained classifier: predict, evaluate, export, serve, embed, a distillation's teacher.
    No test may write into it."""
    out = tmp_path_factory.mktemp("classifier") / "sentiment"
    result = run_cli(*finetune_sentiment_args(tiny_model, out, sentiment_data, epochs=5))
    assert result.code == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model):
    """The tiny model's tokenizer (transformers' fast BertTokenizer)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture(scope="session")
def topic_corpus(tmp_path_factory) -> Path:
    """Pre-training data: a directory with corpus.txt (300 documents of sentences about one topic each),
    held-out.txt (40 more) and `tiny`, a random tiny BERT with a WordPiece vocabulary of 300 from the corpus."""
    root = tmp_path_factory.mktemp("topics")
    (root / "corpus.txt").write_text(synthetic.corpus(300, seed=1))
    (root / "held-out.txt").write_text(synthetic.corpus(40, seed=2))
    result = run_cli(
        "init-model", root / "tiny", "--size", "tiny", "--corpus", root / "corpus.txt", "--vocab-size", 300
    )
    assert result.code == 0, result.stderr
    return root


@pytest.fixture(scope="session")
def ner_model(tmp_path_factory):
    """A tiny random BERT whose small vocabulary splits most names into several pieces."""
    root = tmp_path_factory.mktemp("ner-model")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(" ".join(row["tokens"]) for row in synthetic.ner(400, seed=9)) + "\n")
    result = run_cli("init-model", root / "tiny", "--size", "tiny", "--corpus", corpus, "--vocab-size", 120)
    assert result.code == 0, result.stderr
    return root / "tiny"
