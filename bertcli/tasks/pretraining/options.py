"""The settings of `bertcli pretrain`: its data sources and options (flags, recipe keys, run.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bertcli.config import DataSource, TaskOptions, TrainConfig, setting
from bertcli.errors import BertcliError
from bertcli.modeling import is_electra_discriminator


@dataclass
class PretrainingData(DataSource):
    train_file: str | None = setting(
        help="Text: one sentence (or paragraph) a line, a blank line between "
        "documents; or csv/jsonl/parquet with one document a row (--text-column).",
        evaluate=False,
    )
    validation_file: str | None = setting(
        help="Held-out text, same formats.", default_text="a share of the training documents"
    )
    text_column: str = setting("text", help="Column with the text, for tables and hub data sets.")
    clean_html: bool = setting(
        False, help="Read HTML line breaks (<br />) as line breaks, drop other tags and unescape &amp; (IMDB)."
    )
    validation_split_percentage: float | None = setting(
        5.0,
        help="With no validation file or hub validation split: hold out this share (%) of the training "
        "documents for evaluation.",
        aliases=("--validation-percentage",),
    )
    # Hub data whose rows are lines of one text stream (WikiText), not one document each; a stream with no
    # document boundaries of its own (BookCorpus sentences) is cut every `lines_per_document` lines.
    line_by_line: bool = setting(False, help="Hub data: rows are lines of running text, not documents.")
    lines_per_document: int | None = setting(
        help="Hub data read line by line: cut a document every N lines.", default_text="at headings and blank lines"
    )
    extra_sources: list[dict] | None = setting(
        help="More hub sources, concatenated after `dataset`: [{dataset, config, text_column, line_by_line, ...}]",
        cli=False,
    )


@dataclass
class PretrainingOptions(TaskOptions):
    train_defaults = {"max_seq_length": 128, "lr": 1e-4, "epochs": 1.0, "batch_size": 32, "warmup_ratio": 0.01}

    objective: Literal["mlm-nsp", "mlm", "electra"] = setting(
        "mlm-nsp",
        help="mlm-nsp: masked LM + next-sentence prediction (BertForPreTraining); mlm: masked LM on full-length "
        "segments (BertForMaskedLM; RoBERTa's recipe); electra: a small generator fills the masks, the model "
        "learns to tell its replacements at every position (ELECTRA).",
        switches={"--no-nsp": "mlm", "--nsp": "mlm-nsp"},
    )
    mlm_probability: float = setting(0.15, help="Share of tokens chosen for masked-LM prediction.")
    masking: Literal["token", "whole-word", "span"] = setting(
        "token",
        help="What is masked: single tokens; whole words (all their WordPiece pieces); or SpanBERT's spans of "
        "whole words (lengths geometric, p 0.2, at most 10 words).",
        switches={"--whole-word-masking": "whole-word"},
    )
    word_segmenter: Literal["jieba"] | None = setting(
        help="With whole-word or span masking, the words: jieba's Chinese words (each a run of character "
        "tokens; pip install jieba), not the tokenizer's.",
        default_text="the tokenizer's words",
    )
    generator_size: float = setting(
        0.25, help="ELECTRA: the generator's hidden size and heads, as a fraction of the model's."
    )
    generator_layers: int | None = setting(
        help="ELECTRA: the generator's depth; fewer layers than the model's make a full-width generator cheaper.",
        default_text="the model's",
    )
    rtd_weight: float = setting(50.0, help="ELECTRA: weight of the replaced-token-detection loss (lambda).")
    pack_across_documents: bool = setting(
        False,
        help="Without NSP: pack whole sentences into full-length segments that run across documents, [SEP] between "
        "documents (RoBERTa's FULL-SENTENCES); default: segments within each document.",
    )
    dropout: float | None = setting(
        help="Dropout (hidden and attention) while pre-training: 0 trains a small model from scratch much faster "
        "(as the cramming recipe does). The saved config keeps the model's own rates, which fine-tuning uses.",
        default_text="the model's config",
    )
    short_seq_prob: float = setting(0.1, help="Share of instances shorter than --max-seq-length.")
    preprocessing_workers: int = setting(1, help="Processes for tokenizing and building instances.")

    def check(self, train: TrainConfig) -> None:
        super().check(train)  # cooperative: distillation mixes its own checks in
        if not 0 < self.mlm_probability < 1:
            raise BertcliError(f"--mlm-probability must be between 0 and 1, got {self.mlm_probability}")
        if not 0 <= self.short_seq_prob <= 1:
            raise BertcliError(f"--short-seq-prob must be between 0 and 1, got {self.short_seq_prob}")
        if self.word_segmenter and self.masking == "token":
            raise BertcliError(
                "--word-segmenter chooses the words that whole-word and span masking mask: add --masking whole-word "
                "(or span)"
            )
        if self.pack_across_documents and self.nsp:
            raise BertcliError(
                "--pack-across-documents builds single segments, and next-sentence prediction needs pairs: add "
                "--objective mlm (or electra)"
            )
        if self.objective == "electra" and not 0 < self.generator_size <= 1:
            raise BertcliError(
                f"--generator-size must be in (0, 1], a fraction of the model's size, got {self.generator_size}"
            )
        if self.objective == "electra" and self.generator_layers is not None and self.generator_layers < 1:
            raise BertcliError(f"--generator-layers must be 1 or more, got {self.generator_layers}")
        if self.dropout is not None and not 0 <= self.dropout < 1:
            raise BertcliError(f"--dropout must be in [0, 1), got {self.dropout}")
        if self.rtd_weight < 0:
            raise BertcliError(f"--rtd-weight must be 0 or more, got {self.rtd_weight}")
        if self.word_segmenter == "jieba":
            try:
                import jieba  # noqa: F401
            except ImportError:
                raise BertcliError(
                    "--word-segmenter jieba needs the jieba package: pip install jieba (or bertcli[chinese])"
                ) from None
        if self.preprocessing_workers < 1:
            raise BertcliError(f"--preprocessing-workers must be at least 1, got {self.preprocessing_workers}")

    @property
    def nsp(self) -> bool:
        return self.objective == "mlm-nsp"

    @classmethod
    def from_model(cls, model_config: dict) -> dict:
        """The objective whose head the model has: NSP's, ELECTRA's replaced-token detection, or masked LM only."""
        if is_electra_discriminator(model_config):
            return {"objective": "electra"}
        architectures = model_config.get("architectures") or []
        return {"objective": "mlm-nsp" if any(a.endswith("ForPreTraining") for a in architectures) else "mlm"}
