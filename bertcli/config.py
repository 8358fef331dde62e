"""RunConfig: everything a run needs, resolved in layers and validated before any heavy work.

    defaults (the dataclasses) <- the task's defaults <- recipe YAML <- --config FILE.yaml <- CLI flags

Each layer is a plain nested dict with the same shape as `OUT/run.yaml`:

    task: cls
    model: google-bert/bert-base-uncased
    output_dir: runs/sst2
    recipe: sst2
    data:    {dataset: ..., text_column: ..., ...}      # the task's data settings (a DataSource subclass)
    train:   {lr: 2.0e-5, batch_size: 32, ...}          # TrainConfig (the shared training flags)
    options: {problem_type: ..., metrics: [...]}        # the task's own options (a TaskOptions subclass)

so a saved `run.yaml` passed back with `--config` repeats the run. Unknown keys are errors (they are almost
always typos), and values are checked here, before torch, transformers or datasets are imported.

Every field is declared once, with `setting(default, help=...)`: the CLI generates its flag, `--help` and
default from it (bertcli/cli/generate.py), and recipes and config files are checked against the same fields.
This module imports nothing heavy.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml

from bertcli import recipes
from bertcli.errors import BertcliError
from bertcli.yamlio import load_yaml

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
) -> Any:
    """A configuration field and its flag: `help` for --help; `default_text` describes a default of None
    ("from --epochs"); `cli=False` keeps a setting to recipes and config files (structured values);
    `evaluate=False` leaves a data setting out of `bertcli evaluate` (the training file); `aliases` are other
    names of the flag, and `switches` flags that set a value ({"--regression": "regression"}): names a flag once
    had keep working."""
    metadata = {
        "help": help,
        "default_text": default_text,
        "cli": cli,
        "evaluate": evaluate,
        "aliases": aliases,
        "switches": switches or {},
    }
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


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

    epochs: float = setting(3.0, help="Number of passes over the training data.")
    max_steps: int | None = setting(
        help="Stop after this many optimizer steps (overrides --epochs).", default_text="from --epochs"
    )
    batch_size: int = setting(32, help="Examples per device per forward pass.")
    eval_batch_size: int | None = setting(help="Evaluation batch size.", default_text="2 x --batch-size")
    grad_accum: int = setting(1, help="Gradient accumulation: forward passes per optimizer step.")
    lr: float = setting(5e-5, help="Peak learning rate (AdamW).")
    weight_decay: float = setting(0.01, help="AdamW weight decay (not on biases and LayerNorm).")
    warmup_ratio: float = setting(0.0, help="Fraction of steps with linear warm-up, then linear decay.")
    max_grad_norm: float = setting(1.0, help="Clip gradients to this norm (0: no clipping).")
    max_seq_length: int = setting(128, help="Longest input in tokens; longer inputs are truncated.")
    seed: int = setting(42, help="Random seed for initialisation, shuffling and dropout.")
    mixed_precision: MixedPrecision = setting("no", help="Mixed precision: no, fp16 (GPU) or bf16.")
    compile: bool = setting(False, help="torch.compile the training step: faster steps on a GPU once compiled.")
    eval_steps: int | None = setting(help="Evaluate every N optimizer steps.", default_text="each epoch's end")
    save_steps: int = setting(500, help="Save a full checkpoint every N optimizer steps (0: never).")
    save_total_limit: int | None = setting(2, help="Keep at most this many checkpoints (the best one is always kept).")
    resume_from_checkpoint: str | None = setting(
        help="Resume from a checkpoint directory, or 'auto' for the latest in the output dir."
    )
    max_train_samples: int | None = setting(help="Use only the first N training examples.")
    max_eval_samples: int | None = setting(help="Use only the first N evaluation examples.")
    logging_steps: int = setting(50, help="Log loss, learning rate and speed every N steps.")
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
        help="Stop once --metric-for-best has not improved for N evaluations in a row.", default_text="never"
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


# --- building dataclasses from nested dicts, with type checks ----------------------------------------


def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check `value` against the annotation `tp`, converting the safe cases (int -> float, "5e-5" -> float)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except BertcliError as e:
                errors.append(e)
        raise errors[0]
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise BertcliError(f"{where} must be one of {', '.join(map(str, choices))}, not {value!r}")
        return value
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if isinstance(value, str):  # from the command line: --label-names negative,positive
            value = [v.strip() for v in value.split(",") if v.strip()]
        elif isinstance(value, (int, float)):
            value = [value]
        if not isinstance(value, (list, tuple)):
            raise BertcliError(f"{where} must be a list, not {value!r}")
        return [_coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no"):
            return value.lower() in ("true", "yes")
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 5e-5 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif tp is dict:
        if isinstance(value, dict):
            return value
    elif tp is Any:
        return value
    raise BertcliError(f"{where} must be {_type_name(tp)}, not {value!r}")


def build_dataclass(cls, values: dict | None, where: str):
    """Instantiate dataclass `cls` from a dict, rejecting unknown keys and ill-typed values."""
    values = dict(values or {})
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise BertcliError(
            f"unknown setting '{where}.{unknown[0]}': valid {where} settings are {', '.join(sorted(known))}"
        )
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in values.items()}
    return cls(**kwargs)


def deep_merge(base: dict, override: dict) -> dict:
    """Merge `override` into a copy of `base`; nested dicts merge, everything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# Keys a run.yaml or recipe may hold that describe the file rather than configure the run.
INFO_KEYS = ("name", "description", "versions")


def resolve(
    spec,
    recipe: str | None,
    config_file: str | dict | None,
    flags: dict,
    training: bool = True,
    check_output: bool = True,
) -> RunConfig:
    """Layer defaults <- the task's defaults <- recipe <- config file <- flags into a validated RunConfig.

    `spec` is the task's registry entry (its name, data settings and options classes); `config_file` a YAML file's
    path or its settings already read; `flags` holds only what the user passed on the command line (None values
    are dropped), in the nested shape of run.yaml.
    """
    file_layer = (config_file if isinstance(config_file, dict) else load_yaml(config_file)) if config_file else {}
    recipe_name = recipe or file_layer.get("recipe")
    layers = [{"train": spec.options.train_defaults}]
    if recipe_name:
        recipe_layer = recipes.load_recipe(recipe_name)
        own = {spec.name, getattr(spec, "recipes_of", None) or spec.name}  # distill cls takes cls's recipes
        if recipe_layer.get("task", spec.name) not in own:
            raise BertcliError(
                f"recipe '{recipe_name}' is for `{recipe_layer['task']}`, not `{spec.name}`: "
                f"see `bertcli recipes list` for the recipes of each command"
            )
        layers.append({k: v for k, v in recipe_layer.items() if k != "task"})
    layers += [file_layer, _drop_none(flags)]

    merged: dict = {"task": spec.name}
    for layer in layers:
        merged = deep_merge(merged, _moved_settings({k: v for k, v in layer.items() if k not in INFO_KEYS}))
    if merged.get("task") != spec.name:
        raise BertcliError(f"config file {config_file} is for `{merged['task']}`, not `{spec.name}`")
    merged["recipe"] = recipe_name

    known_top = {f.name for f in dataclasses.fields(RunConfig)}
    unknown = sorted(set(merged) - known_top)
    if unknown:
        raise BertcliError(
            f"unknown setting '{unknown[0]}': valid top-level settings are {', '.join(sorted(known_top))}"
        )
    cfg = RunConfig(
        task=spec.name,
        model=_coerce(merged.get("model"), str | None, "model"),
        output_dir=_coerce(merged.get("output_dir"), str | None, "output_dir"),
        recipe=recipe_name,
        data=build_dataclass(spec.data, merged.get("data"), "data"),
        train=build_dataclass(TrainConfig, merged.get("train"), "train"),
        options=build_dataclass(spec.options, merged.get("options"), "options"),
    )
    validate(cfg, training, check_output)
    for name in ("train_file", "validation_file"):  # run.yaml then works from any directory
        if getattr(cfg.data, name):
            setattr(cfg.data, name, str(Path(getattr(cfg.data, name)).resolve()))
    return cfg


# Settings that moved: (old section, old name) -> (new section, new name). Old run.yaml files and recipes still load.
MOVED = {  # pre-training's hub sources and hold-out, in `options` before the task registry
    ("options", "line_by_line"): ("data", "line_by_line"),
    ("options", "lines_per_document"): ("data", "lines_per_document"),
    ("options", "extra_sources"): ("data", "extra_sources"),
    ("options", "validation_percentage"): ("data", "validation_split_percentage"),
}
# Switches that became choices: (section, old name) -> (new name, {old value: new value}).
BECAME_CHOICES = {
    ("options", "nsp"): ("objective", {True: "mlm-nsp", False: "mlm"}),
    ("options", "whole_word_masking"): ("masking", {True: "whole-word", False: "token"}),
}


def _moved_settings(layer: dict) -> dict:
    """`layer` with settings from their old place put in their new one (unless it already holds them)."""
    for (old, key), (new, new_key) in MOVED.items():
        if isinstance(layer.get(old), dict) and key in layer[old]:
            value = layer[old][key]
            layer = {**layer, old: {k: v for k, v in layer[old].items() if k != key}}
            layer[new] = {new_key: value, **(layer.get(new) or {})}
    for (section, key), (new_key, values) in BECAME_CHOICES.items():
        if isinstance(layer.get(section), dict) and key in layer[section]:
            old = layer[section]
            layer = {**layer, section: {new_key: values[old[key]], **{k: v for k, v in old.items() if k != key}}}
    return layer


def _drop_none(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            v = _drop_none(v)
            if v:
                out[k] = v
        elif v is not None:
            out[k] = v
    return out


def validate(cfg: RunConfig, training: bool = True, check_output: bool = True) -> None:
    """Range checks that need no model or data. Model- and data-dependent checks run once those load.
    With `training` False (bertcli evaluate) only the evaluation data is required."""
    t = cfg.train
    if not cfg.model:
        raise BertcliError("no model given: pass --model NAME_OR_DIR (a hub name, or a directory from init-model)")
    if training and not cfg.output_dir:
        raise BertcliError("no output directory given: pass --output-dir DIR")
    checks = [
        (t.lr > 0, f"--lr must be positive, got {t.lr}"),
        (t.batch_size >= 1, f"--batch-size must be at least 1, got {t.batch_size}"),
        (
            t.eval_batch_size is None or t.eval_batch_size >= 1,
            f"--eval-batch-size must be at least 1, got {t.eval_batch_size}",
        ),
        (t.grad_accum >= 1, f"--grad-accum must be at least 1, got {t.grad_accum}"),
        (t.epochs > 0, f"--epochs must be positive, got {t.epochs}"),
        (t.max_steps is None or t.max_steps >= 1, f"--max-steps must be at least 1, got {t.max_steps}"),
        (t.weight_decay >= 0, f"--weight-decay must be zero or positive, got {t.weight_decay}"),
        (0 <= t.warmup_ratio < 1, f"--warmup-ratio must be in [0, 1), got {t.warmup_ratio}"),
        (t.max_grad_norm >= 0, f"--max-grad-norm must be zero or positive, got {t.max_grad_norm}"),
        (t.max_seq_length >= 8, f"--max-seq-length must be at least 8, got {t.max_seq_length}"),
        (t.eval_steps is None or t.eval_steps >= 1, f"--eval-steps must be at least 1, got {t.eval_steps}"),
        (t.save_steps >= 0, f"--save-steps must be zero or positive, got {t.save_steps}"),
        (
            t.save_total_limit is None or t.save_total_limit >= 1,
            f"--save-total-limit must be at least 1, got {t.save_total_limit}",
        ),
        (t.logging_steps >= 1, f"--logging-steps must be at least 1, got {t.logging_steps}"),
        (
            t.early_stopping_patience is None or t.early_stopping_patience >= 1,
            f"--early-stopping-patience must be at least 1, got {t.early_stopping_patience}",
        ),
        (
            t.max_train_samples is None or t.max_train_samples >= 1,
            f"--max-train-samples must be at least 1, got {t.max_train_samples}",
        ),
        (
            t.max_eval_samples is None or t.max_eval_samples >= 1,
            f"--max-eval-samples must be at least 1, got {t.max_eval_samples}",
        ),
    ]
    for ok, message in checks:
        if not ok:
            raise BertcliError(message)
    d = cfg.data
    if training and not (d.dataset or d.train_file):
        raise BertcliError("no training data: pass --recipe NAME or --train-file FILE (see `bertcli recipes list`)")
    if not training and d.evaluation_source() is None:
        raise BertcliError("no evaluation data: pass --validation-file FILE or --recipe NAME")
    # `bertcli evaluate` reads run.yaml, whose training file may have moved since: it needs the file it evaluates on
    needed = training or d.evaluation_source() == "held_out"
    for name in ("train_file", "validation_file") if needed else ("validation_file",):
        path = getattr(d, name)
        if path and not Path(path).is_file():
            raise BertcliError(f"--{name.replace('_', '-')} not found: {path}")
    pct = d.validation_split_percentage
    if pct is not None and not 0 < pct < 100:
        raise BertcliError(f"--validation-split-percentage must be between 0 and 100, got {pct}")
    cfg.options.check(t)
    if training and check_output:
        _check_output_dir(Path(cfg.output_dir), t)


def _check_output_dir(out: Path, t: TrainConfig) -> None:
    """Never overwrite a previous run by accident; resuming continues in the same directory."""
    if out.exists() and not out.is_dir():
        raise BertcliError(f"--output-dir {out} is a file: choose a directory")
    resume = t.resume_from_checkpoint
    if resume and resume != "auto" and not Path(resume).is_dir():
        raise BertcliError(f"checkpoint not found: {resume} (pass a checkpoints/step-N directory, or 'auto')")
    if out.is_dir() and any(out.iterdir()) and not (t.overwrite_output_dir or resume):
        raise BertcliError(
            f"output directory {out} is not empty: pass --overwrite-output-dir to replace it, "
            "--resume-from-checkpoint auto to continue its run, or choose another --output-dir"
        )


def package_versions() -> dict:
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for pkg in ("bertcli", "torch", "transformers", "datasets", "accelerate", "tokenizers", "evaluate"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return versions


# What a resumed run may set anew: how long it goes on (the learning-rate schedule then stretches or shrinks to the
# new end), and how it logs, evaluates, saves and reports; not what it trains on or how.
RESUME_MAY_CHANGE = {
    "epochs",
    "max_steps",
    "resume_from_checkpoint",
    "overwrite_output_dir",
    "logging_steps",
    "eval_steps",
    "save_steps",
    "save_total_limit",
    "report_to",
    "eval_batch_size",
    "max_eval_samples",
    "metric_for_best",
    "allow_pickle",
    "compile",
    "report",
}


def resume_changes(cfg: RunConfig, saved: dict) -> list[str]:
    """The settings of `cfg` that differ from the run a checkpoint was saved by (`saved`: its run.yaml), each as
    "train.lr 0.0005 -> 0.001"; empty when the run may go on."""
    now = cfg.to_dict()
    changes = [f"{key} {saved.get(key)} -> {now[key]}" for key in ("task", "model") if saved.get(key) != now[key]]
    for section in ("data", "options", "train"):
        before = saved.get(section) or {}
        for key, value in now[section].items():
            if key in before and before[key] != value and not (section == "train" and key in RESUME_MAY_CHANGE):
                changes.append(f"{section}.{key} {before[key]} -> {value}")
    return changes


def run_yaml(cfg: RunConfig) -> str:
    """The fully resolved configuration, with package versions, as YAML that --config reads back."""
    data = cfg.to_dict()
    # How this invocation treats the output dir is not part of the experiment: a run repeated with
    # --config must never overwrite or resume anything unless told so again.
    data["train"].update(overwrite_output_dir=False, resume_from_checkpoint=None)
    data["versions"] = package_versions()
    return yaml.safe_dump(data, sort_keys=False)


def save_run_yaml(cfg: RunConfig, path: Path) -> None:
    path.write_text(run_yaml(cfg), encoding="utf-8")
