"""The trained models of a run as one torch module, whose forward is the task's training loss.

Accelerate prepares this one module, so that mixed precision, gradient accumulation and DistributedDataParallel
see every trained model at once, and parameters that two models share (a generator's embeddings that are its
discriminator's) are one parameter: optimised once, synchronised once. Frozen models (a teacher) are held beside
it, not inside: they are not trained, synchronised or checkpointed.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bertcli.files import follow_umask
from bertcli.tasks.base import Models


class TrainingModule(torch.nn.Module):
    def __init__(self, task, models: Models):
        super().__init__()
        self.trained = torch.nn.ModuleDict(models.trained)
        self.frozen = dict(models.frozen)  # a plain dict: not submodules of this one
        self.output = models.output
        self.task = task

    def forward(self, batch: dict) -> torch.Tensor:
        return self.task.loss(self.models(), batch)

    def models(self) -> dict[str, torch.nn.Module]:
        """Every model by name, as the task's `loss` and `forward` take them."""
        return {**self.trained, **self.frozen}

    def directory(self, root: Path, name: str) -> Path:
        """Where a trained model is saved: the output model in `root` itself, the others in `root/<name>`."""
        return Path(root) if name == self.output else Path(root) / name

    def save(self, root: Path) -> None:
        """Every trained model with `save_pretrained` (a standard Hugging Face model directory each); a plain torch
        module (a distillation's projection) as its weights in safetensors."""
        from safetensors.torch import save_model

        for name, model in self.trained.items():
            directory = self.directory(root, name)
            if hasattr(model, "save_pretrained"):
                model.save_pretrained(directory)
            else:
                directory.mkdir(parents=True, exist_ok=True)
                save_model(model, str(directory / "model.safetensors"))
        follow_umask(root)

    def load(self, root: Path, device) -> None:
        """The weights that `save` wrote, into these models (shared parameters stay shared)."""
        from safetensors.torch import load_model

        for name, model in self.trained.items():
            load_model(model, self.directory(root, name) / "model.safetensors", device=str(device))
