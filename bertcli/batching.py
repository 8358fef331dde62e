"""How examples become batches: length-aware batch order and per-batch padding.

Training batches group examples of similar length (less padding, the same randomness across epochs as
plain shuffling at the level of batches); evaluation batches are sorted by length and their outputs put
back in input order by the `index` each example carries. Padding is per batch, to the longest example.
A task whose examples are independent token sequences (token classification) may instead pack a training batch's
examples into as few rows as they fit, each attending only to itself: the same batch, without its padding.
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


def pack_batch(features: list[dict], pad_values: dict[str, int], width: int, pad_to_multiple_of: int | None = None):
    """Stack a list of examples into as few rows of at most `width` positions as first-fit decreasing finds.

    Every example keeps its own positions: `position_ids` restart at 0 with each, and `sequence_ids` number the
    examples of a row from 1 (0: padding), from which `packed_attention_mask` lets each attend only to itself.
    So a model sees each example as it would alone, and the rows hold no more padding than the last bits of rows.
    Keys in `pad_values` are packed (the padding filled with their value); `attention_mask` marks the examples'
    positions (for counting tokens); other keys are per-example values, stacked in the features' order.
    """
    sequence_key = next(k for k in pad_values if k in features[0])
    lengths = [len(f[sequence_key]) for f in features]
    rows: list[list[int]] = []  # example numbers per row
    room: list[int] = []
    for i in sorted(range(len(features)), key=lambda i: -lengths[i]):
        row = next((r for r, free in enumerate(room) if free >= lengths[i]), None)
        if row is None:
            rows.append([])
            room.append(max(width, lengths[i]))
            row = len(rows) - 1
        rows[row].append(i)
        room[row] -= lengths[i]
    filled = max(sum(lengths[i] for i in row) for row in rows)
    if pad_to_multiple_of:
        filled = math.ceil(filled / pad_to_multiple_of) * pad_to_multiple_of
    shape = (len(rows), filled)
    batch = {key: torch.full(shape, pad_values[key], dtype=torch.long) for key in features[0] if key in pad_values}
    positions, sequence_ids = torch.zeros(shape, dtype=torch.long), torch.zeros(shape, dtype=torch.long)
    for r, row in enumerate(rows):
        start = 0
        for n, i in enumerate(row, 1):
            end = start + lengths[i]
            for key in batch:
                batch[key][r, start:end] = torch.as_tensor(features[i][key])
            positions[r, start:end] = torch.arange(lengths[i])
            sequence_ids[r, start:end] = n
            start = end
    for key in features[0]:
        if key not in pad_values:
            batch[key] = torch.as_tensor([f[key] for f in features])
    batch.update(position_ids=positions, sequence_ids=sequence_ids, attention_mask=(sequence_ids > 0).long())
    return batch


def packed_attention_mask(sequence_ids: torch.Tensor, attention: str, dtype: torch.dtype) -> torch.Tensor:
    """The 4-D mask (rows, 1, query, key) that keeps packed examples apart, in the form the model's attention takes:
    True where a position may attend (sdpa), or 0 there and the dtype's lowest value elsewhere (eager, added to
    the scores). The padding at a row's end attends to itself, so that no query is left with nothing to attend to."""
    allowed = sequence_ids[:, None, :, None] == sequence_ids[:, None, None, :]
    if attention == "sdpa":
        return allowed
    if attention == "eager":
        return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill(
            ~allowed, torch.finfo(dtype).min
        )
    raise ValueError(f"packed batches need sdpa or eager attention, not {attention}")
