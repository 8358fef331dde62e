"""Batch order, padding and packing."""

import random

import pytest
import torch

from bertcli.batching import (
    LengthGroupedBatchSampler,
    SortedBatchSampler,
    pack_batch,
    packed_attention_mask,
    pad_batch,
)


def lengths(n=1000, seed=0):
    rng = random.Random(seed)
    return [rng.randint(5, 128) for _ in range(n)]


def test_length_grouped_batches_cover_every_example_once_and_cut_padding():
    lens = lengths()
    sampler = LengthGroupedBatchSampler(lens, batch_size=32, seed=1)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(lens)))
    assert len(batches) == len(sampler) == 32

    def padding(batches):
        return sum(max(lens[i] for i in b) * len(b) - sum(lens[i] for i in b) for b in batches)

    random_batches = list(LengthGroupedBatchSampler(lens, 32, seed=1, group_by_length=False))
    assert padding(batches) < 0.2 * padding(random_batches)
    assert max(lens[i] for i in batches[0]) == max(lens)  # the longest batch comes first


@pytest.mark.parametrize("n, batch_size", [(1000, 32), (2000, 32), (33, 8), (5, 8), (1601, 32)])
def test_every_batch_is_full_but_the_last(n, batch_size):
    for epoch in range(3):
        sampler = LengthGroupedBatchSampler(lengths(n, seed=epoch), batch_size, seed=0)
        sampler.set_epoch(epoch)
        sizes = [len(b) for b in sampler]
        assert all(size == batch_size for size in sizes[:-1]) and 0 < sizes[-1] <= batch_size


def test_sharded_across_processes_every_example_is_seen():
    """Accelerate's BatchSamplerShard, as `accelerate launch` / torchrun with 2 processes uses it."""
    from accelerate.data_loader import BatchSamplerShard

    lens = lengths(2000)
    for epoch in range(4):
        sampler = LengthGroupedBatchSampler(lens, batch_size=32, seed=0)
        sampler.set_epoch(epoch)
        shards = [list(BatchSamplerShard(sampler, num_processes=2, process_index=i)) for i in range(2)]
        assert len(shards[0]) == len(shards[1]) == 32  # 63 batches -> 32 a process (one repeated)
        seen = {i for shard in shards for batch in shard for i in batch}
        assert seen == set(range(2000))


def test_batch_order_is_a_function_of_seed_and_epoch():
    sampler = LengthGroupedBatchSampler(lengths(), batch_size=16, seed=3)
    sampler.set_epoch(0)
    epoch0 = list(sampler)
    assert list(sampler) == epoch0
    sampler.set_epoch(1)
    assert list(sampler) != epoch0


@pytest.mark.parametrize("n, batch_size", [(1000, 32), (5, 2), (7, 16)])
def test_sorted_batches_for_evaluation_cover_every_example_longest_first(n, batch_size):
    lens = lengths(n, seed=n)
    batches = list(SortedBatchSampler(lens, batch_size=batch_size))
    order = [i for batch in batches for i in batch]
    assert sorted(order) == list(range(n))
    assert [lens[i] for i in order] == sorted(lens, reverse=True)
    assert all(len(b) == batch_size for b in batches[:-1]) and len(batches) == len(SortedBatchSampler(lens, batch_size))
    ties = list(SortedBatchSampler([4] * 6, batch_size=4))
    assert ties == [[0, 1, 2, 3], [4, 5]]  # equal lengths keep input order (a stable sort)


def test_pad_batch_pads_to_the_longest_and_builds_the_attention_mask():
    features = [
        {"input_ids": [2, 7, 3], "token_type_ids": [0, 0, 0], "labels": 1},
        {"input_ids": [2, 3], "token_type_ids": [0, 0], "labels": 0},
    ]
    batch = pad_batch(features, {"input_ids": 9, "token_type_ids": 0})
    assert batch["input_ids"].tolist() == [[2, 7, 3], [2, 3, 9]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [1, 0]
    wide = pad_batch(features, {"input_ids": 9, "token_type_ids": 0}, pad_to_multiple_of=8)
    assert wide["input_ids"].shape == wide["attention_mask"].shape == torch.Size([2, 8])


def packed_features(seed=0, n=32):
    rng = random.Random(seed)
    features = []
    for i in range(n):
        length = rng.randint(3, 40)
        ids = [2] + [rng.randint(5, 99) for _ in range(length - 2)] + [3]
        features.append({"input_ids": ids, "labels": [-100] + ids[1:-1] + [-100], "index": 100 + i})
    return features


def test_pack_batch_keeps_every_example_whole_in_fewer_rows():
    features = packed_features()
    pad = {"input_ids": 0, "labels": -100}
    batch = pack_batch(features, pad, width=64)
    rows, width = batch["input_ids"].shape
    assert width <= 64 and rows < len(features)
    assert sum(len(f["input_ids"]) for f in features) <= rows * width < pad_batch(features, pad)["input_ids"].numel()
    found = []
    for r in range(rows):
        ids = batch["sequence_ids"][r]
        for n in ids.unique().tolist():
            where = (ids == n).nonzero().flatten()
            if n == 0:  # padding: the row's end, attention_mask 0, labels ignored
                assert where.min() > (ids > 0).nonzero().max() and batch["attention_mask"][r, where].eq(0).all()
                assert batch["labels"][r, where].eq(-100).all()
                continue
            assert where.tolist() == list(range(where[0], where[-1] + 1))  # contiguous
            assert batch["position_ids"][r, where].tolist() == list(range(len(where)))  # positions restart
            found.append((batch["input_ids"][r, where].tolist(), batch["labels"][r, where].tolist()))
    assert sorted(found) == sorted((f["input_ids"], f["labels"]) for f in features)  # each once, labels with it
    assert batch["index"].tolist() == [f["index"] for f in features]  # per-example values in the features' order
    assert int(batch["attention_mask"].sum()) == sum(len(f["input_ids"]) for f in features)
    assert pack_batch(features, pad, width=64, pad_to_multiple_of=8)["input_ids"].shape[1] % 8 == 0


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_a_packed_batch_gives_each_example_the_outputs_it_has_alone(attention):
    """The same logits, position by position, as the padded batch: packing changes the layout, not the model."""
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, num_labels=5
    )
    config._attn_implementation = attention
    model = BertForTokenClassification(config).eval()
    features = [{k: v for k, v in f.items() if k != "labels"} for f in packed_features(seed=1, n=12)]
    padded = pad_batch(features, {"input_ids": 0})
    packed = pack_batch(features, {"input_ids": 0}, width=64)
    sequence_ids = packed.pop("sequence_ids")
    packed["attention_mask"] = packed_attention_mask(sequence_ids, attention, torch.float32)
    with torch.no_grad():
        alone = model(input_ids=padded["input_ids"], attention_mask=padded["attention_mask"]).logits
        together = model(**{k: v for k, v in packed.items() if k != "index"}).logits
    compared = 0
    for r in range(together.shape[0]):
        for n in sequence_ids[r].unique().tolist():
            if n == 0:
                continue
            where = (sequence_ids[r] == n).nonzero().flatten()
            ids = packed["input_ids"][r, where]
            i = next(i for i, f in enumerate(features) if f["input_ids"] == ids.tolist())
            torch.testing.assert_close(together[r, where], alone[i, : len(where)], atol=1e-5, rtol=1e-4)
            compared += 1
    assert compared == len(features)
