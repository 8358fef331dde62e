"""`bertcli embed`: every pooling against transformers' own hidden states, a sentence-transformers directory's
defaults, bfloat16 products against float32, the three output formats in input order, and bad flags."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer, BertModel

from bertcli.predict.embed import Embedder
from tests.helpers import assert_one_line_error, run_bertcli, save_random

TEXTS = ["a great film", "the plot was awful and the acting was dull and far too long", "fine", "so so ."]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory, tiny_model):
    """A bare BertModel (weights at the top, as sentence-transformers saves them), every weight perturbed."""
    directory = tmp_path_factory.mktemp("encoder")
    save_random(BertModel, directory, tiny_model)
    return directory


def reference(directory, texts, pooling, layers=(-1,), combine="mean", normalize=False):
    """What transformers' own model gives, pooled by hand."""
    tokenizer, model = AutoTokenizer.from_pretrained(directory), AutoModel.from_pretrained(directory).eval()
    vectors = []
    for text in texts:  # one at a time: no padding involved
        batch = tokenizer(text, return_tensors="pt")
        with torch.inference_mode():
            out = model(**batch, output_hidden_states=True)
        if pooling == "pooler":
            vector = out.pooler_output[0]
        else:
            per_layer = []
            for layer in layers:
                states = out.hidden_states[layer][0]
                per_layer.append({"cls": states[0], "mean": states.mean(0), "max": states.max(0).values}[pooling])
            vector = torch.cat(per_layer) if combine == "concat" else torch.stack(per_layer).mean(0)
        vectors.append(torch.nn.functional.normalize(vector, dim=0) if normalize else vector)
    return torch.stack(vectors).numpy()


def vectors(embedder, texts):
    return np.array([r["embedding"] for r in embedder.predict({"text": t} for t in texts)])


@pytest.mark.parametrize("pooling", ["cls", "mean", "max", "pooler"])
def test_every_pooling_equals_transformers(pooling, encoder):
    got = vectors(Embedder(str(encoder), pooling=pooling, dtype="float32", batch_size=3), TEXTS)
    np.testing.assert_allclose(got, reference(encoder, TEXTS, pooling), atol=2e-5)


@pytest.mark.parametrize("combine", ["mean", "concat"])
def test_several_layers_averaged_or_concatenated_and_normalized(combine, encoder):
    embedder = Embedder(str(encoder), pooling="mean", layers="-2,-1", combine=combine, normalize=True, dtype="float32")
    got = vectors(embedder, TEXTS)
    np.testing.assert_allclose(got, reference(encoder, TEXTS, "mean", (-2, -1), combine, True), atol=2e-5)
    assert got.shape[1] == (256 if combine == "concat" else 128)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_fine_tuned_models_encoder_embeds_too(tiny_model, tmp_path):
    """A model with a head keeps its encoder under `bert.`: embedded as the same BertModel would be."""
    from transformers import BertForSequenceClassification

    save_random(BertForSequenceClassification, tmp_path, tiny_model)
    got = vectors(Embedder(str(tmp_path), pooling="cls", dtype="float32"), TEXTS)
    np.testing.assert_allclose(got, reference(tmp_path, TEXTS, "cls"), atol=2e-5)


def test_a_model_plain_bert_does_not_cover_embeds_on_transformers_classes(encoder, tmp_path):
    """An activation plain_bert's forward does not run (gelu_new): the embedder loads transformers' model, with its
    hidden states, and its vectors are still transformers' own."""
    shutil.copytree(encoder, tmp_path / "other")
    config = json.loads((tmp_path / "other" / "config.json").read_text())
    (tmp_path / "other" / "config.json").write_text(json.dumps({**config, "hidden_act": "gelu_new"}))
    embedder = Embedder(str(tmp_path / "other"), pooling="mean", layers="-2,-1", dtype="float32")
    assert isinstance(embedder.model, torch.nn.Module)  # transformers' class, not plain_bert's
    got = vectors(embedder, TEXTS)
    np.testing.assert_allclose(got, reference(tmp_path / "other", TEXTS, "mean", (-2, -1)), atol=2e-5)


def test_a_sentence_transformers_directory_gives_the_defaults(encoder, tmp_path):
    st = tmp_path / "st"
    shutil.copytree(encoder, st)
    (st / "1_Pooling").mkdir()
    (st / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    (st / "modules.json").write_text(
        json.dumps(
            [
                {"type": "sentence_transformers.models.Transformer"},
                {"type": "sentence_transformers.models.Pooling"},
                {"type": "sentence_transformers.models.Normalize"},
            ]
        )
    )
    (st / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 8}))
    embedder = Embedder(str(st), dtype="float32")
    assert (embedder.pooling, embedder.normalize, embedder.max_length) == ("cls", True, 8)
    got = vectors(embedder, TEXTS[:1])
    np.testing.assert_allclose(got, reference(encoder, TEXTS[:1], "cls", normalize=True), atol=2e-5)
    plain = Embedder(str(encoder), dtype="float32")
    assert (plain.pooling, plain.normalize) == ("mean", False)


def test_bfloat16_products_stay_within_rounding_of_float32(encoder):
    exact = vectors(Embedder(str(encoder), dtype="float32"), TEXTS)
    mixed = vectors(Embedder(str(encoder), dtype="mixed"), TEXTS)
    cosine = (exact * mixed).sum(1) / np.linalg.norm(exact, axis=1) / np.linalg.norm(mixed, axis=1)
    assert cosine.min() > 0.999 and not np.array_equal(exact, mixed)


@pytest.mark.parametrize("suffix", [".npy", ".parquet", ".jsonl"])
def test_output_files_in_input_order_with_ids(suffix, encoder, tmp_path):
    texts = [f"text number {i} " + "long " * (i % 7) for i in range(150)]  # lengths vary: batches get sorted
    inputs = tmp_path / "in.jsonl"
    inputs.write_text("".join(json.dumps({"id": f"r{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    out = tmp_path / f"vectors{suffix}"
    result = run_bertcli(
        "embed",
        "--model",
        encoder,
        "--input-file",
        inputs,
        "--output-file",
        out,
        "--dtype",
        "float32",
        "--batch-size",
        "16",
    )
    assert result.code == 0, result.stderr
    expected = vectors(Embedder(str(encoder), dtype="float32"), texts)
    if suffix == ".npy":
        got, ids = np.load(out), (tmp_path / "vectors.ids.txt").read_text().split()
        assert got.dtype == np.float32
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(out).to_pydict()
        got, ids = np.array(table["embedding"]), table["id"]
        assert table["text"] == texts
    else:
        rows = [json.loads(line) for line in out.read_text().splitlines()]
        got, ids = np.array([r["embedding"] for r in rows]), [r["id"] for r in rows]
    assert ids == [f"r{i}" for i in range(150)]
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--layers", "last"], "--layers last: give layer numbers"),
        (["--layers", "-9"], "--layers -9: this model has 2 layers"),
        (["--output-file", "v.csv"], "write .npy, .parquet or .jsonl"),
        (["--pooling", "pooler", "--layers", "-2,-1"], "--pooling pooler reads the last layer only"),
    ],
)
def test_bad_flags_are_one_line_errors(args, fragment, encoder, tmp_path):
    result = run_bertcli("embed", "--model", encoder, "some text", *args)
    assert_one_line_error(result, fragment)
