"""The set-up every run shares, training or `bertcli evaluate`: the accelerator, the tokenizer, the task, its data
and its models, in that order, each from what the step before produced."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from bertcli.config import RunConfig
from bertcli.errors import BertcliError
from bertcli.modeling import check_max_length, load_config, load_tokenizer, quiet_transformers
from bertcli.tasks.base import Models, Task, TaskData
from bertcli.training.accelerator import make_accelerator


@dataclass
class Setup:
    cfg: RunConfig  # with the task's options as its data settled them (what run.yaml records)
    accelerator: Any
    tokenizer: Any
    task: Task
    data: TaskData
    models: Models


def set_up(cfg: RunConfig, spec, training: bool) -> Setup:
    """Everything `spec`'s task needs to train (or, with `training` False, to evaluate the model in cfg.model)."""
    from accelerate.utils import set_seed

    quiet_transformers()
    accelerator = make_accelerator(cfg)
    model_config = load_config(cfg.model)
    check_max_length(model_config, cfg.train.max_seq_length, cfg.model)
    tokenizer = load_tokenizer(cfg.model)
    pad_to = 8 if accelerator.device.type == "cuda" else None
    task = spec.task_class()(cfg, tokenizer, model_config, pad_to_multiple_of=pad_to)
    with accelerator.main_process_first():
        data = task.load_data(training)
    if data.options is not None:  # what the data settled (an inferred problem type): the task as so configured
        cfg = dataclasses.replace(cfg, options=data.options)
        task = spec.task_class()(cfg, tokenizer, model_config, pad_to_multiple_of=pad_to)
    if training and data.eval is None:
        t = cfg.train
        needs = [
            flag
            for flag, on in (
                ("--metric-for-best", t.metric_for_best),
                ("--load-best-model-at-end", t.load_best_model_at_end),
                ("--early-stopping-patience", t.early_stopping_patience),
            )
            if on
        ]
        if needs:
            raise BertcliError(
                f"{needs[0]} needs evaluation data: pass --validation-file, or hold out part of the "
                "training data with --validation-split-percentage"
            )
    elif training:
        metric, names = cfg.train.metric_for_best, task.metric_names(data)
        if metric is not None and metric != "loss" and metric not in names:
            raise BertcliError(f"--metric-for-best {metric} is not computed: choose loss or one of {', '.join(names)}")
    set_seed(cfg.train.seed)  # new heads start from the same weights in every run with this seed
    models = task.build_models(data)
    set_dropout(models, getattr(cfg.options, "dropout", None))
    for model in models.frozen.values():
        model.to(accelerator.device).eval().requires_grad_(False)
    return Setup(cfg, accelerator, tokenizer, task, data, models)


def set_dropout(models: Models, rate: float | None) -> None:
    """`--dropout` (pretrain, distill general): the rate of every dropout of the trained models for this run (the
    attention's included: it reads its module's rate), their configs left as they are, so that a saved model
    fine-tunes with its own."""
    if rate is None:
        return
    for model in models.trained.values():
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = rate
