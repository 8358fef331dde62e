"""The settings of `bertcli finetune squad`: its data columns and options (flags, recipe keys, run.yaml)."""

from __future__ import annotations

from dataclasses import dataclass

from bertcli.config import DataSource, TaskOptions, TrainConfig, setting
from bertcli.config.runtime import PredictOptions
from bertcli.errors import BertcliError


@dataclass
class QuestionAnsweringData(DataSource):
    train_file: str | None = setting(
        help="Training file: official nested SQuAD JSON, or flat jsonl/csv/parquet "
        "(id, question, context, answers{text, answer_start}).",
        evaluate=False,
    )
    id_column: str = setting("id", help="Column holding the question's id.")
    question_column: str = setting("question", help="Column holding the question (segment A).")
    context_column: str = setting("context", help="Column holding the context (segment B).")
    answers_column: str = setting("answers", help="Column holding the answers: {text: [...], answer_start: [...]}.")


@dataclass
class QuestionAnsweringOptions(TaskOptions):
    train_defaults = {"max_seq_length": 384, "lr": 3e-5, "epochs": 2.0, "batch_size": 12}

    version_2: bool = setting(False, help="SQuAD 2.0: questions may have no answer (predicted from [CLS]).")
    doc_stride: int = setting(128, help="Tokens of overlap between consecutive windows of a long context.")
    max_query_length: int = setting(64, help="Cut questions to this many tokens.")
    n_best: int = setting(20, help="Start and end candidates per window.")
    max_answer_length: int = setting(30, help="Longest answer, in tokens.")
    null_score_diff_threshold: float = setting(
        0.0, help="v2: answer 'no answer' when null score - best span score exceeds this."
    )

    def check(self, train: TrainConfig) -> None:
        super().check(train)  # cooperative: distillation mixes its own checks in
        for name in ("doc_stride", "max_query_length", "n_best", "max_answer_length"):
            if getattr(self, name) < 1:
                raise BertcliError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(self, name)}")
        if self.doc_stride >= train.max_seq_length - self.max_query_length - 3:
            raise BertcliError(
                f"--doc-stride {self.doc_stride} leaves no room for new context in a window of "
                f"{train.max_seq_length} tokens with questions of up to {self.max_query_length}: "
                "lower --doc-stride or --max-query-length, or raise --max-seq-length"
            )


@dataclass
class QuestionAnsweringPredictOptions(PredictOptions):
    """`predict` on a question-answering model: windows and span search; each defaults to the training run's."""

    doc_stride: int | None = setting(
        help="QA: tokens of overlap between windows of a long context.", default_text="the training run's", at_least=1
    )
    max_answer_length: int | None = setting(
        help="QA: longest answer in tokens.", default_text="the training run's", at_least=1
    )
    null_score_diff_threshold: float | None = setting(
        help="QA v2: answer nothing when null score - best span score exceeds this.", default_text="the training run's"
    )
