"""What a task supplies to the shared trainer.

A task turns examples into features, builds its model, collates batches, says what to keep from each
evaluation batch, and turns those outputs into metrics. Everything else (the loop, mixed precision,
accumulation, logging, evaluation cadence, checkpoints, saving) is the trainer's.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from bertcli.batching import pad_batch
from bertcli.config import RunConfig


class Task:
    name: ClassVar[str]
    options_class: ClassVar[type]
    defaults: ClassVar[dict] = {}  # the task's own defaults, in run.yaml's shape: {"train": {...}}
    # Keys of a batch that are token sequences, with the value they are padded with.
    # `input_ids` is padded with the tokenizer's pad id, filled in by __init__.
    sequence_pad_values: ClassVar[dict[str, int]] = {"input_ids": 0, "token_type_ids": 0}

    def __init__(self, cfg: RunConfig, tokenizer, model_config):
        self.cfg = cfg
        self.tokenizer = tokenizer
        self.model_config = model_config
        self.pad_values = {**self.sequence_pad_values, "input_ids": tokenizer.pad_token_id}
        self.pad_to_multiple_of: int | None = None  # the trainer sets 8 on GPUs

    # --- data ---------------------------------------------------------------------------------------
    def load_datasets(self):
        """(train, eval) datasets of features, each with a `length` column (tokens) for batching by length."""
        raise NotImplementedError

    def load_eval_dataset(self):
        """The evaluation features alone, with labels mapped as the trained model has them (bertcli evaluate)."""
        raise NotImplementedError

    def collate(self, features: list[dict]) -> dict[str, torch.Tensor]:
        return pad_batch(features, self.pad_values, self.pad_to_multiple_of)

    # --- model --------------------------------------------------------------------------------------
    def build_model(self):
        raise NotImplementedError

    # --- evaluation ---------------------------------------------------------------------------------
    @property
    def metric_names(self) -> list[str]:
        """Names of the metrics `compute_metrics` returns; the first is the main one."""
        raise NotImplementedError

    def eval_outputs(self, outputs, batch: dict) -> dict[str, torch.Tensor]:
        """Per-example tensors to keep from one evaluation batch (same shape beyond dim 0 in every batch)."""
        raise NotImplementedError

    def compute_metrics(self, outputs: dict[str, np.ndarray]) -> dict[str, float]:
        """Metrics from the evaluation outputs of every example, in eval-dataset order."""
        raise NotImplementedError

    def save_predictions(self, out_dir: Path, outputs: dict[str, np.ndarray]) -> None:
        """Write task-specific prediction files next to the model (optional)."""
