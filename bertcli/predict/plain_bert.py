"""BERT's inference forward pass in plain torch, and its tokenizer straight from `tokenizers`, so that
`bertcli predict` starts fast.

A user pays `predict`'s start-up on every call. On this project's 2-core CPU, importing torch takes about 1.9 s,
transformers about 1 s more and its model classes about 2 s more: more than the work itself for a thousand
sentences. For the standard BERT heads the predictor therefore reads `config.json` and `model.safetensors` itself
and runs this forward: the arithmetic of transformers' `BertModel` in eval mode (embeddings and LayerNorm; per layer,
SDPA self-attention and a feed-forward, each added back and LayerNorm-ed), then the pooler + classifier, the
QA span head, the token classifier or the MLM head. Logits equal transformers' to float rounding (tests compare
every head).

`load` returns None for a model it does not cover (another model or attention type, relative positions, an
activation not listed below, sharded or pickled weights); the predictor then uses transformers' class.
The tokenizer these predictors use is `bertcli.predict.tokenizer`'s (no torch there: an exported ONNX model runs
without it).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from bertcli.predict.model_config import head_config

HEAD_MODULES = {  # the heads this forward runs, and the weights each reads besides the encoder's
    "encoder": (),  # the hidden states of every layer and the pooler's output, where there is a pooler: embeddings
    "classification": ("{prefix}pooler.dense", "classifier"),
    "question-answering": ("qa_outputs",),
    "token-classification": ("classifier",),
    "fill-mask": ("cls.predictions.transform.dense", "cls.predictions.transform.LayerNorm"),
}
ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}  # transformers' "gelu" is the exact (erf) GELU, as here


def load(
    model_dir: str,
    head: str | None,
    device: torch.device,
    dtype: torch.dtype,
    matmul_dtype: torch.dtype | None = None,
    int8: bool = False,
) -> PlainBert | None:
    """The model in `model_dir` as a PlainBert with `head` (a key of HEAD_MODULES), or None when it is not a plain
    BERT with that head's weights, or the head is not one this forward runs."""
    if head not in HEAD_MODULES:
        return None
    directory = Path(model_dir)
    if not (directory / "config.json").is_file():  # a hub name: transformers fetches it
        return None
    config = json.loads((directory / "config.json").read_text())
    architecture = (config.get("architectures") or [""])[0]
    if (
        config.get("model_type") != "bert"
        or not architecture.startswith("Bert")
        or config.get("is_decoder")
        or config.get("add_cross_attention")
        or config.get("position_embedding_type", "absolute") != "absolute"
        or config.get("hidden_act", "gelu") not in ACTIVATIONS
        or not (directory / "model.safetensors").is_file()
    ):
        return None
    from safetensors.torch import load_file

    weights = load_file(directory / "model.safetensors", device=str(device))
    # A model with a head holds its encoder under "bert."; a bare BertModel (sentence-transformers') at the top.
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
    if not expected_weights(config, head, prefix) <= weights.keys():  # other names (an old LayerNorm.gamma...)
        return None
    return PlainBert(config, head, {k: v.to(dtype) for k, v in weights.items()}, prefix, matmul_dtype, int8)


def expected_weights(config: dict, head: str, prefix: str = "bert.") -> set[str]:
    """The weight names this forward reads (the MLM decoder may be tied to the word embeddings, so it is not one)."""
    e = f"{prefix}embeddings."
    names = {e + n + ".weight" for n in ("word_embeddings", "position_embeddings", "token_type_embeddings")}
    names |= {e + "LayerNorm.weight", e + "LayerNorm.bias"}
    for i in range(config["num_hidden_layers"]):
        p = f"{prefix}encoder.layer.{i}."
        for module in (
            "attention.self.query",
            "attention.self.key",
            "attention.self.value",
            "attention.output.dense",
            "attention.output.LayerNorm",
            "intermediate.dense",
            "output.dense",
            "output.LayerNorm",
        ):
            names |= {p + module + ".weight", p + module + ".bias"}
    modules = [module.format(prefix=prefix) for module in HEAD_MODULES[head]]
    return names | {f"{module}.{kind}" for module in modules for kind in ("weight", "bias")}


class PlainBert:
    """Called like a transformers model: `model(input_ids=..., token_type_ids=..., attention_mask=...)` returns
    an object with `.logits` (classification, fill-mask) or `.start_logits` / `.end_logits` (QA)."""

    def __init__(
        self,
        config: dict,
        head: str,
        weights: dict[str, torch.Tensor],
        prefix: str = "bert.",
        matmul_dtype: torch.dtype | None = None,
        int8: bool = False,
    ):
        classes = len(weights["classifier.bias"]) if "classifier.bias" in weights else 0
        self.config = head_config(config, head, classes)
        self.head, self.prefix = head, prefix
        self.eps = config.get("layer_norm_eps", 1e-12)
        self.heads = config["num_attention_heads"]
        self.act = ACTIVATIONS[config.get("hidden_act", "gelu")]
        self.w = weights
        layers = config["num_hidden_layers"]
        for i in range(layers):  # one matrix product for query, key and value
            p = f"{prefix}encoder.layer.{i}.attention.self."
            for kind in ("weight", "bias"):
                self.w[f"{p}qkv.{kind}"] = torch.cat([self.w.pop(f"{p}{n}.{kind}") for n in ("query", "key", "value")])
        self.layers = range(layers)
        # "mixed" precision: the encoder's matrix products in `matmul_dtype` (bfloat16, accumulated in float32 by
        # the CPU's kernels), everything else (residual stream, LayerNorm, softmax, heads) in the weights' dtype
        self.low, self.int8 = {}, {}
        encoder = f"{prefix}encoder."
        if matmul_dtype is not None:
            self.low = {k: v.to(matmul_dtype) for k, v in self.w.items() if k.startswith(encoder) and v.ndim == 2}
        if int8:  # dynamic int8: weights per output channel, activations per batch (the CPU's quantized kernels)
            self.int8 = {
                k.removesuffix(".weight"): int8_linear(v, self.w[k.removesuffix("weight") + "bias"])
                for k, v in self.w.items()
                if k.startswith(encoder) and v.ndim == 2
            }

    def _linear(self, x: torch.Tensor, name: str) -> torch.Tensor:
        quantized = self.int8.get(name)
        if quantized is not None:
            return quantized(x.float()).to(x.dtype)
        low = self.low.get(f"{name}.weight")
        if low is not None:
            return F.linear(x.to(low.dtype), low).to(x.dtype) + self.w[f"{name}.bias"]
        return F.linear(x, self.w[f"{name}.weight"], self.w.get(f"{name}.bias"))

    def _norm(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return F.layer_norm(x, x.shape[-1:], self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def encode(self, input_ids, token_type_ids=None, attention_mask=None, cls_only_last_layer=False, every_layer=False):
        """The last hidden states (batch, length, hidden); with `cls_only_last_layer`, (batch, 1, hidden): the
        last layer is computed for [CLS] only, since nothing else reaches the pooler. With `every_layer`, the list
        of the embeddings' output and every layer's (as transformers' `hidden_states`)."""
        e = f"{self.prefix}embeddings."
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        types = token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids)
        x = (
            self.w[e + "word_embeddings.weight"][input_ids]
            + self.w[e + "token_type_embeddings.weight"][types]
            + self.w[e + "position_embeddings.weight"][positions]
        )
        x = self._norm(x, e + "LayerNorm")
        mask = attention_mask[:, None, None, :].bool() if attention_mask is not None else None  # True: attend
        batch, length, hidden = x.shape
        states = [x]
        for i in self.layers:
            p = f"{self.prefix}encoder.layer.{i}."
            qkv = (
                self._linear(x, p + "attention.self.qkv").view(batch, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
            )
            query, key, value = qkv.unbind(0)  # each (batch, heads, length, head size)
            if cls_only_last_layer and i == self.layers[-1]:
                x, query = x[:, :1], query[:, :, :1]
            context = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
            context = context.transpose(1, 2).reshape(batch, -1, hidden)
            x = self._norm(self._linear(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            inner = self.act(self._linear(x, p + "intermediate.dense"))
            x = self._norm(self._linear(inner, p + "output.dense") + x, p + "output.LayerNorm")
            states.append(x)
        return states if every_layer else x

    @torch.inference_mode()
    def __call__(self, input_ids, token_type_ids=None, attention_mask=None) -> SimpleNamespace:
        if self.head == "encoder":
            states = self.encode(input_ids, token_type_ids, attention_mask, every_layer=True)
            has_pooler = f"{self.prefix}pooler.dense.weight" in self.w
            pooled = torch.tanh(self._linear(states[-1][:, 0], f"{self.prefix}pooler.dense")) if has_pooler else None
            return SimpleNamespace(hidden_states=states, pooler_output=pooled)
        states = self.encode(
            input_ids, token_type_ids, attention_mask, cls_only_last_layer=self.head == "classification"
        )
        if self.head == "classification":
            pooled = torch.tanh(self._linear(states[:, 0], f"{self.prefix}pooler.dense"))
            return SimpleNamespace(logits=self._linear(pooled, "classifier"))
        if self.head == "token-classification":
            return SimpleNamespace(logits=self._linear(states, "classifier"))
        if self.head == "question-answering":
            start, end = self._linear(states, "qa_outputs").unbind(-1)
            return SimpleNamespace(start_logits=start, end_logits=end)
        t = "cls.predictions.transform."
        hidden = self._norm(self.act(self._linear(states, t + "dense")), t + "LayerNorm")
        decoder = self.w.get(
            "cls.predictions.decoder.weight", self.w[f"{self.prefix}embeddings.word_embeddings.weight"]
        )
        bias = self.w.get("cls.predictions.decoder.bias", self.w.get("cls.predictions.bias"))
        return SimpleNamespace(logits=F.linear(hidden, decoder, bias))


def int8_linear(weight: torch.Tensor, bias: torch.Tensor) -> torch.nn.Module:
    """A dynamically quantized linear layer: int8 weights with a scale per output channel; the input is quantized
    batch by batch (torch's quantized CPU kernels: fbgemm / oneDNN)."""
    import warnings

    from torch.ao.nn.quantized.dynamic import Linear

    weight = weight.float().cpu()
    scales = (weight.abs().amax(1) / 127).clamp_min(1e-8).double()
    with warnings.catch_warnings():  # torch announces the quantized tensor types' retirement; they work here
        warnings.simplefilter("ignore")
        qweight = torch.quantize_per_channel(weight, scales, torch.zeros(len(scales), dtype=torch.long), 0, torch.qint8)
    layer = Linear(weight.shape[1], weight.shape[0], dtype=torch.qint8)
    layer.set_weight_bias(qweight, bias.float().cpu())
    return layer
