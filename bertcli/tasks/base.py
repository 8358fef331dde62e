"""What a task supplies to the shared trainer and evaluation.

A task turns examples into features, builds its models, collates batches, computes its loss, says what to keep
from each evaluation batch, and turns those outputs into metrics. Everything else (the loop, mixed precision,
accumulation, logging, evaluation cadence, checkpoints, saving) is the trainer's.

The calls come in one order, and each passes on what the next needs; a task keeps no state between them:

    data = task.load_data(training)               # TaskData: features, plus what the data told the task
    models = task.build_models(data)              # Models: the trained ones, frozen ones, which one is the output
    loss = task.loss(models.all(), batch)         # each training step (default: the output model's own loss)
    outputs = task.forward(models.all(), batch)   # each evaluation batch; then task.eval_outputs(outputs, batch)
    metrics, predictions = task.compute_metrics(arrays, data)
    task.save_predictions(out_dir, predictions)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from bertcli.batching import pad_batch
from bertcli.config import RunConfig


@dataclass
class TaskData:
    """What `load_data` returns. `train` and `eval` are datasets of features, each with a `length` column (tokens)
    for batching by length; `train` is None for `bertcli evaluate`."""

    train: Any
    eval: Any
    # What the task learned from the data that its models and metrics need: classification's label space,
    # question answering's evaluation examples (ids, contexts, answers) and window offsets.
    info: Any = None
    # The task's options as the data settled them (an inferred problem type): run.yaml records these.
    options: Any = None


@dataclass
class Models:
    """The models of a run. `trained` ones are optimised and checkpointed (shared parameters, such as a generator's
    embeddings that are its discriminator's, are held once); `frozen` ones (a teacher) run without gradients and
    are neither trained nor saved; `output` names the trained model saved as the run's model in OUT/ (the others
    go to OUT/<name>/)."""

    trained: dict[str, torch.nn.Module]
    frozen: dict[str, torch.nn.Module] = field(default_factory=dict)
    output: str = "model"

    def all(self) -> dict[str, torch.nn.Module]:
        return {**self.trained, **self.frozen}


class Task:
    # Keys of a batch that are token sequences, with the value they are padded with.
    # `input_ids` is padded with the tokenizer's pad id, filled in by __init__.
    sequence_pad_values: ClassVar[dict[str, int]] = {"input_ids": 0, "token_type_ids": 0}

    def __init__(self, cfg: RunConfig, tokenizer, model_config, pad_to_multiple_of: int | None = None):
        self.cfg = cfg
        self.tokenizer = tokenizer
        self.model_config = model_config
        self.pad_values = {**self.sequence_pad_values, "input_ids": tokenizer.pad_token_id}
        self.pad_to_multiple_of = pad_to_multiple_of  # 8 on GPUs

    # --- data ---------------------------------------------------------------------------------------
    def load_data(self, training: bool) -> TaskData:
        """Training and evaluation features; with `training` False (bertcli evaluate) only the evaluation ones,
        with labels mapped as the trained model in cfg.model has them."""
        raise NotImplementedError

    def collate(self, features: list[dict]) -> dict[str, torch.Tensor]:
        return pad_batch(features, self.pad_values, self.pad_to_multiple_of)

    # A task whose training batches are packed (collate_training) wants them drawn at random, not length-grouped.
    packs_training_batches: ClassVar[bool] = False

    def collate_training(self, features: list[dict]) -> dict[str, torch.Tensor]:
        """A training batch; as any other batch unless the task lays training batches out otherwise."""
        return self.collate(features)

    # --- models -------------------------------------------------------------------------------------
    def build_models(self, data: TaskData) -> Models:
        raise NotImplementedError

    def forward(self, models: dict[str, torch.nn.Module], batch: dict):
        """The output model's outputs for a batch (what evaluation keeps); they include the loss when the batch
        has labels."""
        return models["model"](**batch)

    def loss(self, models: dict[str, torch.nn.Module], batch: dict) -> torch.Tensor:
        """The training loss of a batch. The seam for losses that are not the model's own: a teacher's soft
        targets, a generator's samples."""
        return self.forward(models, batch).loss

    # --- evaluation ---------------------------------------------------------------------------------
    def metric_names(self, data: TaskData) -> list[str]:
        """Names of the metrics `compute_metrics` returns; the first is the main one."""
        raise NotImplementedError

    def eval_outputs(self, outputs, batch: dict) -> dict[str, torch.Tensor]:
        """Per-example tensors to keep from one evaluation batch (same shape beyond dim 0 in every batch)."""
        raise NotImplementedError

    def compute_metrics(self, outputs: dict[str, np.ndarray], data: TaskData) -> tuple[dict[str, float], Any]:
        """(metrics, predictions) from the evaluation outputs of every example, in eval-dataset order;
        `predictions` are what `save_predictions` writes (None when the task writes none)."""
        raise NotImplementedError

    def report(self, outputs: dict[str, np.ndarray], data: TaskData, predictions: Any) -> dict:
        """What an evaluation shows beyond its metrics (a confusion matrix, scores by kind of question, ...):
        `bertcli evaluate` prints it, training saves it as OUT/evaluation.json for the run's report."""
        return {}

    def save_predictions(self, out_dir: Path, predictions: Any) -> None:
        """Write task-specific prediction files next to the model (optional)."""
