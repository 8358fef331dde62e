"""`bertcli pretrain` end to end: from scratch it learns (MLM + NSP, MLM alone with whole-word masking), a small
corpus holds out enough documents, --dropout and --compile do what they say. Masking, instances and documents are
tested on their own beside this file."""

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForPreTraining

from tests import synthetic
from tests.helpers import (
    assert_one_line_error,
    finetune_cls_args,
    metrics,
    read_log,
    run_bertcli,
    run_cli,
    training_args,
)


def test_pretraining_from_scratch_learns(topic_corpus, tmp_path):
    out = tmp_path / "pretrained"
    data = (topic_corpus / "corpus.txt", topic_corpus / "held-out.txt")
    schedule = {"lr": "1e-3", "epochs": 20, "warmup_ratio": 0.05, "logging_steps": 10, "eval_steps": 1000}
    args = training_args("pretrain", topic_corpus / "tiny", out, *data, max_seq_length=64, batch_size=32, **schedule)
    result = run_cli(*args, "--save-steps", "0")
    assert result.code == 0, result.stderr
    scores = metrics(out)
    losses = [r["loss"] for r in read_log(out) if "loss" in r]
    assert losses[-1] < 0.7 * losses[0], losses  # MLM + NSP loss, from about ln(vocabulary) + ln(2)
    assert scores["nsp_accuracy"] > 0.7, scores  # chance is 0.5
    assert scores["mlm_accuracy"] > 0.15 and scores["perplexity"] < 30, scores  # chance is 1/245
    for key in ("mlm_accuracy", "nsp_accuracy", "loss", "perplexity", "train_tokens_per_second"):
        assert key in scores

    from transformers import pipeline

    assert AutoModelForPreTraining.from_pretrained(out).config.architectures == ["BertForPreTraining"]
    fill = pipeline("fill-mask", model=str(out))
    guesses = [g["token_str"] for g in fill("the captain and the crew sail the [MASK] .", top_k=5)]
    assert set(guesses) & set(synthetic.TOPICS[0]), guesses

    # the pre-trained directory is a --model for fine-tuning (its heads replaced)
    rows = synthetic.sentiment(64, seed=3)
    train = synthetic.write_csv(tmp_path / "cls.csv", rows, ["sentence", "label"])
    finetuned = run_cli(*finetune_cls_args(out, tmp_path / "cls", train, train, tiny=False, max_steps=2))
    assert finetuned.code == 0, finetuned.stderr


def test_mlm_only_and_whole_word_masking_learns(topic_corpus, tmp_path):
    def pretrain(out, *extra):
        masking = {"nsp": False, "whole_word_masking": True, "max_seq_length": 64, "batch_size": 16}
        result = run_cli(
            *training_args("pretrain", topic_corpus / "tiny", out, topic_corpus / "corpus.txt", None, *extra, **masking)
        )
        assert result.code == 0, result.stderr
        return metrics(out)

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
def test_dropout_flag_sets_every_dropout_of_the_trained_models_and_leaves_their_configs(topic_corpus, spec, objective):
    from bertcli.config import resolve
    from bertcli.tasks import registry
    from bertcli.training.setup import set_up

    tiny = topic_corpus / "tiny"
    task = registry.get(spec)

    def models(*dropout):
        flags = {
            "model": str(tiny),
            "output_dir": str(tiny.parent / "unused"),
            "data": {"train_file": str(topic_corpus / "corpus.txt")},
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


def test_a_single_document_cannot_teach_nsp(topic_corpus, tmp_path):
    (tmp_path / "one.txt").write_text("just one document .\nwith two sentences .\n")
    one = tmp_path / "one.txt"
    result = run_cli(*training_args("pretrain", topic_corpus / "tiny", tmp_path / "o", one, one))
    assert result.code == 2 and "at least 2 documents" in result.stderr


def test_compiled_training_saves_the_plain_model(topic_corpus, tmp_path):
    """--compile wraps the model's forward in place: checkpoints and the saved model keep the plain weight names."""
    out = tmp_path / "compiled"
    try:
        short = {"max_seq_length": 32, "batch_size": 16, "max_steps": 4, "save_steps": 2, "max_eval_samples": 16}
        args = training_args("pretrain", topic_corpus / "tiny", out, topic_corpus / "corpus.txt", **short)
        result = run_cli(*args, "--compile", "--no-group-by-length")
    finally:
        torch._dynamo.reset()
    assert result.code == 0, result.stderr
    init = load_file(topic_corpus / "tiny" / "model.safetensors")
    for saved in (out / "model.safetensors", out / "checkpoints" / "step-2" / "model.safetensors"):
        weights = load_file(saved)
        assert weights.keys() == init.keys(), saved
        assert any(not torch.equal(weights[k], init[k]) for k in init), "training changed no weight"
    AutoModelForPreTraining.from_pretrained(out)


def test_pretraining_a_small_corpus_holds_out_enough_documents(tiny_model, tmp_path):
    """Twelve documents: 5% would hold out one, and next-sentence prediction needs two to draw NotNext pairs."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(synthetic.corpus(12, seed=3))
    out = tmp_path / "out"
    result = run_bertcli(*training_args("pretrain", tiny_model, out, corpus, max_steps=2, max_seq_length=32))
    assert result.code == 0, result.stderr
    held_out = metrics(out)
    assert "nsp_accuracy" in held_out and held_out["eval_samples"] >= 2  # NSP pairs drawn from the 2 held-out documents

    few = tmp_path / "few.txt"
    few.write_text(synthetic.corpus(3, seed=3))
    result = run_bertcli(*training_args("pretrain", tiny_model, tmp_path / "few", few))
    assert_one_line_error(
        result,
        "holds 3 documents: too few to hold out 2 for evaluation (--validation-split-percentage)",
        "pass --validation-file",
    )
