"""The output directory of a training run: made (or a previous run moved aside) before training, and the final
files written aside and renamed in when it ends, so a failed run never leaves OUT half-written or takes an older
run with it."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from bertcli.config import RunConfig, save_run_yaml
from bertcli.errors import BertcliError
from bertcli.training.checkpoints import WRITE_ERRORS, write_error


class OutputDir:
    def __init__(self, accelerator, cfg: RunConfig):
        self.accelerator, self.cfg = accelerator, cfg
        self.path = Path(cfg.output_dir)
        self.replaced = self.path.with_name(f".{self.path.name}.replaced")  # a run --overwrite-output-dir replaces
        self.log = self.path / "log.jsonl"

    def prepare(self, resuming: bool) -> None:
        """OUT made and run.yaml written; with --overwrite-output-dir the previous run is moved aside, and deleted
        only once this one has saved its model (`finished`): a run that fails on the way keeps the old one."""
        if self.accelerator.is_main_process:
            if self.path.exists() and self.cfg.train.overwrite_output_dir and not resuming:
                shutil.rmtree(self.replaced, ignore_errors=True)
                os.replace(self.path, self.replaced)
            self.path.mkdir(parents=True, exist_ok=True)
            save_run_yaml(self.cfg, self.path / "run.yaml")
        self.accelerator.wait_for_everyone()

    def finished(self) -> None:
        if self.accelerator.is_main_process:
            shutil.rmtree(self.replaced, ignore_errors=True)

    def append_log(self, record: dict) -> None:
        with open(self.log, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def truncate_log(self, step: int) -> None:
        """On resume, drop log lines written after the checkpoint: they are about to be redone."""
        if self.accelerator.is_main_process and self.log.is_file():
            lines = [line for line in self.log.read_text().splitlines() if json.loads(line)["step"] <= step]
            self.log.write_text("".join(line + "\n" for line in lines))

    def save_final(self, write: Callable[[Path], None], last_checkpoint: Path | None) -> None:
        """`write(tmp)` writes the final files (model, tokenizer, predictions, metrics.json) into a directory aside;
        they are renamed into OUT one at a time, metrics.json last: a kill or a full disk leaves the previous files
        whole, never half-written ones. Then the report."""
        acc = self.accelerator
        acc.wait_for_everyone()
        if acc.is_main_process:
            tmp = self.path / ".final.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                write(tmp)
            except WRITE_ERRORS as e:
                shutil.rmtree(tmp, ignore_errors=True)
                kept = f"; the checkpoints are intact (latest {last_checkpoint})" if last_checkpoint else ""
                raise BertcliError(
                    f"cannot save the final model: {write_error(e, self.path)}{kept}: free space and "
                    "run again with --resume-from-checkpoint auto"
                ) from e
            for path in sorted(tmp.iterdir(), key=lambda p: p.name == "metrics.json"):
                if path.is_dir():  # another trained model (OUT/<name>/), whole: the older copy goes first
                    shutil.rmtree(self.path / path.name, ignore_errors=True)
                os.replace(path, self.path / path.name)
            tmp.rmdir()
            if self.cfg.train.report:
                self._write_report()
        acc.wait_for_everyone()

    def _write_report(self) -> None:
        """OUT/report.html, drawn from the finished run's files; a report that cannot be drawn is a warning."""
        from bertcli.report import write_report

        try:
            write_report([self.path], self.path / "report.html")
        except Exception as e:  # the run itself is saved and whole: never fail it for its picture
            print(f"bertcli: warning: no report.html ({type(e).__name__}: {e}); the run is saved", file=sys.stderr)
