"""plain_bert, the forward `predict` runs for standard BERT heads: transformers' logits for every head, the
fallback to transformers for what it does not cover, and a `predict` that never imports the model classes."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file
from transformers import (
    AutoTokenizer,
    BertForMaskedLM,
    BertForPreTraining,
    BertForQuestionAnswering,
    BertForSequenceClassification,
)

from bertcli.predict import plain_bert
from bertcli.predict.tokenizer import load_tokenizer
from tests.helpers import run_python, save_random

HEADS = {  # model class -> the predictor task plain_bert serves it for
    BertForSequenceClassification: "classification",
    BertForQuestionAnswering: "question-answering",
    BertForMaskedLM: "fill-mask",
    BertForPreTraining: "fill-mask",
}
TEXTS = ["a great film", "the plot was awful and the acting was dull and far too long", "fine"]
PAIRS = ["is it good ?", "what was the plot like ?", "really ?"]


@pytest.mark.parametrize("model_class", list(HEADS), ids=lambda c: c.__name__)
def test_same_logits_as_transformers(model_class, tiny_model, tmp_path):
    reference = save_random(model_class, tmp_path, tiny_model)
    model = plain_bert.load(str(tmp_path), HEADS[model_class], torch.device("cpu"), torch.float32)
    assert model is not None
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    padded_pairs = tokenizer(TEXTS, PAIRS, padding=True, return_tensors="pt")  # segment B and a padding mask
    single = tokenizer(TEXTS[1:2], return_tensors="pt", return_attention_mask=False)  # no mask at all
    for batch in (padded_pairs, single):
        with torch.inference_mode():
            expected, actual = reference(**batch), model(**batch)
        names = ["start_logits", "end_logits"] if HEADS[model_class] == "question-answering" else ["logits"]
        for name in names:
            want = getattr(expected, "prediction_logits" if model_class is BertForPreTraining else name)
            torch.testing.assert_close(getattr(actual, name), want, rtol=1e-5, atol=1e-5)
    assert model.config.max_position_embeddings == reference.config.max_position_embeddings
    if HEADS[model_class] == "classification":
        assert model.config.id2label == reference.config.id2label and model.config.num_labels == 3


def test_what_it_does_not_cover_falls_back_to_transformers(tiny_model, tmp_path):
    from bertcli.predict.classification import ClassificationPredictor

    save_random(BertForSequenceClassification, tmp_path / "plain", tiny_model)
    save_random(BertForSequenceClassification, tmp_path / "tanh", tiny_model, hidden_act="gelu_new")
    cpu = torch.device("cpu")
    assert plain_bert.load(str(tmp_path / "tanh"), "classification", cpu, torch.float32) is None  # activation
    assert plain_bert.load(str(tmp_path / "plain"), "question-answering", cpu, torch.float32) is None  # head
    assert plain_bert.load(str(tmp_path / "plain"), "summarization", cpu, torch.float32) is None  # unknown
    assert plain_bert.load(str(tmp_path / "plain"), None, cpu, torch.float32) is None  # a predictor with none
    renamed = tmp_path / "renamed"  # weight names of another convention (an old checkpoint's LayerNorm.gamma)
    save_random(BertForSequenceClassification, renamed, tiny_model)
    weights = load_file(renamed / "model.safetensors")
    save_file(
        {k.replace("LayerNorm.weight", "LayerNorm.gamma"): v for k, v in weights.items()}, renamed / "model.safetensors"
    )
    assert plain_bert.load(str(renamed), "classification", cpu, torch.float32) is None
    predictor = ClassificationPredictor(str(tmp_path / "tanh"))
    assert not isinstance(predictor.model, plain_bert.PlainBert)
    assert [r["label"] for r in predictor.predict({"text": t} for t in TEXTS)] == [
        r["label"] for r in ClassificationPredictor(str(tmp_path / "plain")).predict({"text": t} for t in TEXTS)
    ]


def test_tokenizer_gives_transformers_ids(tiny_model):
    reference, tokenizer = AutoTokenizer.from_pretrained(tiny_model), load_tokenizer(str(tiny_model))
    texts = TEXTS + ["Héllo WORLD, a naïve café: 東京 3.14 e-mail@x.org", "word " * 300, "a [MASK] film"]
    pairs = PAIRS + ["ok", "more " * 200, "?"]
    for second in (None, pairs):
        expected = reference(texts, second, truncation=True, max_length=64)
        actual = tokenizer(texts, second, truncation=True, max_length=64)
        assert actual["input_ids"] == expected["input_ids"]
        assert actual["token_type_ids"] == expected["token_type_ids"]
        assert [bool(e.overflowing) for e in actual.encodings] == [bool(e.overflowing) for e in expected.encodings]
    ids = expected["input_ids"][0]
    assert tokenizer.decode(ids, skip_special_tokens=True) == reference.decode(ids, skip_special_tokens=True)
    assert tokenizer.convert_ids_to_tokens(ids) == reference.convert_ids_to_tokens(ids)
    assert (tokenizer.mask_token_id, tokenizer.pad_token_id) == (reference.mask_token_id, reference.pad_token_id)


def test_predict_does_not_import_transformers(tiny_model, tmp_path):
    """Start-up: a classifier's predictions come without importing transformers (~3 s with its model classes)."""
    save_random(BertForSequenceClassification, tmp_path, tiny_model)
    code = (
        "import json, sys\nfrom bertcli.predict.base import load_predictor\n"
        f"results = list(load_predictor({str(tmp_path)!r}).predict([{{'text': 'a great film'}}]))\n"
        "print(json.dumps({'labels': [r['label'] for r in results], 'transformers': 'transformers' in sys.modules}))"
    )
    done = run_python(["-c", code], timeout=120)
    assert done.code == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["labels"][0] in {"LABEL_0", "LABEL_1", "LABEL_2"}
    assert result["transformers"] is False
