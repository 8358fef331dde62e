"""The settings of the commands that run a trained model (predict, embed, serve, export, evaluate): how the model
runs (RuntimeOptions), and what each task's predictor takes besides (its PredictOptions, named by the task's
registry entry). Declared once here, as the training settings are in schema.py; the commands generate their flags
from these fields. Imports nothing heavy."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

from bertcli.config.schema import check_ranges, setting

Dtype = Literal["auto", "float32", "bfloat16", "float16", "mixed"]


@dataclass
class RuntimeOptions:
    """How a model runs. Each command takes the fields that apply to it (serve batches by --max-batch-size)."""

    batch_size: int = setting(32, help="Inputs per forward pass (on a GPU, more is faster).", at_least=1)
    max_seq_length: int | None = setting(
        help="Truncate longer inputs (with a warning).",
        default_text="the training run's, a sentence-transformers model's, else the model's maximum",
        at_least=1,
    )
    device: str = setting("auto", help="auto, cpu, cuda, cuda:1, ...")
    dtype: Dtype = setting(
        "auto",
        help="Weights and activations. auto: bfloat16/float16 on a GPU; on the CPU, float32 for predict and, for "
        "embed on a CPU with bfloat16 instructions, mixed (2-3x faster; cosine to float32 >= 0.99995). mixed: matrix "
        "products in bfloat16, the rest in float32.",
    )
    quantize: Literal["none", "int8"] = setting(
        "none", help="int8: the encoder's linear layers dynamically quantized (CPU): faster, a little less exact."
    )
    allow_pickle: bool = setting(
        False,
        help="Load pickled weights (pytorch_model.bin) when the model has no safetensors; pickles can run code: only "
        "for sources you trust.",
    )

    def check(self) -> None:
        check_ranges(self)

    def predictor_kwargs(self) -> dict:
        """The keyword arguments of a Predictor (bertcli.predict.base) for these settings."""
        return {
            "device": self.device,
            "batch_size": self.batch_size,
            "max_length": self.max_seq_length,
            "dtype": self.dtype,
            "allow_pickle": self.allow_pickle,
            "quantize": None if self.quantize == "none" else self.quantize,
        }


@dataclass
class PredictOptions:
    """Base of a task's predictor options: the flags of `predict` that only some tasks take. A field left at None
    is not given: the predictor's default, or the training run's (run.yaml), applies."""

    def check(self) -> None:
        check_ranges(self)

    def given(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}


@dataclass
class RankedOptions(PredictOptions):
    """Classification and fill-mask: how many of the best answers to list."""

    top_k: int | None = setting(
        help="Classification: also list the k best labels; fill-mask: tokens per [MASK].",
        default_text="1 for classification, 5 for fill-mask",
        at_least=1,
    )
