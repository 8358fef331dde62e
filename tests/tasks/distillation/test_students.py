"""Students made from a teacher: of some of its layers (and which teacher layer each is set against), narrowed to
its strongest channels, heads and units, or new, of a size."""

import pytest
import torch
from transformers import AutoModelForSequenceClassification, BertConfig, BertForSequenceClassification

from bertcli.errors import BertcliError
from bertcli.tasks.distillation.students import from_teacher_layers, layer_map, narrowed, of_size, teacher_layers


def test_teacher_layers_and_the_layer_map():
    assert teacher_layers(None, 6) == [0, 2, 4] and teacher_layers(None, 12) == [0, 2, 4, 6, 8, 10]
    assert teacher_layers("3", 12) == [0, 4, 8] and teacher_layers("5,1", 6) == [1, 5]
    assert layer_map(3, 6, [0, 2, 4]) == [(1, 1), (2, 3), (3, 5)]  # each student layer against the one it came from
    assert layer_map(4, 12, None) == [(1, 3), (2, 6), (3, 9), (4, 12)]  # TinyBERT's uniform map
    assert layer_map(3, 6, [0, 2, 4], "uniform") == [(1, 2), (2, 4), (3, 6)]  # asked for: the last against the last
    assert layer_map(1, 6, [0], "uniform") == [(1, 6)] and layer_map(1, 6, [0], "source") == [(1, 1)]
    with pytest.raises(BertcliError, match="--layer-map uniform"):
        layer_map(4, 12, None, "source")  # a new student has no source layers


def test_a_student_of_teacher_layers_holds_exactly_those_layers():
    config = BertConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64, num_labels=2
    )
    torch.manual_seed(0)
    big = BertForSequenceClassification(config)
    small = from_teacher_layers(big, [1, 3])
    assert small.config.num_hidden_layers == 2 and big.config.num_hidden_layers == 4
    for student_i, teacher_i in ((0, 1), (1, 3)):
        for (name, s), (_, t) in zip(
            small.bert.encoder.layer[student_i].named_parameters(), big.bert.encoder.layer[teacher_i].named_parameters()
        ):
            assert torch.equal(s, t) and s.data_ptr() != t.data_ptr(), name  # equal values, the student's own
    assert torch.equal(small.classifier.weight, big.classifier.weight)
    assert torch.equal(small.bert.embeddings.word_embeddings.weight, big.bert.embeddings.word_embeddings.weight)
    tokens = torch.tensor([[2, 7, 9, 3]])
    with torch.no_grad():  # the student is a working model of its own depth
        assert small(tokens).logits.shape == (1, 2)
    sized = of_size(AutoModelForSequenceClassification, config, "tinybert")
    assert (sized.config.num_hidden_layers, sized.config.hidden_size, sized.config.num_labels) == (4, 312, 2)


def test_a_narrowed_student_keeps_the_teachers_strongest_channels_heads_and_units(tmp_path):
    config = BertConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, num_labels=2
    )
    torch.manual_seed(0)
    big = BertForSequenceClassification(config).eval()
    tokens = torch.tensor([[2, 7, 9, 3, 11]])
    with torch.no_grad():  # at the full width nothing is cut: the same function
        assert torch.equal(narrowed(big, 32).eval()(tokens).logits, big(tokens).logits)
        strong = torch.tensor([3, 5, 8, 13, 21, 22, 30, 31])
        for name, p in big.named_parameters():
            if name.endswith("LayerNorm.weight"):
                p[strong] = 5.0  # these channels carry the most
        layer = big.bert.encoder.layer[1]
        layer.attention.self.value.weight[24:32] *= 10  # head 3 of layer 1 (head size 8)
        layer.attention.self.value.weight[0:8] *= 10  # and head 0
        layer.intermediate.dense.weight[[4, 40]] *= 10  # feed-forward units 4 and 40
    small = narrowed(big, 8)
    assert (small.config.hidden_size, small.config.num_attention_heads, small.config.intermediate_size) == (8, 1, 16)
    assert torch.equal(
        small.bert.embeddings.word_embeddings.weight, big.bert.embeddings.word_embeddings.weight[:, strong]
    )
    assert torch.equal(small.classifier.weight, big.classifier.weight[:, strong])
    two = narrowed(big, 16)  # two heads of layer 1: its strongest, 0 and 3, the channels the strongest 16
    kept = two.bert.encoder.layer[1].attention.self.value.weight
    channels = torch.sort(
        torch.topk(sum(p.abs() for n, p in big.named_parameters() if n.endswith("LayerNorm.weight")), 16).indices
    ).values
    rows = torch.cat([torch.arange(0, 8), torch.arange(24, 32)])
    assert torch.equal(kept, layer.attention.self.value.weight[rows][:, channels])
    units = two.bert.encoder.layer[1].intermediate.dense.weight
    assert any(torch.equal(u, layer.intermediate.dense.weight[4, channels]) for u in units)
    assert any(torch.equal(u, layer.intermediate.dense.weight[40, channels]) for u in units)
    two.save_pretrained(tmp_path / "narrow")  # a standard model directory of the new width
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "narrow")
    assert loaded.config.hidden_size == 16 and torch.equal(
        loaded.bert.pooler.dense.weight, two.bert.pooler.dense.weight
    )
