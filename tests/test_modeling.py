"""Loading models: weights only in pickle form need --allow-pickle, and a model that is not a BERT or has no
tokenizer is a clear error. (Creating one, `bertcli init-model`: tests/cli/test_init_model.py.)"""

from pathlib import Path

import torch

from tests.helpers import finetune_sentiment_args, run_cli


def test_pickled_weights_load_only_when_allowed(tmp_path, tiny_model, sentiment_data):
    from transformers import AutoModelForPreTraining

    pickled = tmp_path / "pickled"
    model = AutoModelForPreTraining.from_pretrained(tiny_model)
    pickled.mkdir()
    model.config.save_pretrained(pickled)
    torch.save(model.state_dict(), pickled / "pytorch_model.bin")
    for f in Path(tiny_model).iterdir():
        if f.name.startswith(("tokenizer", "vocab", "special")):
            (pickled / f.name).write_bytes(f.read_bytes())
    assert not (pickled / "model.safetensors").exists() and (pickled / "pytorch_model.bin").exists()

    def train(out, *extra):
        return run_cli(*finetune_sentiment_args(pickled, out, sentiment_data, *extra, tiny=False, max_steps=2))

    refused = train(tmp_path / "refused")
    assert refused.code == 2 and "only pickled weights" in refused.stderr and "--allow-pickle" in refused.stderr
    assert not (tmp_path / "refused").exists()
    allowed = train(tmp_path / "allowed", "--allow-pickle")
    assert allowed.code == 0, allowed.stderr
    assert (tmp_path / "allowed" / "model.safetensors").is_file()  # what bertcli writes is safetensors


def test_not_a_bert_and_no_tokenizer_are_clear_errors(tmp_path, tiny_model, sentiment_data):
    def train(model):
        return run_cli(*finetune_sentiment_args(model, tmp_path / "out", sentiment_data, tiny=False))

    gpt = tmp_path / "gpt"
    gpt.mkdir()
    (gpt / "config.json").write_text('{"model_type": "gpt2"}')
    result = train(gpt)
    assert result.code == 2 and "is a gpt2 model, not a BERT" in result.stderr
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        (bare / name).write_bytes((Path(tiny_model) / name).read_bytes())
    result = train(bare)
    assert result.code == 2 and "has no tokenizer" in result.stderr
    assert not (tmp_path / "out").exists()
