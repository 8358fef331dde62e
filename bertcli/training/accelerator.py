"""The Accelerator every command runs under, with the checks Accelerate leaves silent."""

from __future__ import annotations

import os
import sys

import torch

from bertcli.config import RunConfig
from bertcli.errors import BertcliError


def make_accelerator(cfg: RunConfig):
    from accelerate import Accelerator

    t = cfg.train
    # Launched as several processes (torchrun, accelerate launch) on a machine without a GPU: Accelerate
    # only forms a multi-CPU (gloo) group when told to use the CPU, and otherwise runs each as a lone process.
    cpu_processes = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
    warn_single_cpu_process()
    try:
        accelerator = Accelerator(
            cpu=cpu_processes,
            mixed_precision=t.mixed_precision,
            gradient_accumulation_steps=t.grad_accum,
            log_with=trackers(t.report_to),
            project_dir=cfg.output_dir,
        )
    except (ValueError, ImportError) as e:
        raise BertcliError(
            f"cannot set up training: {str(e).splitlines()[0]} (check --mixed-precision and --report-to)"
        ) from e
    # Accelerate would silently train in fp32: say so instead.
    if t.mixed_precision == "fp16" and accelerator.device.type == "cpu":
        raise BertcliError("--mixed-precision fp16 needs a GPU: on the CPU use --mixed-precision bf16 or no")
    return accelerator


PACKAGES = {"comet_ml": "comet-ml"}  # trackers whose pip package is named otherwise


def trackers(report_to: str) -> list[str] | None:
    """The experiment trackers `--report-to` names: none, all (every one installed), or a comma-separated list.
    Checked here, before Accelerate would warn about (and then skip) a tracker that is not installed."""
    from accelerate.tracking import get_available_trackers
    from accelerate.utils import LoggerType

    names = [name.strip() for name in report_to.split(",") if name.strip()]
    if names in ([], ["none"]):
        return None
    known = [kind.value for kind in LoggerType if kind.value != "all"]
    installed = sorted(str(LoggerType(kind).value) for kind in get_available_trackers())
    if "all" in names:
        if not installed:
            raise BertcliError(
                "--report-to all: no experiment tracker is installed (pip install tensorboard, "
                "wandb, mlflow, ...); pass --report-to none to log only to log.jsonl"
            )
        return installed
    for name in names:
        if name not in known:
            raise BertcliError(
                f"--report-to {name}: unknown tracker; choose none, all, or any of "
                f"{', '.join(known)} (comma-separated for several)"
            )
        if name not in installed:
            raise BertcliError(
                f"--report-to {name}: {name} is not installed; pip install {PACKAGES.get(name, name)}, "
                "or pass --report-to none"
            )
    return names


def warn_single_cpu_process() -> None:
    """`accelerate launch --num_processes N` on a machine without GPUs quietly starts one process: it sets
    MASTER_ADDR for the group it meant to form but never WORLD_SIZE. Say so, and what works instead."""
    launched = "ACCELERATE_USE_CPU" in os.environ and "MASTER_ADDR" in os.environ
    if launched and "WORLD_SIZE" not in os.environ and not torch.cuda.is_available():
        print(
            "bertcli: warning: `accelerate launch` asked for several processes but started one (no GPU here); "
            "for several CPU processes run `torchrun --nproc_per_node N -m bertcli ...`",
            file=sys.stderr,
        )
