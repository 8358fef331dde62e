"""What the loop counts as it goes: the loss of the current logging window, whether every loss so far was finite,
and how many examples and tokens went through. All of it stays on the device between logging steps: reading a
tensor back forces a sync, so the loop does that only when it logs, checkpoints or finishes."""

from __future__ import annotations

import time

import torch


class Meter:
    def __init__(self, accelerator):
        self.accelerator = accelerator
        device = accelerator.device
        self.window_loss = torch.zeros((), device=device)
        self.total_loss = torch.zeros((), device=device)
        self.finite = torch.ones((), device=device, dtype=torch.bool)
        self.tokens = torch.zeros((), device=device, dtype=torch.long)
        self.window_batches = self.window_samples = self.samples = self.batches = 0
        self.start = self.window_start = time.perf_counter()

    def add(self, loss: torch.Tensor, examples: int, attention_mask: torch.Tensor) -> None:
        """One forward pass: its loss, and its examples (counted over every process) and tokens."""
        loss = loss.detach()
        self.window_loss += loss
        self.total_loss += loss
        self.finite &= torch.isfinite(loss)
        self.window_batches += 1
        self.batches += 1
        n = examples * self.accelerator.num_processes
        self.samples, self.window_samples = self.samples + n, self.window_samples + n
        self.tokens += attention_mask.sum()

    def all_finite(self) -> bool:
        """Whether every loss of every process so far was finite (a sync)."""
        acc = self.accelerator
        return acc.reduce(self.finite.int(), "sum").item() == acc.num_processes

    def close_window(self) -> tuple[float, float]:
        """The window's mean loss over every process and its samples/s; then a new window starts."""
        now = time.perf_counter()
        loss = self.accelerator.reduce(self.window_loss, "mean").item() / self.window_batches
        speed = round(self.window_samples / (now - self.window_start), 2)
        self.window_loss.zero_()
        self.window_batches, self.window_samples, self.window_start = 0, 0, now
        return loss, speed

    def throughput(self) -> dict:
        """The whole run's mean loss, time and speed, for metrics.json (since the resume, in a resumed run)."""
        runtime = time.perf_counter() - self.start
        tokens = self.accelerator.reduce(self.tokens, "sum").item()
        mean = self.accelerator.reduce(self.total_loss, "mean").item() / self.batches if self.batches else None
        return {
            "train_loss_mean": mean,
            "train_runtime_s": round(runtime, 2),
            "train_samples_per_second": round(self.samples / runtime, 2),
            "train_tokens_per_second": round(tokens / runtime, 1),
        }


def flat(d: dict, prefix: str = "") -> dict:
    """A nested configuration as {"train.lr": ...}, values as trackers take them."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v if isinstance(v, (int, float, str, bool)) or v is None else str(v)
    return out


def fmt(value) -> str:
    """A logged value as the plain-text log shows it."""
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)
