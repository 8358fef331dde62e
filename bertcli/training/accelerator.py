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
            log_with=None if t.report_to == "none" else t.report_to,
            project_dir=cfg.output_dir,
        )
    except (ValueError, ImportError) as e:
        raise BertcliError(
            f"cannot set up training: {str(e).splitlines()[0]} (check --mixed-precision and --report-to)"
        ) from e
    # Accelerate would silently train in fp32, or silently log nowhere: say so instead.
    if t.mixed_precision == "fp16" and accelerator.device.type == "cpu":
        raise BertcliError("--mixed-precision fp16 needs a GPU: on the CPU use --mixed-precision bf16 or no")
    if t.report_to != "none" and not accelerator.log_with:
        raise BertcliError(
            f"--report-to {t.report_to}: that tracker is not installed; install it "
            f"(e.g. pip install {t.report_to}) or pass --report-to none"
        )
    return accelerator


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
