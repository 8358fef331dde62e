"""The schema: every setting a run has, declared once with `setting(default, help=...)`, and each settings class
checking its own values beside its fields. The CLI generates each flag, its `--help` and default from these fields
(bertcli/cli/generate.py); recipes and config files are checked against the same fields. Imports nothing heavy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from bertcli.errors import BertcliError

MixedPrecision = Literal["no", "fp16", "bf16"]


def setting(
    default: Any = None,
    *,
    help: str,
    default_text: str | None = None,
    cli: bool = True,
    evaluate: bool = True,
    aliases: tuple[str, ...] = (),
    switches: dict[str, Any] | None = None,
    at_least: float | None = None,
    above: float | None = None,
    below: float | None = None,
) -> Any:
    """A configuration field and its flag: `help` for --help; `default_text` describes a default of None
    ("from --epochs"); `cli=False` keeps a setting to recipes and config files (structured values);
    `evaluate=False` leaves a data setting out of `bertcli evaluate` (the training file); `aliases` are other
    names of the flag, and `switches` flags that set a value ({"--regression": "regression"}): names a flag once
    had keep working. `at_least`, `above` and `below` bound a number (None always passes): `check_ranges`
    refuses a value outside them with the flag's name."""
    metadata = {
        "help": help,
        "default_text": default_text,
        "cli": cli,
        "evaluate": evaluate,
        "aliases": aliases,
        "switches": switches or {},
        "bounds": (at_least, above, below),
    }
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _range_error(flag: str, value, at_least, above, below) -> str | None:
    """What is wrong with `value` for these bounds, as the one-line error, or None."""
    if at_least is not None and below is not None:
        ok, wanted = at_least <= value < below, f"be in [{at_least:g}, {below:g})"
    elif above == 0:
        ok, wanted = value > 0, "be positive"
    elif at_least == 0:
        ok, wanted = value >= 0, "be zero or positive"
    elif at_least is not None:
        ok, wanted = value >= at_least, f"be at least {at_least:g}"
    else:
        return None
    return None if ok else f"{flag} must {wanted}, got {value}"


def check_ranges(settings) -> None:
    """Refuse a field of the dataclass instance `settings` outside the bounds its `setting()` declares."""
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        bounds = f.metadata.get("bounds")
        if value is None or not bounds:
            continue
        error = _range_error("--" + f.name.replace("_", "-"), value, *bounds)
        if error:
            raise BertcliError(error)


@dataclass
class DataSource:
    """Where a task's data comes from: local files or a hub data set. Each task's data settings extend this with
    its columns (and may re-declare a field to describe it for the task)."""

    train_file: str | None = setting(help="Training file; overrides the recipe's data set.", evaluate=False)
    validation_file: str | None = setting(help="Validation file, same formats.")
    dataset: str | None = setting(help="Hugging Face Hub data set (a recipe names one).")
    dataset_config: str | None = setting(help="Hub data set configuration (subset), e.g. sst2 of nyu-mll/glue.")
    train_split: str = setting("train", help="Hub split to train on.", evaluate=False)
    validation_split: str = setting("validation", help="Hub split to evaluate on.")
    validation_split_percentage: float | None = setting(
        help="With no validation file or hub validation split: hold out this share (%) of the training examples "
        "for evaluation.",
        default_text="none: train without evaluation",
    )

    def evaluation_source(self) -> str | None:
        """Where the evaluation data comes from: "file" (--validation-file), "hub" (the named data set's validation
        split, unless that is the split trained on), "held_out" (a share of the training data), or None."""
        if self.validation_file:
            return "file"
        if self.dataset and not (self.train_file is None and self.validation_split == self.train_split):
            return "hub"
        return "held_out" if self.validation_split_percentage else None

    def source(self, split: str) -> str:
        """How to name the data of `split` ("train" or "validation") in a message."""
        local = self.train_file if split == "train" else self.validation_file
        return local or f"{self.dataset} ({self.train_split if split == 'train' else self.validation_split})"


class TaskOptions:
    """Base of each task's options dataclass: its own defaults for the shared training settings, its checks,
    and what a trained model's config says about them."""

    train_defaults: ClassVar[dict] = {}  # e.g. {"max_seq_length": 384}: shown in --help, used by the run

    def check(self, train: TrainConfig) -> None:
        """Raise BertcliError for values that cannot work (no model or data needed to tell)."""

    @classmethod
    def from_model(cls, model_config: dict) -> dict:
        """Options that a trained model's config.json fixes (for `bertcli evaluate` on a model without run.yaml)."""
        return {}


@dataclass
class TrainConfig:
    """The training flags every training command shares. Each field becomes a CLI flag (`--grad-accum`)."""

    epochs: float = setting(3.0, help="Number of passes over the training data.", above=0)
    max_steps: int | None = setting(
        help="Stop after this many optimizer steps (overrides --epochs).",
        default_text="from --epochs",
        at_least=1,
    )
    batch_size: int = setting(32, help="Examples per device per forward pass.", at_least=1)
    eval_batch_size: int | None = setting(help="Evaluation batch size.", default_text="2 x --batch-size", at_least=1)
    grad_accum: int = setting(1, help="Gradient accumulation: forward passes per optimizer step.", at_least=1)
    lr: float = setting(5e-5, help="Peak learning rate (AdamW).", above=0)
    weight_decay: float = setting(0.01, help="AdamW weight decay (not on biases and LayerNorm).", at_least=0)
    warmup_ratio: float = setting(
        0.0, help="Fraction of steps with linear warm-up, then linear decay.", at_least=0, below=1
    )
    max_grad_norm: float = setting(1.0, help="Clip gradients to this norm (0: no clipping).", at_least=0)
    max_seq_length: int = setting(128, help="Longest input in tokens; longer inputs are truncated.", at_least=8)
    seed: int = setting(42, help="Random seed for initialisation, shuffling and dropout.")
    mixed_precision: MixedPrecision = setting("no", help="Mixed precision: no, fp16 (GPU) or bf16.")
    compile: bool = setting(False, help="torch.compile the training step: faster steps on a GPU once compiled.")
    eval_steps: int | None = setting(
        help="Evaluate every N optimizer steps.", default_text="each epoch's end", at_least=1
    )
    save_steps: int = setting(500, help="Save a full checkpoint every N optimizer steps (0: never).", at_least=0)
    save_total_limit: int | None = setting(
        2, help="Keep at most this many checkpoints (the best one is always kept).", at_least=1
    )
    resume_from_checkpoint: str | None = setting(
        help="Resume from a checkpoint directory, or 'auto' for the latest in the output dir."
    )
    max_train_samples: int | None = setting(help="Use only the first N training examples.", at_least=1)
    max_eval_samples: int | None = setting(help="Use only the first N evaluation examples.", at_least=1)
    logging_steps: int = setting(50, help="Log loss, learning rate and speed every N steps.", at_least=1)
    group_by_length: bool = setting(True, help="Batch training examples of similar length together (less padding).")
    metric_for_best: str | None = setting(
        help="Metric that picks the best checkpoint.", default_text="the task's main metric"
    )
    load_best_model_at_end: bool = setting(
        False,
        help="Save the model of the best evaluation (by --metric-for-best) rather than the last; metrics.json "
        "then holds its metrics, and model_step its step.",
    )
    early_stopping_patience: int | None = setting(
        help="Stop once --metric-for-best has not improved for N evaluations in a row.",
        default_text="never",
        at_least=1,
    )
    report: bool = setting(True, help="Write OUT/report.html at the end: curves, metrics, configuration.")
    report_to: str = setting(
        "none",
        help="Experiment trackers: none, all (every one installed), or a comma-separated list: tensorboard, "
        "wandb, mlflow, ...",
    )
    overwrite_output_dir: bool = setting(False, help="Replace an output directory that already holds a run.")
    allow_pickle: bool = setting(
        False,
        help="Load pickled weights (pytorch_model.bin) when a model has no "
        "safetensors; pickles can run code: only for sources you trust.",
    )

    def check(self) -> None:
        """Refuse values that cannot work (the bounds declared beside each field)."""
        check_ranges(self)


@dataclass
class RunConfig:
    task: str
    model: str | None = None
    output_dir: str | None = None
    recipe: str | None = None
    data: Any = None  # the task's data settings, e.g. ClassificationData
    train: TrainConfig = field(default_factory=TrainConfig)
    options: Any = None  # the task's own options, e.g. ClassificationOptions

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
