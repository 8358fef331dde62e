"""Batched prediction: what every task's predictor shares. The model directory says which predictor (the task
registry maps its architecture to a task, and the task names its predictor).

A predictor takes an iterable of records and yields one result per record, in input order. It works in
bounded chunks (so a huge input streams: the first results come out long before the input is read to the
end), sorts each chunk by token length, pads per batch, runs the model under `torch.inference_mode`, and puts
the results back in input order. Standard BERT heads run on `plain_bert` (classification and fill-mask import
torch and tokenizers only, question answering transformers' tokenizer too); other models on transformers'
classes. No datasets, no accelerate.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator

import torch

from bertcli.batching import SortedBatchSampler
from bertcli.errors import BertcliError


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as e:
        raise BertcliError(f"--device {device}: {e}") from e
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise BertcliError(f"--device {device}: no CUDA GPU here; use --device cpu or auto")
    return resolved


def chunked(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    iterator = iter(records)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


class Predictor:
    """Shared machinery; subclasses say how records become model inputs and outputs become results."""

    plain_head: str | None = None  # the head bertcli.predict.plain_bert runs for this task, if it runs one
    plain_tokenizer = True  # whether plain_bert's tokenizer serves it (QA windows need transformers' own)
    model_class: str  # name of the transformers Auto class (for models that plain_bert does not cover)
    inputs: tuple[str, ...] = ("text",)  # the fields each input record needs
    optional_inputs: tuple[str, ...] = ()  # fields it may have
    outputs: tuple[str, ...] = ()  # the fields it adds to each record

    def __init__(
        self,
        model_dir: str,
        device: str = "auto",
        batch_size: int = 32,
        max_length: int | None = None,
        dtype: str = "auto",
        allow_pickle: bool = False,
        quantize: str | None = None,
    ):
        from bertcli.predict import plain_bert

        self.device = resolve_device(device)
        # Standard BERT heads run on plain_bert, without importing transformers (seconds less start-up);
        # anything else on transformers' own classes.
        weights, self.matmul_dtype = self._precision(dtype)
        int8 = quantize == "int8"
        if int8 and (self.device.type != "cpu" or weights != torch.float32):
            raise BertcliError("--quantize int8 runs on the CPU in float32: pass --device cpu and --dtype float32")
        from bertcli.predict import onnx

        if onnx.is_exported(model_dir):  # `bertcli export` wrote it: onnxruntime runs it
            if int8:
                raise BertcliError(f"{model_dir} is an exported ONNX model: quantize it with `bertcli export --int8`")
            self.model = onnx.OnnxModel(model_dir, self.plain_head)
        else:
            self.model = plain_bert.load(model_dir, self.plain_head, self.device, weights, self.matmul_dtype, int8)
        plain = self.model is not None and self.plain_tokenizer
        self.tokenizer = (plain and plain_bert.load_tokenizer(model_dir)) or self._transformers_tokenizer(model_dir)
        if self.model is None:
            self.model = self._load_transformers(model_dir, allow_pickle, weights)
            if int8:
                self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
        limit = self.model.config.max_position_embeddings
        self.max_length = min(max_length or limit, limit)
        self.batch_size = batch_size
        self.pad_to = 8 if self.device.type == "cuda" else None
        self.truncated = 0  # inputs cut to max_length so far

    @classmethod
    def columns(cls, given: dict[str, str | None], saved_run: dict) -> dict:
        """Which column of an input file holds each input field: the flag (`--text-column`) when given, else the
        training run's column (run.yaml), else a column named as the field."""
        saved = saved_run.get("data") or {}
        columns = {}
        for name in cls.inputs + cls.optional_inputs:
            flag, trained = given.get(name), saved.get(f"{name}_column")
            if flag or name in cls.optional_inputs:
                columns[name] = flag or trained
            else:
                columns[name] = (trained, name) if trained and trained != name else name
        return columns

    @classmethod
    def saved_options(cls, saved_run: dict) -> dict:
        """Predictor options that follow from how the model was trained (run.yaml); flags override them."""
        return {}

    @staticmethod
    def _transformers_tokenizer(model_dir: str):
        from bertcli.modeling import load_tokenizer, quiet_transformers

        quiet_transformers()
        return load_tokenizer(model_dir)

    def _load_transformers(self, model_dir: str, allow_pickle: bool, dtype: torch.dtype):
        import transformers

        from bertcli.modeling import load_pretrained, quiet_transformers

        quiet_transformers()
        auto_class = getattr(transformers, self.model_class)
        return load_pretrained(auto_class, model_dir, allow_pickle, dtype=dtype).to(self.device).eval()

    # `--dtype auto` on a CPU: float32 throughout, or ("mixed") with matrix products in bfloat16 where the CPU does
    # them natively; a predictor whose outputs tolerate the rounding (embeddings) may say so.
    mixed_on_cpu = False

    def _precision(self, dtype: str) -> tuple[torch.dtype, torch.dtype | None]:
        """(the weights' and activations' dtype, the matrix products' dtype when it differs)."""
        if dtype == "auto":  # half precision only where it is fast and safe
            if self.device.type == "cuda":
                return (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16), None
            dtype = "mixed" if self.mixed_on_cpu and torch.ops.mkldnn._is_mkldnn_bf16_supported() else "float32"
        if dtype == "mixed":  # bfloat16 products accumulated in float32; residual, norms, softmax in float32
            return torch.float32, torch.bfloat16
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype], None

    def predict(self, records: Iterable[dict], chunk_size: int | None = None) -> Iterator[dict]:
        for chunk in chunked(records, chunk_size or 64 * self.batch_size):
            yield from self.predict_chunk(chunk)

    def predict_chunk(self, records: list[dict]) -> list[dict]:
        raise NotImplementedError

    # --- helpers for subclasses ------------------------------------------------------------------------
    def _encode(self, texts: list[str], pairs: list[str] | None = None):
        encoded = self.tokenizer(texts, pairs, truncation=True, max_length=self.max_length, return_attention_mask=False)
        self.truncated += sum(1 for e in encoded.encodings if e.overflowing)
        return encoded

    @torch.inference_mode()
    def _run(self, features: dict[str, list[list[int]]]) -> Iterator[tuple[list[int], object]]:
        """Run the model over features sorted by length; yield (positions in `features`, model output)."""
        input_ids = features["input_ids"]
        lengths = [len(ids) for ids in input_ids]
        for positions in SortedBatchSampler(lengths, self.batch_size):
            width = max(lengths[i] for i in positions)
            if self.pad_to:
                width = -(-width // self.pad_to) * self.pad_to
            batch = {}
            for key in ("input_ids", "token_type_ids"):
                if key in features:
                    pad = self.tokenizer.pad_token_id if key == "input_ids" else 0
                    rows = torch.full((len(positions), width), pad, dtype=torch.long)
                    for row, i in enumerate(positions):
                        rows[row, : lengths[i]] = torch.as_tensor(features[key][i])
                    batch[key] = rows.to(self.device, non_blocking=True)
            if any(lengths[i] < width for i in positions):  # no mask at all lets SDPA take its fastest path
                mask = torch.arange(width)[None, :] < torch.tensor([lengths[i] for i in positions])[:, None]
                batch["attention_mask"] = mask.long().to(self.device, non_blocking=True)
            if self.matmul_dtype is not None and isinstance(self.model, torch.nn.Module):  # transformers' model
                with torch.autocast(self.device.type, dtype=self.matmul_dtype):
                    outputs = self.model(**batch)
            else:
                outputs = self.model(**batch)
            yield positions, outputs

    def warn_truncated(self) -> None:
        if self.truncated:
            print(
                f"bertcli: warning: {self.truncated} input(s) longer than {self.max_length} tokens were truncated",
                file=sys.stderr,
            )


def load_predictor(model_dir: str, **options) -> Predictor:
    """The predictor for the model in `model_dir`; `options` that it does not take are ignored."""
    import inspect

    from bertcli.tasks import registry

    predictor = registry.for_model(model_dir).predictor_class()
    accepted = set(inspect.signature(predictor.__init__).parameters) | set(
        inspect.signature(Predictor.__init__).parameters
    )
    return predictor(model_dir, **{k: v for k, v in options.items() if k in accepted})
