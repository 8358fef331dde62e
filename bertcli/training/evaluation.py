"""Evaluation: one pass over the evaluation data, shared by training and `bertcli evaluate`.

Batches are sorted by length; each process evaluates its share, outputs are gathered to the CPU batch by
batch (`gather_for_metrics` drops the copies that even out the last batch) and put back in dataset order by
the `index` every example carries, so the task computes its metrics over each example exactly once.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from bertcli.batching import SortedBatchSampler, WithIndex


def eval_dataloader(dataset, task, batch_size: int, device_type: str, seed: int = 0):
    """Length-sorted batches of `dataset` (which has a `length` column), each example with its `index`."""
    sampler = SortedBatchSampler(list(dataset["length"]), batch_size)
    return torch.utils.data.DataLoader(
        WithIndex(dataset.remove_columns("length")),
        batch_sampler=sampler,
        collate_fn=task.collate,
        pin_memory=device_type == "cuda",
        generator=torch.Generator().manual_seed(seed),  # see trainer._dataloader
    )


@torch.inference_mode()
def evaluate(task, models: dict, data, dataloader, accelerator) -> tuple[dict, object, dict[str, np.ndarray]]:
    """(metrics, predictions, outputs): the task's metrics plus loss, eval_samples and eval_samples_per_second;
    what the task's `save_predictions` writes; and the gathered per-example outputs in dataset order."""
    modes = {name: model.training for name, model in models.items()}
    for model in models.values():
        model.eval()
    start = time.perf_counter()
    chunks: dict[str, list[np.ndarray]] = {}
    loss_sum = torch.zeros((), device=accelerator.device)
    for batch in dataloader:
        index = batch.pop("index")
        with accelerator.autocast():
            outputs = task.forward(models, batch)
        if outputs.loss is not None:
            loss_sum += outputs.loss.float() * index.shape[0]
        kept = accelerator.gather_for_metrics({**task.eval_outputs(outputs, batch), "index": index})
        for key, value in kept.items():  # to the CPU batch by batch: device memory stays flat
            chunks.setdefault(key, []).append(value.cpu().numpy())
    arrays = {k: np.concatenate(v) for k, v in chunks.items()}
    # Back to dataset order, one row per example (np.unique also makes the count exact if a copy slipped in).
    _, order = np.unique(arrays.pop("index"), return_index=True)
    arrays = {k: v[order] for k, v in arrays.items()}
    elapsed = time.perf_counter() - start
    metrics, predictions = task.compute_metrics(arrays, data)
    total_loss = accelerator.reduce(loss_sum, "sum").item()
    if total_loss:
        metrics["loss"] = total_loss / len(order)
    metrics["eval_samples"] = len(order)
    metrics["eval_samples_per_second"] = round(len(order) / elapsed, 2)
    for name, model in models.items():
        model.train(modes[name])
    return metrics, predictions, arrays


def run_evaluation(cfg, spec) -> dict:
    """`bertcli evaluate`: the trained model in cfg.model on cfg's validation data, as training evaluates it, plus
    what the task reports beyond its metrics (a confusion matrix, ...)."""
    from bertcli.training.setup import set_up

    setup = set_up(cfg, spec, training=False)
    accelerator, task = setup.accelerator, setup.task
    models = {name: model.to(accelerator.device) for name, model in setup.models.all().items()}
    batch_size = cfg.train.eval_batch_size or 2 * cfg.train.batch_size
    dataloader = accelerator.prepare(eval_dataloader(setup.data.eval, task, batch_size, accelerator.device.type))
    metrics, predictions, outputs = evaluate(task, models, setup.data, dataloader, accelerator)
    return {**metrics, **task.report(outputs, setup.data, predictions)}
