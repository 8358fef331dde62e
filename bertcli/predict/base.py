"""Batched prediction: what every task's predictor shares. The model directory says which predictor (the task
registry maps its architecture to a task, and the task names its predictor).

A predictor takes an iterable of records and yields one result per record, in input order. It works in
bounded chunks (so a huge input streams: the first results come out long before the input is read to the
end), sorts each chunk by token length, pads per batch, runs the model under `torch.inference_mode`, and puts
the results back in input order. Standard BERT heads run on `plain_bert` (classification and fill-mask import
torch and tokenizers only, question answering transformers' tokenizer too); other models on transformers'
classes; a model `bertcli export` wrote on onnxruntime, and for a predictor that reads numpy outputs
(classification) without importing torch at all. No datasets, no accelerate.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator

import numpy as np

from bertcli.errors import BertcliError


def as_numpy(values) -> np.ndarray:
    """A model output as a float32 array: onnxruntime's as it is, torch's from wherever it lies."""
    return values if isinstance(values, np.ndarray) else values.float().cpu().numpy()


def resolve_device(device: str):
    import torch

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
    numpy_outputs = False  # whether it reads model outputs as numpy arrays (an ONNX model then runs without torch)

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
        from bertcli.predict import onnx
        from bertcli.predict.tokenizer import load_tokenizer

        int8 = quantize == "int8"
        if onnx.is_exported(model_dir):  # `bertcli export` wrote it: onnxruntime runs it on the CPU, without torch
            if int8:
                raise BertcliError(f"{model_dir} is an exported ONNX model: quantize it with `bertcli export --int8`")
            self.device, self.matmul_dtype = None, None
            self.model = onnx.OnnxModel(model_dir, self.plain_head, numpy=self.numpy_outputs)
        else:
            self.model = self._load_torch(model_dir, device, dtype, int8)
        plain = self.model is not None and self.plain_tokenizer
        self.tokenizer = (plain and load_tokenizer(model_dir)) or self._transformers_tokenizer(model_dir)
        if self.model is None:
            self.model = self._load_transformers(model_dir, allow_pickle, self.weights)
            if int8:
                import torch

                self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
        limit = self.model.config.max_position_embeddings
        self.max_length = min(max_length or limit, limit)
        self.batch_size = batch_size
        self.pad_to = 8 if self.device is not None and self.device.type == "cuda" else None
        self.truncated = 0  # inputs cut to max_length so far

    def _load_torch(self, model_dir: str, device: str, dtype: str, int8: bool):
        """The model on plain_bert's forward (standard BERT heads: no transformers import, seconds less start-up),
        or None for transformers' classes to load once the tokenizer is known."""
        import torch

        from bertcli.predict import plain_bert

        self.device = resolve_device(device)
        self.weights, self.matmul_dtype = self._precision(dtype)
        if int8 and (self.device.type != "cpu" or self.weights != torch.float32):
            raise BertcliError("--quantize int8 runs on the CPU in float32: pass --device cpu and --dtype float32")
        return plain_bert.load(model_dir, self.plain_head, self.device, self.weights, self.matmul_dtype, int8)

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
    def accepted_options(cls) -> set[str]:
        """The keyword options of this predictor: Predictor's and those its subclasses add."""
        import inspect

        names = set()
        for klass in cls.__mro__:
            if "__init__" in vars(klass) and issubclass(klass, Predictor):
                parameters = inspect.signature(klass.__init__).parameters.values()
                names |= {p.name for p in parameters if p.kind is p.KEYWORD_ONLY or p.default is not p.empty}
        return names

    @classmethod
    def saved_options(cls, saved_run: dict) -> dict:
        """Predictor options that follow from how the model was trained (run.yaml); flags override them."""
        return {}

    @staticmethod
    def _transformers_tokenizer(model_dir: str):
        from bertcli.modeling import load_tokenizer, quiet_transformers

        quiet_transformers()
        return load_tokenizer(model_dir)

    def _load_transformers(self, model_dir: str, allow_pickle: bool, dtype):
        import transformers

        from bertcli.modeling import load_pretrained, quiet_transformers

        quiet_transformers()
        auto_class = getattr(transformers, self.model_class)
        return load_pretrained(auto_class, model_dir, allow_pickle, dtype=dtype).to(self.device).eval()

    # `--dtype auto` on a CPU: float32 throughout, or ("mixed") with matrix products in bfloat16 where the CPU does
    # them natively; a predictor whose outputs tolerate the rounding (embeddings) may say so.
    mixed_on_cpu = False

    def _precision(self, dtype: str) -> tuple:
        """(the weights' and activations' torch dtype, the matrix products' dtype when it differs)."""
        import torch

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

    def _run(self, features: dict[str, list[list[int]]]) -> Iterator[tuple[list[int], object]]:
        """Run the model over `_batches(features)`; yield (positions in `features`, model output)."""
        for positions, batch in self._batches(features):
            yield positions, self._forward(batch)

    def _batches(self, features: dict[str, list[list[int]]]) -> Iterator[tuple[list[int], dict[str, np.ndarray]]]:
        """Features sorted by length, longest first, in batches padded to their longest row; yield (positions in
        `features`, the batch's arrays). A batch of rows all of one length has no attention mask."""
        input_ids = features["input_ids"]
        lengths = [len(ids) for ids in input_ids]
        order = sorted(range(len(lengths)), key=lengths.__getitem__, reverse=True)  # stable: ties in input order
        for start in range(0, len(order), self.batch_size):
            positions = order[start : start + self.batch_size]
            width = lengths[positions[0]]
            if self.pad_to:
                width = -(-width // self.pad_to) * self.pad_to
            batch = {}
            for key in ("input_ids", "token_type_ids"):
                if key in features:
                    pad = self.tokenizer.pad_token_id if key == "input_ids" else 0
                    rows = np.full((len(positions), width), pad, dtype=np.int64)
                    for row, i in enumerate(positions):
                        rows[row, : lengths[i]] = features[key][i]
                    batch[key] = rows
            if any(lengths[i] < width for i in positions):  # no mask at all lets SDPA take its fastest path
                row_lengths = np.array([lengths[i] for i in positions])
                batch["attention_mask"] = (np.arange(width)[None, :] < row_lengths[:, None]).astype(np.int64)
            yield positions, batch

    def _forward(self, batch: dict[str, np.ndarray]):
        if self.device is None:  # onnxruntime takes the arrays as they are
            return self.model(**batch)
        import torch

        with torch.inference_mode():
            tensors = {k: torch.from_numpy(v).to(self.device, non_blocking=True) for k, v in batch.items()}
            if self.matmul_dtype is not None and isinstance(self.model, torch.nn.Module):  # transformers' model
                with torch.autocast(self.device.type, dtype=self.matmul_dtype):
                    return self.model(**tensors)
            return self.model(**tensors)

    def warn_truncated(self) -> None:
        if self.truncated:
            print(
                f"bertcli: warning: {self.truncated} input(s) longer than {self.max_length} tokens were truncated",
                file=sys.stderr,
            )


def load_predictor(model_dir: str, **options) -> Predictor:
    """The predictor for the model in `model_dir`, with `options` (the runtime's, and those of the task's
    PredictOptions); one that this predictor does not take is an error, never silently dropped."""
    from bertcli.tasks import registry

    predictor = registry.for_model(model_dir).predictor_class()
    unknown = sorted(set(options) - predictor.accepted_options())
    if unknown:
        raise BertcliError(f"{model_dir}: its predictor ({predictor.__name__}) takes no option '{unknown[0]}'")
    return predictor(model_dir, **options)
