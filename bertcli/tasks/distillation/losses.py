"""The distillation losses, each between a student's and its teacher's outputs of one batch.

Soft targets (DistilBERT, Hinton et al.): cross-entropy against the teacher's softened distribution, times T^2 so
that its gradients keep their scale as T changes. Hidden states: 1 - cosine (DistilBERT; equal widths), or the
squared error after a learned projection of the student's width to the teacher's (TinyBERT). Attention maps and
the embeddings' output: squared error (TinyBERT). Every loss is zero when the student equals the teacher, and
averages over real tokens only (padding is left out).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_cross_entropy(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy of the student's softened predictions against the teacher's, less the teacher's entropy (the
    Kullback-Leibler divergence: zero when they agree, the same gradients), times T^2. Logits (..., classes);
    `mask` picks the rows that count."""
    t = temperature
    student_log = F.log_softmax(student_logits.float() / t, dim=-1)
    teacher_log = F.log_softmax(teacher_logits.float() / t, dim=-1)
    per_row = F.kl_div(student_log, teacher_log, log_target=True, reduction="none").sum(-1)
    if mask is not None:
        per_row = per_row[mask]
    return per_row.mean() * t * t


def hidden_cosine(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """1 - cosine between the student's and the teacher's hidden state of every real token."""
    return (1 - F.cosine_similarity(student.float()[mask], teacher.float()[mask], dim=-1)).mean()


def hidden_mse(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor, projection=None) -> torch.Tensor:
    """Squared error between the (projected) student's and the teacher's hidden state of every real token."""
    student = student.float()[mask]
    if projection is not None:
        student = projection(student)
    return F.mse_loss(student, teacher.float()[mask])


def attention_mse(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Squared error between attention maps (batch, heads, query, key) over real query and key tokens; with
    different numbers of heads, between the maps averaged over heads."""
    if student.shape[1] != teacher.shape[1]:
        student, teacher = student.mean(1, keepdim=True), teacher.mean(1, keepdim=True)
    pair = (mask[:, None, :, None] & mask[:, None, None, :]).expand_as(student)
    return F.mse_loss(student.float()[pair], teacher.float()[pair])
