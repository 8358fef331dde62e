"""Checkpoints: `OUT/checkpoints/step-N/`, each the full training state and a loadable model directory.

A checkpoint holds the run's output model as `save_pretrained` writes it (plus the tokenizer), so
`AutoModelFor*.from_pretrained(step_dir)` loads it, and any other trained model in `step_dir/<name>/`;
Accelerate adds the optimizer, scheduler, RNG states of every process and its step counter;
`trainer_state.json` adds the data position and the best metric so far.
It is written to `.step-N.tmp` and renamed when complete: an interrupted save leaves no half checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from safetensors import SafetensorError

from bertcli.errors import BertcliError

TRAINER_STATE = "trainer_state.json"
# What a failed write raises: OSError from Python's own files, SafetensorError from safetensors, and a
# RuntimeError ("unexpected pos ...") from torch.save on a full disk.
WRITE_ERRORS = (OSError, RuntimeError, SafetensorError)


def write_error(error: Exception, directory: Path) -> str:
    """A failed write in one line, with the free space left where it was writing."""
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error).strip().splitlines()[0]
    try:
        free = f"{shutil.disk_usage(directory).free / 2**20:.0f} MB free"
    except OSError:
        free = "free space unknown"
    return f"writing to {directory} failed ({reason}; {free})"


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under `root`, oldest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-") and p.name[5:].isdigit()]
    return sorted(found, key=lambda p: int(p.name[5:]))


class Checkpointer:
    def __init__(self, accelerator, root: Path, tokenizer, save_total_limit: int | None, run_yaml: Path | None = None):
        self.accelerator, self.root, self.tokenizer, self.limit = accelerator, root, tokenizer, save_total_limit
        self.run_yaml = run_yaml  # copied into each checkpoint: a resume checks its settings against the run's
        accelerator.register_save_state_pre_hook(self._save_model_hook)
        accelerator.register_load_state_pre_hook(self._load_model_hook)

    def save(self, step: int, trainer_state: dict, best_step: int | None) -> None:
        acc = self.accelerator
        final, tmp = self.root / f"step-{step}", self.root / f".step-{step}.tmp"
        if acc.is_main_process:
            shutil.rmtree(tmp, ignore_errors=True)
        acc.wait_for_everyone()
        try:
            acc.save_state(str(tmp))
            if acc.is_main_process:
                (tmp / TRAINER_STATE).write_text(json.dumps(trainer_state, indent=2))
                if self.run_yaml and self.run_yaml.is_file():
                    shutil.copyfile(self.run_yaml, tmp / "run.yaml")
        except WRITE_ERRORS as e:  # a full disk, most often: drop the partial save, keep the previous checkpoints
            shutil.rmtree(tmp, ignore_errors=True)
            saved = list_checkpoints(self.root)
            kept = f"the previous checkpoint {saved[-1]} is intact" if saved else "no earlier checkpoint exists"
            raise BertcliError(
                f"cannot save checkpoint step-{step}: {write_error(e, self.root)}; {kept}: free space "
                "(or lower --save-total-limit) and resume with --resume-from-checkpoint auto"
            ) from e
        if acc.is_main_process:
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
            self._rotate(keep_step=best_step)
        acc.wait_for_everyone()

    def save_best(self, module, step: int) -> None:
        """The models of the best evaluation so far in `checkpoints/best/` (a loadable model directory), written aside
        and renamed, with the step they are of; --load-best-model-at-end saves them as the run's model."""
        acc = self.accelerator
        if acc.is_main_process:
            final, tmp = self.root / "best", self.root / ".best.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                module.save(tmp)
                self.tokenizer.save_pretrained(tmp)
                (tmp / TRAINER_STATE).write_text(json.dumps({"step": step}))
            except WRITE_ERRORS as e:
                shutil.rmtree(tmp, ignore_errors=True)
                raise BertcliError(
                    f"cannot save the best model so far: {write_error(e, self.root)}: free space and "
                    "resume with --resume-from-checkpoint auto"
                ) from e
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
        acc.wait_for_everyone()

    def best(self, step: int) -> Path | None:
        """A directory holding the models of `step`: checkpoints/best when it is of that step, else that step's
        checkpoint; None when neither is on disk."""
        best = self.root / "best"
        if (best / TRAINER_STATE).is_file() and json.loads((best / TRAINER_STATE).read_text())["step"] == step:
            return best
        return self.root / f"step-{step}" if (self.root / f"step-{step}" / TRAINER_STATE).is_file() else None

    def load(self, path: Path) -> dict:
        """Restore model, optimizer, scheduler and RNG states; return the saved trainer state."""
        self.accelerator.load_state(str(path))
        return json.loads((path / TRAINER_STATE).read_text())

    def resolve(self, resume: str | None) -> Path | None:
        """The checkpoint that `--resume-from-checkpoint` names: a path, 'auto' (the latest), or none."""
        if not resume:
            return None
        if resume == "auto":
            saved = list_checkpoints(self.root)
            return saved[-1] if saved else None
        path = Path(resume)
        if not (path / TRAINER_STATE).is_file():
            raise BertcliError(
                f"{path} is not a bertcli checkpoint (no {TRAINER_STATE}): pass a checkpoints/step-N directory"
            )
        return path

    def _rotate(self, keep_step: int | None) -> None:
        """Keep the newest `save_total_limit` checkpoints, and always the best one."""
        if not self.limit:
            return
        saved = list_checkpoints(self.root)
        keep = set(saved[-self.limit :])
        if keep_step is not None:
            keep.add(self.root / f"step-{keep_step}")
        for path in saved:
            if path not in keep:
                shutil.rmtree(path)

    def _save_model_hook(self, models, weights, output_dir) -> None:
        if self.accelerator.is_main_process:  # every trained model, each a loadable model directory
            self.accelerator.unwrap_model(models[0]).save(output_dir)
            self.tokenizer.save_pretrained(output_dir)
        weights.clear()  # Accelerate would otherwise write the same weights a second time

    def _load_model_hook(self, models, input_dir) -> None:
        # Load into the unwrapped models (the files have their names, without a DDP "module." prefix);
        # taking the module off the list stops Accelerate from loading it again.
        self.accelerator.unwrap_model(models.pop(0)).load(input_dir, self.accelerator.device)
