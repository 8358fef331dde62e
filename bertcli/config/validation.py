"""Checks of a whole configuration that need no model or data: the model, output directory and data are named,
files exist, and each settings class's own checks pass (TrainConfig.check, the task's options.check)."""

from __future__ import annotations

from pathlib import Path

from bertcli.config.schema import RunConfig, TrainConfig
from bertcli.errors import BertcliError


def validate(cfg: RunConfig, training: bool = True, check_output: bool = True) -> None:
    """Range checks that need no model or data. Model- and data-dependent checks run once those load.
    With `training` False (bertcli evaluate) only the evaluation data is required."""
    t = cfg.train
    if not cfg.model:
        raise BertcliError("no model given: pass --model NAME_OR_DIR (a hub name, or a directory from init-model)")
    if training and not cfg.output_dir:
        raise BertcliError("no output directory given: pass --output-dir DIR")
    t.check()
    d = cfg.data
    if training and not (d.dataset or d.train_file):
        raise BertcliError("no training data: pass --recipe NAME or --train-file FILE (see `bertcli recipes list`)")
    held_out_of_nothing = d.evaluation_source() == "held_out" and not (d.train_file or d.dataset)
    if not training and (d.evaluation_source() is None or held_out_of_nothing):  # evaluate has no --train-file
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
