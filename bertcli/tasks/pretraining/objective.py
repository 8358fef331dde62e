"""`bertcli pretrain`'s task for its --objective: masked LM, with or without NSP (task.py), or ELECTRA (electra.py)."""

from __future__ import annotations

from bertcli.tasks.base import Task


def pretraining_task(cfg, tokenizer, model_config, pad_to_multiple_of=None) -> Task:
    if cfg.options.objective == "electra":
        from bertcli.tasks.pretraining.electra import ElectraTask

        return ElectraTask(cfg, tokenizer, model_config, pad_to_multiple_of)
    from bertcli.tasks.pretraining.task import PretrainingTask

    return PretrainingTask(cfg, tokenizer, model_config, pad_to_multiple_of)
