"""Pre-training: masking statistics, whole-word masking, NSP instances, and a run from scratch that learns."""

import json
import random

import pytest
import torch

from bertcli.tasks.pretraining.documents import documents_from_lines
from bertcli.tasks.pretraining.instances import IS_NEXT, NOT_NEXT, nsp_instances, packed_across_documents
from bertcli.tasks.pretraining.masking import Masker
from tests import synthetic
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


def random_batch(tokenizer, rows=400, width=128, seed=0):
    """Ordinary tokens with [CLS] ... [SEP] ... [SEP] and right padding."""
    g = torch.Generator().manual_seed(seed)
    special = set(tokenizer.all_special_ids)
    ordinary = torch.tensor([i for i in range(len(tokenizer)) if i not in special])
    ids = ordinary[torch.randint(len(ordinary), (rows, width), generator=g)]
    lengths = torch.randint(width // 2, width + 1, (rows,), generator=g)
    mask = torch.arange(width)[None, :] < lengths[:, None]
    ids[:, 0] = tokenizer.cls_token_id
    ids[torch.arange(rows), lengths - 1] = tokenizer.sep_token_id
    ids[torch.arange(rows), lengths // 2] = tokenizer.sep_token_id
    ids[~mask] = tokenizer.pad_token_id
    return ids, mask.long()


def test_masking_statistics(tokenizer):
    ids, attention = random_batch(tokenizer)
    corrupted, labels = Masker(tokenizer, 0.15)(ids, attention, torch.Generator().manual_seed(1))
    special = torch.isin(ids, torch.tensor(tokenizer.all_special_ids)) | (attention == 0)
    chosen = labels != -100
    assert not (chosen & special).any()  # never [CLS], [SEP] or padding
    assert (labels[chosen] == ids[chosen]).all()
    share = chosen.sum().item() / (~special).sum().item()
    assert abs(share - 0.15) < 0.01, share
    n = chosen.sum().item()
    masked = (corrupted[chosen] == tokenizer.mask_token_id).sum().item() / n
    unchanged = (corrupted[chosen] == ids[chosen]).sum().item() / n
    replaced = 1 - masked - unchanged
    assert abs(masked - 0.8) < 0.02 and abs(unchanged - 0.1) < 0.02 and abs(replaced - 0.1) < 0.02, (
        masked,
        unchanged,
        replaced,
    )
    assert (corrupted[~chosen] == ids[~chosen]).all()  # nothing else is touched


def test_whole_word_masking_never_splits_a_word(tokenizer):
    vocab = tokenizer.get_vocab()
    pieces = [i for t, i in vocab.items() if t.startswith("##")]
    starts = [i for t, i in vocab.items() if not t.startswith("##") and i not in tokenizer.all_special_ids]
    assert pieces, "the test tokenizer has WordPiece continuations"
    rng = random.Random(0)
    rows = []
    for _ in range(300):
        row = [tokenizer.cls_token_id]
        while len(row) < 63:
            row += [rng.choice(starts)] + [rng.choice(pieces) for _ in range(rng.randint(0, 3))]
        rows.append(row[:63] + [tokenizer.sep_token_id])
    ids = torch.tensor(rows)
    _, labels = Masker(tokenizer, 0.15, "whole-word")(ids, torch.ones_like(ids), torch.Generator().manual_seed(2))
    chosen = labels != -100
    continuation = torch.tensor([[t in set(pieces) for t in row] for row in rows])
    # a continuation piece is chosen exactly when the token before it is (same word)
    inside = continuation[:, 1:]
    assert (chosen[:, 1:][inside] == chosen[:, :-1][inside]).all()
    share = chosen.sum().item() / (ids.numel() - 2 * len(rows))
    assert 0.12 < share < 0.18


def tokenized_documents(n=1000, seed=0):
    """Documents of 'sentences' whose token ids say which document they come from: doc d uses d*1000 + k."""
    rng = random.Random(seed)
    return [
        [[d * 1000 + rng.randrange(1, 999) for _ in range(rng.randint(3, 30))] for _ in range(rng.randint(1, 12))]
        for d in range(n)
    ]


def test_nsp_instances_are_balanced_and_respect_documents():
    documents = tokenized_documents()
    labels, max_len = [], 64
    for index, document in enumerate(documents):
        rng = random.Random(index)
        for a, b, label in nsp_instances(document, index, len(documents), lambda j: documents[j], max_len, 0.1, rng):
            assert len(a) + len(b) + 3 <= max_len and a and b
            doc_a = {t // 1000 for t in a}
            doc_b = {t // 1000 for t in b}
            assert doc_a == {index}
            if label == IS_NEXT:
                assert doc_b == {index}  # a true continuation never leaves its document
            else:
                assert label == NOT_NEXT and index not in doc_b  # a random next always comes from another
            labels.append(label)
    assert len(labels) > 2000
    assert abs(sum(labels) / len(labels) - 0.5) < 0.03


def test_packing_across_documents_keeps_sentences_whole_and_separates_documents():
    """RoBERTa's FULL-SENTENCES: every sentence once, in order, whole (unless longer than a segment), segments that
    run on from one document into the next with a separator (0) between them, and fill up."""
    rng = random.Random(0)
    documents, k = [], 0
    for _ in range(60):  # sentence k is k+1 repeated: where each sentence went can be read off the pieces
        documents.append([[k + i + 1] * rng.randint(1, 20) for i in range(rng.randint(1, 6))])
        k += len(documents[-1])
    documents[7][0] = [documents[7][0][0]] * 70  # longer than a segment (30 tokens): cut
    pieces = list(packed_across_documents(documents, 32, separator=0))
    assert all(1 <= len(p) <= 30 for p in pieces)
    flat = [t for p in pieces for t in p]
    assert [t for t in flat if t] == [t for doc in documents for s in doc for t in s]  # all of it, in order
    for piece in pieces[:-1]:
        assert piece[0] != 0 and piece[-1] != 0  # a separator sits between two documents, inside a segment
    where = {}
    for i, piece in enumerate(pieces):
        for t in piece:
            where.setdefault(t, set()).add(i)
    cut = documents[7][0][0]
    assert all(len(pieces_of) == 1 for t, pieces_of in where.items() if t not in (0, cut))  # sentences whole
    document_of = {t: d for d, doc in enumerate(documents) for s in doc for t in s}
    for piece in pieces:  # within a segment: a separator exactly where one document ends and the next begins
        for i in range(1, len(piece)):
            if piece[i] == 0:
                assert document_of[piece[i + 1]] == document_of[piece[i - 1]] + 1
            elif piece[i - 1]:
                assert document_of[piece[i]] == document_of[piece[i - 1]]
    assert sum(len(p) for p in pieces) / len(pieces) > 22  # full segments, not one a sentence


def test_documents_from_text_and_wikitext_headings():
    plain = ["first sentence .", "second one .", "", "another document .", ""]
    assert list(documents_from_lines(plain)) == [["first sentence .", "second one ."], ["another document ."]]
    wiki = [
        " = Homarus = ",
        "",
        " It is big . It is blue . ",
        "",
        " = = Habitat = = ",
        "",
        " Sea . ",
        "",
        " = Robert = ",
        "",
        " An actor . ",
    ]
    assert list(documents_from_lines(wiki)) == [["It is big .", "It is blue .", "Sea ."], ["An actor ."]]


@pytest.fixture(scope="module")
def pretrain_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrain")
    (root / "corpus.txt").write_text(synthetic.corpus(300, seed=1))
    (root / "held-out.txt").write_text(synthetic.corpus(40, seed=2))
    model = root / "tiny"
    assert (
        run_cli("init-model", model, "--size", "tiny", "--corpus", root / "corpus.txt", "--vocab-size", 300).code == 0
    )
    return root


def test_pretraining_from_scratch_learns(pretrain_data, tmp_path):
    out = tmp_path / "pretrained"
    result = run_cli(
        "pretrain",
        "--model",
        pretrain_data / "tiny",
        "--output-dir",
        out,
        "--train-file",
        pretrain_data / "corpus.txt",
        "--validation-file",
        pretrain_data / "held-out.txt",
        "--max-seq-length",
        "64",
        "--batch-size",
        "32",
        "--lr",
        "1e-3",
        "--epochs",
        "20",
        "--warmup-ratio",
        "0.05",
        "--logging-steps",
        "10",
        "--eval-steps",
        "1000",
        "--save-steps",
        "0",
    )
    assert result.code == 0, result.stderr
    metrics = result.metrics(out)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in log if "loss" in r]
    assert losses[-1] < 0.7 * losses[0], losses  # MLM + NSP loss, from about ln(vocabulary) + ln(2)
    assert metrics["nsp_accuracy"] > 0.7, metrics  # chance is 0.5
    assert metrics["mlm_accuracy"] > 0.15 and metrics["perplexity"] < 30, metrics  # chance is 1/245
    for key in ("mlm_accuracy", "nsp_accuracy", "loss", "perplexity", "train_tokens_per_second"):
        assert key in metrics

    from transformers import AutoModelForPreTraining, pipeline

    assert AutoModelForPreTraining.from_pretrained(out).config.architectures == ["BertForPreTraining"]
    fill = pipeline("fill-mask", model=str(out))
    guesses = [g["token_str"] for g in fill("the captain and the crew sail the [MASK] .", top_k=5)]
    assert set(guesses) & set(synthetic.TOPICS[0]), guesses

    # the pre-trained directory is a --model for fine-tuning (its heads replaced)
    rows = synthetic.sentiment(64, seed=3)
    train = synthetic.write_csv(tmp_path / "cls.csv", rows, ["sentence", "label"])
    finetuned = run_cli(
        "finetune",
        "cls",
        "--model",
        out,
        "--output-dir",
        tmp_path / "cls",
        "--train-file",
        train,
        "--validation-file",
        train,
        "--text-column",
        "sentence",
        "--max-steps",
        "2",
    )
    assert finetuned.code == 0, finetuned.stderr


def test_mlm_only_and_whole_word_masking_learns(pretrain_data, tmp_path):
    def pretrain(out, *extra):
        result = run_cli(
            "pretrain",
            "--model",
            pretrain_data / "tiny",
            "--output-dir",
            out,
            "--no-nsp",
            "--whole-word-masking",
            "--train-file",
            pretrain_data / "corpus.txt",
            "--max-seq-length",
            "64",
            "--batch-size",
            "16",
            *extra,
        )
        assert result.code == 0, result.stderr
        return result.metrics(out)

    untrained = pretrain(tmp_path / "untrained", "--max-steps", "1", "--lr", "1e-9")
    trained = pretrain(tmp_path / "mlm", "--max-steps", "150", "--lr", "1e-3", "--dropout", "0")
    assert "nsp_accuracy" not in trained
    # the same held-out masks: from about the vocabulary size (300) to a few dozen candidates per masked word
    assert untrained["perplexity"] > 150 and trained["perplexity"] < 0.25 * untrained["perplexity"], (
        untrained,
        trained,
    )
    assert trained["mlm_accuracy"] > untrained["mlm_accuracy"]
    saved = json.loads((tmp_path / "mlm" / "config.json").read_text())
    assert saved["architectures"] == ["BertForMaskedLM"]
    assert saved["hidden_dropout_prob"] == 0.1  # --dropout 0 was for pre-training: fine-tuning gets the model's own


@pytest.mark.parametrize("spec, objective", [("pretrain", "mlm"), ("pretrain", "electra"), ("distill-general", "mlm")])
def test_dropout_flag_sets_every_dropout_of_the_trained_models_and_leaves_their_configs(pretrain_data, spec, objective):
    from bertcli.config import resolve
    from bertcli.tasks import registry
    from bertcli.training.setup import set_up

    tiny = pretrain_data / "tiny"
    task = registry.get(spec)

    def models(*dropout):
        flags = {
            "model": str(tiny),
            "output_dir": str(tiny.parent / "unused"),
            "data": {"train_file": str(pretrain_data / "corpus.txt")},
            "options": {"objective": objective, **({"dropout": dropout[0]} if dropout else {})},
        }
        return set_up(resolve(task, None, None, flags, check_output=False), task, training=True).models.trained

    def twice_the_same(model):  # in training mode: only dropout can make two passes differ
        ids = torch.randint(5, 200, (2, 16), generator=torch.Generator().manual_seed(0))
        encoder = getattr(model, "electra", None) or getattr(model, "bert", None) or model
        model.train()
        return torch.equal(encoder(ids).last_hidden_state, encoder(ids).last_hidden_state)

    plain, off = models(), models(0.0)
    assert set(off) == ({"model", "generator"} if objective == "electra" else {"model"})
    for name, model in off.items():
        assert model.config.hidden_dropout_prob == model.config.attention_probs_dropout_prob == 0.1
        assert all(m.p == 0.0 for m in model.modules() if isinstance(m, torch.nn.Dropout))
        assert twice_the_same(model) and not twice_the_same(plain[name])


def test_a_single_document_cannot_teach_nsp(pretrain_data, tmp_path):
    (tmp_path / "one.txt").write_text("just one document .\nwith two sentences .\n")
    result = run_cli(
        "pretrain",
        "--model",
        pretrain_data / "tiny",
        "--output-dir",
        tmp_path / "o",
        "--train-file",
        tmp_path / "one.txt",
        "--validation-file",
        tmp_path / "one.txt",
    )
    assert result.code == 2 and "at least 2 documents" in result.stderr


def test_compiled_training_saves_the_plain_model(pretrain_data, tmp_path):
    """--compile wraps the model's forward in place: checkpoints and the saved model keep the plain weight names."""
    from safetensors.torch import load_file
    from transformers import AutoModelForPreTraining

    out = tmp_path / "compiled"
    try:
        result = run_cli(
            "pretrain",
            "--model",
            pretrain_data / "tiny",
            "--output-dir",
            out,
            "--compile",
            "--train-file",
            pretrain_data / "corpus.txt",
            "--max-seq-length",
            "32",
            "--batch-size",
            "16",
            "--max-steps",
            "4",
            "--save-steps",
            "2",
            "--no-group-by-length",
            "--max-eval-samples",
            "16",
        )
    finally:
        torch._dynamo.reset()
    assert result.code == 0, result.stderr
    init = load_file(pretrain_data / "tiny" / "model.safetensors")
    for saved in (out / "model.safetensors", out / "checkpoints" / "step-2" / "model.safetensors"):
        weights = load_file(saved)
        assert weights.keys() == init.keys(), saved
        assert any(not torch.equal(weights[k], init[k]) for k in init), "training changed no weight"
    AutoModelForPreTraining.from_pretrained(out)
