"""ELECTRA pre-training (`--objective electra`).

The generator's samples go exactly where the masks are; the replaced-token labels count a sample equal to the
original as original; sampling follows the generator's distribution; the shared embeddings stay one parameter
through a checkpoint and an exact resume; the discriminator loads as a classifier and the generator as a fill-mask
pipeline; a tiny ELECTRA run learns to spot replaced tokens. (Span masking: test_masking.py.)
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from bertcli.tasks.pretraining.electra import generator_config, replace_masked, sample
from tests.helpers import assert_one_line_error, metrics, run_bertcli, run_cli, training_args


def test_samples_replace_exactly_the_masked_positions_and_labels_count_equal_samples_as_original():
    original = torch.tensor([[2, 10, 11, 12, 13, 3, 0], [2, 20, 21, 22, 3, 0, 0]])
    masked = torch.tensor([[2, 4, 11, 4, 13, 3, 0], [2, 20, 4, 4, 3, 0, 0]])  # 4 = [MASK]
    labels = torch.full_like(original, -100)
    chosen = masked == 4
    labels[chosen] = original[chosen]
    sampled = torch.tensor([99, 12, 21, 7])  # row-major order of the masks; the 2nd and 3rd equal the original
    corrupted, replaced = replace_masked(masked, labels, sampled)
    assert torch.equal(corrupted[~chosen], original[~chosen])  # every other token is the original, not [MASK]
    assert torch.equal(corrupted[chosen], sampled)
    assert replaced.tolist() == [[0, 1, 0, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0, 0]]


def test_a_random_replacement_or_kept_token_is_still_labelled_by_its_original():
    """The 10% random / 10% kept tokens of the generator's input: the discriminator compares with the original."""
    original = torch.tensor([[2, 10, 11, 3]])
    generator_input = torch.tensor([[2, 55, 11, 3]])  # position 1 randomly replaced, position 2 kept (both chosen)
    labels = torch.tensor([[-100, 10, 11, -100]])
    corrupted, replaced = replace_masked(generator_input, labels, torch.tensor([10, 30]))
    assert corrupted.tolist() == [[2, 10, 30, 3]] and replaced.tolist() == [[0, 0, 1, 0]]
    del original


def test_sampling_follows_the_generator_distribution():
    logits = torch.tensor([[0.0, 1.0, 2.0, -1.0]]).repeat(40_000, 1)
    g = torch.Generator().manual_seed(0)
    tokens = sample(logits, torch.rand(40_000, generator=g))
    share = torch.bincount(tokens, minlength=4).double() / len(tokens)
    assert torch.allclose(share, torch.softmax(logits[0].double(), 0), atol=0.01), share
    assert sample(torch.tensor([[-1e4, 5.0, -1e4]]), torch.tensor([0.999999])).item() == 1


def electra(corpus, out, *extra):
    data = (corpus / "corpus.txt", corpus / "held-out.txt")
    settings = {"objective": "electra", "max_seq_length": 64, "batch_size": 32, "report": False}
    result = run_cli(*training_args("pretrain", corpus / "tiny", out, *data, *extra, **settings))
    assert result.code == 0, result.stderr
    return metrics(out)


def test_a_tiny_electra_run_learns_to_spot_replaced_tokens(topic_corpus, tmp_path):
    untrained = electra(topic_corpus, tmp_path / "untrained", "--max-steps", "1", "--lr", "1e-9")
    trained = electra(topic_corpus, tmp_path / "trained", "--max-steps", "150", "--lr", "1e-3", "--save-steps", "0")
    # better than knowing the replaced share alone: the discriminator tells replaced tokens from original ones
    assert trained["rtd_loss"] < trained["rtd_prior_loss"] - 0.005, trained
    assert trained["rtd_accuracy"] >= 1 - trained["replaced_share"]  # never worse than calling all original
    assert untrained["rtd_loss"] > untrained["rtd_prior_loss"]
    assert trained["mlm_accuracy"] > untrained["mlm_accuracy"] + 0.05  # the generator learns too
    for name in ("rtd_accuracy", "rtd_f1", "mlm_accuracy", "loss"):
        assert name in trained


def test_outputs_load_as_a_classifier_and_a_fill_mask_generator_and_resume_exactly(topic_corpus, tmp_path):
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

    args = ("--max-steps", "6", "--save-steps", "3", "--eval-steps", "6", "--lr", "1e-3", "--save-total-limit", "2")
    electra(topic_corpus, tmp_path / "whole", *args)
    electra(
        topic_corpus,
        tmp_path / "resumed",
        *args,
        "--resume-from-checkpoint",
        tmp_path / "whole" / "checkpoints" / "step-3",
    )
    for part in ("model.safetensors", "generator/model.safetensors"):
        got, expected = load_file(tmp_path / "resumed" / part), load_file(tmp_path / "whole" / part)
        assert got.keys() == expected.keys()
        assert all(torch.equal(got[k], expected[k]) for k in expected), part
    out = tmp_path / "whole"
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertForReplacedTokenDetection"]
    classifier = AutoModelForSequenceClassification.from_pretrained(out, num_labels=2)
    saved = load_file(out / "model.safetensors")
    assert torch.equal(
        classifier.bert.encoder.layer[0].attention.self.query.weight,
        saved["bert.encoder.layer.0.attention.self.query.weight"],
    )
    assert AutoModel.from_pretrained(out).config.hidden_size == classifier.config.hidden_size
    generator = load_file(out / "generator" / "model.safetensors")
    # the shared embeddings were one parameter when saved: both files hold the same table
    assert torch.equal(
        generator["electra.embeddings.word_embeddings.weight"], saved["bert.embeddings.word_embeddings.weight"]
    )
    assert torch.equal(
        generator["electra.embeddings.position_embeddings.weight"], saved["bert.embeddings.position_embeddings.weight"]
    )
    fill = pipeline("fill-mask", model=str(out / "generator"))  # the tokenizer saved beside it, not a blank one
    assert fill.tokenizer.get_vocab() == AutoTokenizer.from_pretrained(out).get_vocab()
    assert fill.tokenizer.unk_token_id not in fill.tokenizer("the ship")["input_ids"]
    assert len(fill("the ship [MASK] .")) == 5
    refused = run_bertcli("predict", "-m", out, "the ship [MASK] .")  # no masked-LM head: says what to do instead
    assert_one_line_error(refused, "ELECTRA discriminator", "generator")


def test_shared_embeddings_stay_shared_after_a_checkpoint_round_trip(topic_corpus, tmp_path):
    from transformers import AutoTokenizer

    from bertcli.config import resolve
    from bertcli.tasks import registry
    from bertcli.tasks.base import TaskData
    from bertcli.tasks.pretraining.objective import pretraining_task
    from bertcli.training.modules import TrainingModule

    spec = registry.get("pretrain")
    flags = {
        "model": str(topic_corpus / "tiny"),
        "output_dir": str(tmp_path / "o"),
        "options": {"objective": "electra"},
    }
    cfg = resolve(spec, None, None, {**flags, "data": {"train_file": str(topic_corpus / "corpus.txt")}})
    from transformers import AutoConfig

    task = pretraining_task(
        cfg, AutoTokenizer.from_pretrained(topic_corpus / "tiny"), AutoConfig.from_pretrained(topic_corpus / "tiny")
    )
    module = TrainingModule(task, task.build_models(TaskData(None, None)))
    module.save(tmp_path / "saved")
    fresh = TrainingModule(task, task.build_models(TaskData(None, None)))
    with torch.no_grad():
        fresh.trained["model"].bert.embeddings.word_embeddings.weight.add_(1.0)  # differ before loading
    fresh.load(tmp_path / "saved", "cpu")
    discriminator, generator = fresh.trained["model"], fresh.trained["generator"]
    shared = discriminator.bert.embeddings.word_embeddings.weight
    assert generator.electra.embeddings.word_embeddings.weight is shared
    assert (
        generator.electra.embeddings.position_embeddings.weight
        is discriminator.bert.embeddings.position_embeddings.weight
    )
    assert generator.generator_lm_head.weight is shared  # the generator's output layer is tied to them
    assert torch.equal(shared, module.trained["model"].bert.embeddings.word_embeddings.weight)
    assert sum(p is shared for p in fresh.parameters()) == 1  # one parameter: optimised once
    width = generator.config.hidden_size
    assert width == discriminator.config.hidden_size // 4 or generator.config.num_attention_heads == 1


def test_generator_size_scales_width_and_heads_and_generator_layers_sets_its_depth():
    from transformers import BertConfig

    model = BertConfig(hidden_size=256, num_attention_heads=4, intermediate_size=1024, num_hidden_layers=4)
    quarter = generator_config(model, 0.25)
    assert (quarter.hidden_size, quarter.num_attention_heads, quarter.intermediate_size) == (64, 1, 256)
    assert quarter.num_hidden_layers == 4 and quarter.embedding_size == 256  # its depth; the shared embeddings' width
    shallow = generator_config(model, 1.0, layers=1)
    assert (shallow.hidden_size, shallow.num_attention_heads, shallow.num_hidden_layers) == (256, 4, 1)


@pytest.mark.parametrize("flag, value", [("--generator-size", "1.5"), ("--generator-layers", "0")])
def test_electra_flags_are_checked(topic_corpus, tmp_path, flag, value):
    common = ["-m", topic_corpus / "tiny", "-o", tmp_path / "o", "--train-file", topic_corpus / "corpus.txt"]
    result = run_bertcli("pretrain", *common, "--objective", "electra", flag, value)
    assert_one_line_error(result, flag)
    assert not (tmp_path / "o").exists()  # refused before anything is written
