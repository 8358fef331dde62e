"""How examples become batches: length-aware batch order and per-batch padding.

Training batches group examples of similar length (less padding, the same randomness across epochs as
plain shuffling at the level of batches); evaluation batches are sorted by length and their outputs put
back in input order by the `index` each example carries. Padding is per batch, to the longest example.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch


class LengthGroupedBatchSampler:
    """Shuffled batches of similar-length examples, deterministic for a given (seed, epoch).

    Examples are shuffled, cut into mega-batches of `group` batches, sorted by length inside each
    mega-batch and split into batches; batch order is then shuffled, the longest batch first so that an
    out-of-memory error shows on the first step rather than hours in. Every batch is full but the last:
    Accelerate's sharding across processes counts on it (a short batch mid-epoch would be dropped).
    """

    def __init__(
        self, lengths: Sequence[int], batch_size: int, seed: int, group_by_length: bool = True, group: int = 50
    ):
        self.lengths = torch.as_tensor(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group_by_length = group_by_length
        self.group = group
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.lengths), generator=generator)
        if not self.group_by_length:
            yield from (chunk.tolist() for chunk in order.split(self.batch_size))
            return
        batches = []
        for mega in order.split(self.batch_size * self.group):
            by_length = mega[torch.argsort(self.lengths[mega], descending=True, stable=True)]
            batches += list(by_length.split(self.batch_size))
        last = [batches.pop()] if len(batches[-1]) < self.batch_size else []
        if batches:
            longest = max(range(len(batches)), key=lambda i: int(self.lengths[batches[i]].max()))
            first = [batches.pop(longest)]
            batches = first + [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        for batch in batches + last:
            yield batch.tolist()


class SortedBatchSampler:
    """Batches of examples sorted by length, longest first, for evaluation and prediction."""

    def __init__(self, lengths: Sequence[int], batch_size: int):
        self.order = torch.argsort(torch.as_tensor(lengths), descending=True, stable=True)
        self.batch_size = batch_size

    def __len__(self) -> int:
        return math.ceil(len(self.order) / self.batch_size)

    def __iter__(self):
        yield from (chunk.tolist() for chunk in self.order.split(self.batch_size))


class WithIndex(torch.utils.data.Dataset):
    """Wraps a datasets.Dataset so that every example carries its position as `index`."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitems__(self, indices: list[int]) -> list[dict]:
        rows = self.dataset.__getitems__(indices)
        for row, i in zip(rows, indices):
            row["index"] = i
        return rows

    def __getitem__(self, i: int) -> dict:
        return self.__getitems__([i])[0]


def pad_batch(features: list[dict], pad_values: dict[str, int], pad_to_multiple_of: int | None = None) -> dict:
    """Stack a list of examples into tensors.

    Keys in `pad_values` are token sequences, right-padded with their value to the longest in the batch
    (rounded up to `pad_to_multiple_of`); an `attention_mask` is built from the lengths. Other keys are
    per-example scalars or fixed-size values, stacked as they are.
    """
    sequence_key = next(k for k in pad_values if k in features[0])
    lengths = torch.tensor([len(f[sequence_key]) for f in features])
    width = int(lengths.max())
    if pad_to_multiple_of:
        width = math.ceil(width / pad_to_multiple_of) * pad_to_multiple_of
    batch = {}
    for key in features[0]:
        if key in pad_values:
            padded = torch.full((len(features), width), pad_values[key], dtype=torch.long)
            for row, f in enumerate(features):
                padded[row, : len(f[key])] = torch.as_tensor(f[key])
            batch[key] = padded
        else:
            batch[key] = torch.as_tensor([f[key] for f in features])
    batch["attention_mask"] = (torch.arange(width)[None, :] < lengths[:, None]).long()
    return batch
