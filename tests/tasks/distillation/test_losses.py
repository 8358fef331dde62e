"""The distillation losses: each zero at the teacher and positive elsewhere, padding never counted."""

import pytest
import torch

from bertcli.tasks.distillation import losses


def test_each_loss_is_zero_at_the_teacher_and_positive_elsewhere():
    torch.manual_seed(0)
    logits, states = torch.randn(4, 3), torch.randn(2, 5, 8)
    attention = torch.softmax(torch.randn(2, 2, 5, 5), -1)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]).bool()
    identity = torch.nn.Linear(8, 8)
    with torch.no_grad():
        identity.weight.copy_(torch.eye(8))
        identity.bias.zero_()
    pairs = [
        (lambda a, b: losses.soft_cross_entropy(a, b, 2.0), logits, logits + torch.randn(4, 3)),
        (lambda a, b: losses.hidden_cosine(a, b, mask), states, states + torch.randn(2, 5, 8)),
        (lambda a, b: losses.hidden_mse(a, b, mask, identity), states, states + torch.randn(2, 5, 8)),
        (lambda a, b: losses.attention_mse(a, b, mask), attention, torch.softmax(torch.randn(2, 2, 5, 5), -1)),
    ]
    for loss, teacher, other in pairs:
        assert loss(teacher, teacher).item() == pytest.approx(0.0, abs=1e-6)
        assert loss(other, teacher).item() > 1e-4
    padding_only = states.clone()
    padding_only[0, 4] += 10.0  # a padding position: never counted
    assert losses.hidden_cosine(padding_only, states, mask).item() == pytest.approx(0.0, abs=1e-6)
