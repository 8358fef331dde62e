"""ONNX: `bertcli export` writes a model as ONNX (optionally int8), checking itself against torch; predictors run an
exported directory with onnxruntime.

torch's own exporter writes the graph and onnxruntime runs and quantizes it: the two packages the export needs
(the `[onnx]` extra). Optimum wraps the same exporter and runtime; it would add a layer of its own for what is here
a few lines, so it is not used.
"""

from __future__ import annotations

import json
import logging
import shutil
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bertcli.errors import BertcliError
from bertcli.predict.model_config import head_config

OUTPUTS = {  # the head's outputs, by the head plain_bert would run
    "classification": ["logits"],
    "fill-mask": ["logits"],
    "question-answering": ["start_logits", "end_logits"],
    "token-classification": ["logits"],
}
INPUTS = ["input_ids", "token_type_ids", "attention_mask"]


def is_exported(model_dir: str) -> bool:
    return (Path(model_dir) / "model.onnx").is_file()


class OnnxModel:
    """Called like a transformers model on numpy arrays or torch tensors; returns torch tensors, or with `numpy`
    numpy arrays (then torch is never imported). `config` as PlainBert's."""

    def __init__(self, model_dir: str, head: str, threads: int | None = None, numpy: bool = False):
        try:
            import onnxruntime
        except ImportError as e:
            raise BertcliError(
                f"{model_dir} holds an ONNX model: running it needs onnxruntime (pip install 'bertcli[onnx]')"
            ) from e
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            str(Path(model_dir) / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )
        self.outputs = OUTPUTS[head]
        self.numpy = numpy
        config = json.loads((Path(model_dir) / "config.json").read_text())
        width = self.session.get_outputs()[0].shape[-1]  # a classifier's: its labels (else a named, dynamic axis)
        self.config = head_config(config, head, width if isinstance(width, int) else 0)

    def __call__(self, input_ids, token_type_ids=None, attention_mask=None) -> SimpleNamespace:
        values = self.session.run(self.outputs, self.feed(input_ids, token_type_ids, attention_mask))
        if not self.numpy:
            import torch

            values = [torch.from_numpy(v) for v in values]
        return SimpleNamespace(**dict(zip(self.outputs, values)))

    @staticmethod
    def feed(input_ids, token_type_ids=None, attention_mask=None) -> dict[str, np.ndarray]:
        """The session's inputs: the exported graph takes all three, so absent ones are made (one segment, no
        padding)."""
        ids = _array(input_ids)
        return {
            "input_ids": ids,
            "token_type_ids": np.zeros_like(ids) if token_type_ids is None else _array(token_type_ids),
            "attention_mask": np.ones_like(ids) if attention_mask is None else _array(attention_mask),
        }


def _array(values) -> np.ndarray:
    return values if isinstance(values, np.ndarray) else values.cpu().numpy()


def export(
    model_dir: str,
    out: Path,
    head: str,
    auto_class: str,
    int8: bool,
    allow_pickle: bool = False,
    samples: int = 64,
    seed: int = 0,
) -> dict:
    """Write `model_dir` as OUT/model.onnx (int8: its linear layers dynamically quantized) with its config and
    tokenizer, then run both on `samples` random inputs: the largest output difference and how often their labels
    (argmax) agree."""
    try:
        import onnx  # noqa: F401 -- the exporter writes through it
        import onnxruntime  # noqa: F401
    except ImportError as e:
        raise BertcliError(
            f"export needs onnx and onnxruntime ({e.name} is missing): pip install 'bertcli[onnx]'"
        ) from e
    import torch
    import transformers

    from bertcli.modeling import load_pretrained, load_tokenizer, quiet_transformers

    quiet_transformers()
    model = load_pretrained(getattr(transformers, auto_class), model_dir, allow_pickle).eval()
    model.config.return_dict = True
    tokenizer = load_tokenizer(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = out / ".export.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    names = OUTPUTS[head]
    example = tuple(torch.ones(2, 16, dtype=torch.long) for _ in INPUTS)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS + names}
    float_path = staging / ("model-float.onnx" if int8 else "model.onnx")
    with warnings.catch_warnings():  # the tracer's notes (lengths it takes as constants; the check below runs
        warnings.simplefilter("ignore")  # other lengths) and the exporter's on how it lowers ops
        torch.onnx.export(
            _outputs(model, names).eval(),
            example,
            str(float_path),
            input_names=INPUTS,
            output_names=names,
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        logging.disable(logging.WARNING)  # onnxruntime's advice on pre-processing, logged to the root logger
        try:
            quantize_dynamic(str(float_path), str(staging / "model.onnx"), weight_type=QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
        float_path.unlink()
    model.config.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    parity = _parity(model, OnnxModel(str(staging), head), names, model.config, samples, seed)
    for path in staging.iterdir():
        shutil.move(str(path), out / path.name)
    staging.rmdir()
    return parity


def _outputs(model, names: list[str]):
    """A transformers model as a function of positional tensors returning the head's outputs, for the exporter."""
    import torch

    class Outputs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, token_type_ids, attention_mask):
            out = self.model(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask)
            return tuple(getattr(out, name) for name in names)

    return Outputs()


def _parity(model, exported: OnnxModel, names: list[str], config, samples: int, seed: int) -> dict:
    """torch against onnxruntime on random token ids of random lengths, some rows padded: the largest difference of
    any output, and how often the two pick the same class, span boundary or token (argmax)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    largest, agree, total = 0.0, 0, 0
    for _ in range(max(1, samples // 8)):
        length = int(torch.randint(4, min(128, config.max_position_embeddings), (1,), generator=generator))
        ids = torch.randint(5, config.vocab_size, (8, length), generator=generator)
        types = torch.zeros_like(ids)
        mask = (torch.arange(length)[None, :] < torch.randint(2, length + 1, (8, 1), generator=generator)).long()
        with torch.no_grad():
            expected = model(input_ids=ids, token_type_ids=types, attention_mask=mask)
        got = exported(ids, types, mask)
        for name in names:
            want, have = getattr(expected, name).float(), getattr(got, name).float()
            largest = max(largest, float((want - have).abs().max()))
            agree += int((want.argmax(-1) == have.argmax(-1)).sum())
            total += want.argmax(-1).numel()
    return {"largest_difference": largest, "argmax_agree": agree, "compared": total}
