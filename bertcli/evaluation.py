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
        WithIndex(dataset.remove_columns("length")), batch_sampler=sampler, collate_fn=task.collate,
        pin_memory=device_type == "cuda", generator=torch.Generator().manual_seed(seed),  # see trainer._dataloader
    )


@torch.inference_mode()
def evaluate(model, dataloader, task, accelerator) -> tuple[dict, dict[str, np.ndarray]]:
    """(metrics, outputs): the task's metrics plus loss, eval_samples and eval_samples_per_second; and the
    gathered per-example outputs in dataset order."""
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    chunks: dict[str, list[np.ndarray]] = {}
    loss_sum = torch.zeros((), device=accelerator.device)
    for batch in dataloader:
        index = batch.pop("index")
        outputs = model(**batch)
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
    metrics = task.compute_metrics(arrays)
    total_loss = accelerator.reduce(loss_sum, "sum").item()
    if total_loss:
        metrics["loss"] = total_loss / len(order)
    metrics["eval_samples"] = len(order)
    metrics["eval_samples_per_second"] = round(len(order) / elapsed, 2)
    model.train(was_training)
    return metrics, arrays


def classification_report(predictions: np.ndarray, references: np.ndarray, labels: list[str]) -> dict:
    """Confusion matrix (rows: reference, columns: prediction) and precision/recall/F1/support per class."""
    k = len(labels)
    matrix = np.bincount(references * k + predictions, minlength=k * k).reshape(k, k)
    true_positive = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(0), matrix.sum(1)
    precision = np.divide(true_positive, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(true_positive, actual, out=np.zeros(k), where=actual > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=(precision + recall) > 0)
    return {
        "confusion_matrix": {"labels": labels, "matrix": matrix.tolist()},
        "per_class": {label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                      for label, p, r, f, s in zip(labels, precision, recall, f1, actual)},
    }


def run_evaluation(cfg, task_class) -> dict:
    """`bertcli evaluate`: the trained model in cfg.model on cfg's validation data, as training evaluates."""
    from bertcli.accelerator import make_accelerator
    from bertcli.modeling import check_max_length, load_config, load_tokenizer, quiet_transformers

    quiet_transformers()
    accelerator = make_accelerator(cfg)
    model_config = load_config(cfg.model)
    check_max_length(model_config, cfg.train.max_seq_length, cfg.model)
    task = task_class(cfg, load_tokenizer(cfg.model), model_config)
    if accelerator.device.type == "cuda":
        task.pad_to_multiple_of = 8
    with accelerator.main_process_first():
        dataset = task.load_eval_dataset()
    model = task.build_model()
    batch_size = cfg.train.eval_batch_size or 2 * cfg.train.batch_size
    model, dataloader = accelerator.prepare(model, eval_dataloader(dataset, task, batch_size, accelerator.device.type))
    metrics, outputs = evaluate(model, dataloader, task, accelerator)
    labels = getattr(task, "labels", None)
    if labels is not None and labels.problem_type == "single_label_classification":
        metrics.update(classification_report(outputs["logits"].argmax(-1), outputs["labels"], labels.names))
    return metrics
