"""Embeddings (`bertcli embed`): one vector per text from any BERT encoder, as features for other models.

The vector pools the hidden states of one layer or several (`--layers -1`, `-4,-3,-2,-1` averaged or
concatenated): [CLS], the mean or the maximum over the text's tokens, or BERT's pooler output; `--normalize`
scales it to unit length. A sentence-transformers model directory says how it pools (`1_Pooling/config.json`),
whether it normalizes (a Normalize module in `modules.json`) and its longest input (`sentence_bert_config.json`):
those are the defaults, so its vectors are the ones `SentenceTransformer.encode` gives. Batching, length sorting
and the plain-torch forward are the predictors' (base.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from bertcli.errors import BertcliError
from bertcli.predict.base import Predictor
from bertcli.predict.vectors import parse_layers

POOLINGS = ("cls", "mean", "max", "pooler")


def sentence_transformers_defaults(model_dir: str) -> dict:
    """What a sentence-transformers model directory says of its embeddings: pooling, normalize, max_length."""
    directory, found = Path(model_dir), {}
    pooling = directory / "1_Pooling" / "config.json"
    if pooling.is_file():
        config = json.loads(pooling.read_text())
        for mode, key in (
            ("mean", "pooling_mode_mean_tokens"),
            ("cls", "pooling_mode_cls_token"),
            ("max", "pooling_mode_max_tokens"),
        ):
            if config.get(key):
                found["pooling"] = mode
                break
    modules = directory / "modules.json"
    if modules.is_file():
        found["normalize"] = any(m.get("type", "").endswith(".Normalize") for m in json.loads(modules.read_text()))
    bert_config = directory / "sentence_bert_config.json"
    if bert_config.is_file() and json.loads(bert_config.read_text()).get("max_seq_length"):
        found["max_length"] = json.loads(bert_config.read_text())["max_seq_length"]
    return found


class Embedder(Predictor):
    plain_head = "encoder"
    model_class = "AutoModel"
    optional_inputs = ("text_pair",)
    outputs = ("embedding",)
    mixed_on_cpu = True  # bfloat16 products: 2-3x faster on CPUs that have them, cosine to float32 >= 0.99995

    def __init__(
        self,
        model_dir: str,
        *args,
        pooling: str | None = None,
        layers: str = "-1",
        combine: str = "mean",
        normalize: bool | None = None,
        **kwargs,
    ):
        found = sentence_transformers_defaults(model_dir) if Path(model_dir).is_dir() else {}
        if kwargs.get("max_length") is None and "max_length" in found:
            kwargs["max_length"] = found["max_length"]
        super().__init__(model_dir, *args, **kwargs)
        self.pooling = pooling or found.get("pooling", "mean")
        self.normalize = found.get("normalize", False) if normalize is None else normalize
        if self.pooling not in POOLINGS:
            raise BertcliError(f"--pooling {self.pooling}: choose one of {', '.join(POOLINGS)}")
        if combine not in ("mean", "concat"):
            raise BertcliError(f"--combine {combine}: choose mean or concat")
        self.layers, self.combine = parse_layers(layers), combine
        if self.pooling == "pooler" and self.layers != [-1]:
            raise BertcliError("--pooling pooler reads the last layer only: drop --layers, or pool cls, mean or max")

    def _load_transformers(self, model_dir: str, allow_pickle: bool, dtype: torch.dtype):
        model = super()._load_transformers(model_dir, allow_pickle, dtype)
        model.config.output_hidden_states = True
        return model

    def predict_chunk(self, records: list[dict]) -> list[dict]:
        texts = [r.get("text", "") for r in records]
        pairs = [r.get("text_pair", "") for r in records] if any("text_pair" in r for r in records) else None
        encoded = self._encode(texts, pairs)
        results: list[dict | None] = [None] * len(records)
        for positions, outputs in self._run(encoded):
            lengths = torch.tensor([len(encoded["input_ids"][i]) for i in positions])
            for i, vector in zip(positions, self._pool(outputs, lengths).tolist()):
                results[i] = {**records[i], "embedding": vector}
        return results

    def _pool(self, outputs, lengths: torch.Tensor) -> torch.Tensor:
        if self.pooling == "pooler":
            if outputs.pooler_output is None:
                raise BertcliError("this model has no pooler (its weights hold no pooler.dense): pool cls, mean or max")
            vectors = outputs.pooler_output.float()
        else:
            states = outputs.hidden_states
            try:
                chosen = [states[i].float() for i in self.layers]
            except IndexError:
                raise BertcliError(
                    f"--layers {','.join(map(str, self.layers))}: this model has "
                    f"{len(states) - 1} layers (-1 is the last, 0 the embeddings)"
                ) from None
            pooled = [self._pool_tokens(s, lengths) for s in chosen]
            vectors = torch.cat(pooled, -1) if self.combine == "concat" else torch.stack(pooled).mean(0)
        if self.normalize:
            vectors = torch.nn.functional.normalize(vectors, dim=-1)
        return vectors.cpu()

    def _pool_tokens(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if self.pooling == "cls":
            return states[:, 0]
        mask = (torch.arange(states.shape[1])[None, :] < lengths[:, None]).to(states.device)[..., None]
        if self.pooling == "max":
            return states.masked_fill(~mask, float("-inf")).max(1).values
        return (states * mask).sum(1) / mask.sum(1)
