"""ELECTRA pre-training (`--objective electra`), span masking and HTML cleaning of pre-training text.

The generator's samples go exactly where the masks are; the replaced-token labels count a sample equal to the
original as original; sampling follows the generator's distribution; the shared embeddings stay one parameter
through a checkpoint and an exact resume; the discriminator loads as a classifier and the generator as a fill-mask
pipeline; span lengths follow SpanBERT's distribution; a tiny ELECTRA run learns to spot replaced tokens.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from bertcli.tasks.pretraining.documents import _row_sentences, text_file_documents
from bertcli.tasks.pretraining.electra import generator_config, replace_masked, sample
from bertcli.tasks.pretraining.masking import SPAN_LENGTHS, Masker
from tests import synthetic
from tests.conftest import assert_one_line_error, run_bertcli, run_cli


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


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("electra")
    (root / "corpus.txt").write_text(synthetic.corpus(300, seed=1))
    (root / "held-out.txt").write_text(synthetic.corpus(40, seed=2))
    assert (
        run_cli(
            "init-model", root / "tiny", "--size", "tiny", "--corpus", root / "corpus.txt", "--vocab-size", 300
        ).code
        == 0
    )
    return root


def electra(corpus, out, *extra):
    result = run_cli(
        "pretrain",
        "--model",
        corpus / "tiny",
        "--output-dir",
        out,
        "--objective",
        "electra",
        "--train-file",
        corpus / "corpus.txt",
        "--validation-file",
        corpus / "held-out.txt",
        "--max-seq-length",
        "64",
        "--batch-size",
        "32",
        "--no-report",
        *extra,
    )
    assert result.code == 0, result.stderr
    return result.metrics(out)


def test_a_tiny_electra_run_learns_to_spot_replaced_tokens(corpus, tmp_path):
    untrained = electra(corpus, tmp_path / "untrained", "--max-steps", "1", "--lr", "1e-9")
    trained = electra(corpus, tmp_path / "trained", "--max-steps", "150", "--lr", "1e-3", "--save-steps", "0")
    # better than knowing the replaced share alone: the discriminator tells replaced tokens from original ones
    assert trained["rtd_loss"] < trained["rtd_prior_loss"] - 0.005, trained
    assert trained["rtd_accuracy"] >= 1 - trained["replaced_share"]  # never worse than calling all original
    assert untrained["rtd_loss"] > untrained["rtd_prior_loss"]
    assert trained["mlm_accuracy"] > untrained["mlm_accuracy"] + 0.05  # the generator learns too
    for name in ("rtd_accuracy", "rtd_f1", "mlm_accuracy", "loss"):
        assert name in trained


def test_outputs_load_as_a_classifier_and_a_fill_mask_generator_and_resume_exactly(corpus, tmp_path):
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

    args = ("--max-steps", "6", "--save-steps", "3", "--eval-steps", "6", "--lr", "1e-3", "--save-total-limit", "2")
    electra(corpus, tmp_path / "whole", *args)
    electra(
        corpus,
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


def test_shared_embeddings_stay_shared_after_a_checkpoint_round_trip(corpus, tmp_path):
    from transformers import AutoTokenizer

    from bertcli.config import resolve
    from bertcli.tasks import registry
    from bertcli.tasks.base import TaskData
    from bertcli.tasks.pretraining.objective import pretraining_task
    from bertcli.training.modules import TrainingModule

    spec = registry.get("pretrain")
    flags = {"model": str(corpus / "tiny"), "output_dir": str(tmp_path / "o"), "options": {"objective": "electra"}}
    cfg = resolve(spec, None, None, {**flags, "data": {"train_file": str(corpus / "corpus.txt")}})
    from transformers import AutoConfig

    task = pretraining_task(
        cfg, AutoTokenizer.from_pretrained(corpus / "tiny"), AutoConfig.from_pretrained(corpus / "tiny")
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


def test_span_lengths_follow_spanbert_distribution(tiny_model):
    """On long rows of one-token words with a small budget (spans rarely touch), the masked runs' lengths follow
    the geometric distribution (p 0.2) cut at 10 words: mean 3.8."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    words = [
        i for t, i in tokenizer.get_vocab().items() if not t.startswith("##") and i not in tokenizer.all_special_ids
    ]
    g = torch.Generator().manual_seed(0)
    ids = torch.tensor(words)[torch.randint(len(words), (60, 1000), generator=g)]
    ids[:, 0], ids[:, -1] = tokenizer.cls_token_id, tokenizer.sep_token_id
    masker = Masker(tokenizer, 0.04, "span")
    corrupted, labels = masker(ids, torch.ones_like(ids), g)
    chosen = labels != -100
    assert abs(chosen.sum().item() / (60 * 998) - 0.04) < 0.002  # the budget
    runs = []
    for row in chosen.int().tolist():
        length = 0
        for c in row + [0]:
            if c:
                length += 1
            elif length:
                runs.append(length)
                length = 0
    observed = torch.bincount(torch.tensor(runs), minlength=12)[1:11].double() / len(runs)
    assert len(runs) > 500 and sum(r > 10 for r in runs) < 0.02 * len(runs)  # two spans that touch are one run: rare
    assert abs(sum(runs) / len(runs) - 3.8) < 0.35, sum(runs) / len(runs)
    assert torch.allclose(observed, SPAN_LENGTHS, atol=0.04), (observed, SPAN_LENGTHS)
    # 80/10/10 per span: a span is masked, replaced or kept as a whole
    masked = (corrupted == tokenizer.mask_token_id) & chosen
    assert abs(masked.sum().item() / chosen.sum().item() - 0.8) < 0.05


def test_span_masking_keeps_words_whole(tiny_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    text = " ".join(["unbelievably wonderful captainship harbourmaster"] * 20)
    ids = torch.tensor([tokenizer(text, truncation=True, max_length=128)["input_ids"]] * 50)
    continuation = torch.tensor([t.startswith("##") for t in tokenizer.convert_ids_to_tokens(ids[0])])
    assert continuation.any()  # the test's words are cut into pieces
    _, labels = Masker(tokenizer, 0.15, "span")(ids, torch.ones_like(ids), torch.Generator().manual_seed(3))
    chosen = labels != -100
    # a piece is chosen exactly when the piece before it (same word) is
    inside = continuation[1:]
    assert torch.equal(chosen[:, 1:][:, inside], chosen[:, :-1][:, inside])


def test_html_line_breaks_are_line_breaks_not_documents(tmp_path):
    review = "A fine film.<br /><br />The cast &amp; crew shine<br/>and <i>never</i> falter"
    assert _row_sentences(review, clean_html=True) == ["A fine film.", "The cast & crew shine", "and never falter"]
    assert "<br />" in " ".join(_row_sentences(review))  # only with the option
    path = tmp_path / "reviews.txt"
    path.write_text(f"{review}\n<br />\nSecond line of the first.\n\nAnother review.\n")
    documents = [d["sentences"] for d in text_file_documents(str(path), clean_html=True)]
    assert documents == [
        ["A fine film.", "The cast & crew shine", "and never falter", "Second line of the first."],
        ["Another review."],
    ]


def test_generator_size_scales_width_and_heads_and_generator_layers_sets_its_depth():
    from transformers import BertConfig

    model = BertConfig(hidden_size=256, num_attention_heads=4, intermediate_size=1024, num_hidden_layers=4)
    quarter = generator_config(model, 0.25)
    assert (quarter.hidden_size, quarter.num_attention_heads, quarter.intermediate_size) == (64, 1, 256)
    assert quarter.num_hidden_layers == 4 and quarter.embedding_size == 256  # its depth; the shared embeddings' width
    shallow = generator_config(model, 1.0, layers=1)
    assert (shallow.hidden_size, shallow.num_attention_heads, shallow.num_hidden_layers) == (256, 4, 1)


@pytest.mark.parametrize("flag, value", [("--generator-size", "1.5"), ("--generator-layers", "0")])
def test_electra_flags_are_checked(corpus, tmp_path, flag, value):
    common = ["-m", corpus / "tiny", "-o", tmp_path / "o", "--train-file", corpus / "corpus.txt"]
    result = run_bertcli("pretrain", *common, "--objective", "electra", flag, value)
    assert_one_line_error(result, flag)
    assert not (tmp_path / "o").exists()  # refused before anything is written
