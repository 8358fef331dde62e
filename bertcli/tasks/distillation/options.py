"""The settings of `bertcli distill`: which student, from which teacher, and how much each loss weighs. Mixed into
the options of the task distilled (classification, question answering, pre-training's data for general
distillation), so that a distillation run takes every flag of the run it distills."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bertcli.config import TaskOptions, TrainConfig, setting
from bertcli.errors import BertcliError
from bertcli.tasks.classification.options import ClassificationOptions
from bertcli.tasks.pretraining.options import PretrainingOptions
from bertcli.tasks.question_answering.options import QuestionAnsweringOptions

STUDENT_SIZES = ("tiny", "mini", "small", "medium", "base", "tinybert")


@dataclass
class DistillationOptions(TaskOptions):
    student: str | None = setting(
        help="Start the student from this model directory (e.g. one `distill general` wrote).",
        default_text="built from the teacher",
    )
    student_layers: str | None = setting(
        help="The student is the teacher with these of its layers (0-based, 0,2,4) or this many, evenly spaced.",
        default_text="every other layer of the teacher",
    )
    student_width: int | None = setting(
        help="Narrow the student taken from the teacher's layers to this hidden width (a multiple of the head size), "
        "keeping the channels, heads and feed-forward units with the largest weights (Minitron-style pruning).",
        default_text="the teacher's",
    )
    student_size: str | None = setting(
        help="Instead, a new student of a named size (tiny, mini, small, medium, base, tinybert = 4x312), with the "
        "teacher's vocabulary and random weights.",
    )
    temperature: float = setting(2.0, help="Softmax temperature of the soft targets (the teacher's predictions).")
    alpha: float = setting(0.5, help="Weight of the soft-target loss; 1 - alpha weighs the loss on the labels.")
    hidden_weight: float = setting(1.0, help="Weight of the hidden-state loss between mapped layers (0: none).")
    hidden_loss: Literal["auto", "cosine", "mse"] = setting(
        "auto",
        help="cosine (DistilBERT's, same width) or mse through a learned projection (TinyBERT's); auto: "
        "cosine when the widths agree.",
    )
    layer_map: Literal["auto", "source", "uniform"] = setting(
        "auto",
        help="Which teacher layer each student layer learns from: source (the one it was taken from), uniform "
        "(TinyBERT's m x N / M: the student's last against the teacher's last); auto: source for a student of "
        "the teacher's layers, else uniform.",
    )
    attention_weight: float = setting(
        0.0, help="Weight of the attention-map MSE between mapped layers (TinyBERT's; slower: eager attention)."
    )
    embedding_weight: float = setting(0.0, help="Weight of the embedding-output MSE (TinyBERT's).")
    stage: Literal["joint", "intermediate", "prediction"] = setting(
        "joint",
        help="TinyBERT's two stages: intermediate (hidden, attention, embeddings only), then prediction "
        "(the outputs only) from the intermediate student with --student; joint: all at once.",
    )

    def check(self, train: TrainConfig) -> None:
        super().check(train)
        if self.student_layers and self.student_size:
            raise BertcliError(
                "--student-layers takes the teacher's layers, --student-size makes a new student: give one"
            )
        if self.student and (self.student_layers or self.student_size):
            raise BertcliError("--student starts from a model directory: drop --student-layers and --student-size")
        if self.student_width is not None and (self.student or self.student_size):
            raise BertcliError(
                "--student-width narrows a student of the teacher's layers: drop --student and --student-size"
            )
        if self.student_width is not None and self.student_width <= 0:
            raise BertcliError(f"--student-width must be positive, got {self.student_width}")
        if self.student_size and self.student_size not in STUDENT_SIZES:
            raise BertcliError(f"--student-size {self.student_size}: choose one of {', '.join(STUDENT_SIZES)}")
        if self.student_layers and not all(p.strip().isdigit() for p in self.student_layers.split(",")):
            raise BertcliError(f"--student-layers {self.student_layers}: give layer numbers (0,2,4) or a count (3)")
        if self.temperature <= 0:
            raise BertcliError(f"--temperature must be positive, got {self.temperature}")
        if not 0 <= self.alpha <= 1:
            raise BertcliError(f"--alpha must be between 0 and 1, got {self.alpha}")
        for name in ("hidden_weight", "attention_weight", "embedding_weight"):
            if getattr(self, name) < 0:
                raise BertcliError(f"--{name.replace('_', '-')} must be zero or positive, got {getattr(self, name)}")


@dataclass
class ClassificationDistillationOptions(ClassificationOptions, DistillationOptions):
    transfer_file: str | None = setting(
        help="Unlabelled texts (txt, one a line; or a table with the text column) the student also learns from: "
        "the teacher's predictions are their targets.",
    )

    def check(self, train: TrainConfig) -> None:
        super().check(train)
        if self.transfer_file and not Path(self.transfer_file).is_file():
            raise BertcliError(f"--transfer-file not found: {self.transfer_file}")
        if self.transfer_file and not self.alpha:
            raise BertcliError(
                "--transfer-file texts have the teacher's predictions as their only targets, which --alpha 0 "
                "turns off: give --alpha above 0"
            )


@dataclass
class QuestionAnsweringDistillationOptions(QuestionAnsweringOptions, DistillationOptions):
    pass


@dataclass
class GeneralDistillationOptions(PretrainingOptions, DistillationOptions):
    train_defaults = {"max_seq_length": 128, "lr": 1e-4, "epochs": 1.0, "batch_size": 32, "warmup_ratio": 0.01}
    objective: Literal["mlm"] = setting(
        "mlm", help="General distillation trains on full-length single segments (no NSP).", cli=False
    )
    generator_size: float = setting(0.25, help="(ELECTRA's; not used)", cli=False)
    rtd_weight: float = setting(50.0, help="(ELECTRA's; not used)", cli=False)
    mlm_weight: float = setting(
        0.0,
        help="DistilBERT's triple loss, with a teacher that has an MLM head: weight of the student's own "
        "masked-LM loss (the soft targets are then the teacher's masked-LM predictions).",
    )
