"""The one training loop, on Accelerate, shared by every task.

    prepare -> for each epoch: for each batch: the task's loss, backward (accumulated), clip, step
            -> log every --logging-steps, evaluate every --eval-steps (or each epoch), checkpoint every --save-steps
            -> final evaluation, save the model(s) (HF format) + tokenizer + metrics.json

Read it top to bottom: `train` sets up config, task, data and models (setup.py) and runs `Trainer.fit`: set-up
(`_set_up`, returning a Plan), the loop (`_train`: one forward/backward per batch, `_after_optimizer_step` for
what falls due, returning a Stop reason when the loop should end), and the finish (`_finish`). What the loop counts
lives in meter.py, the output directory's handling in output.py.
The trained models are one module (modules.py) whose forward is the task's loss; frozen ones sit beside it.
Checkpoints (checkpoints.py) hold the full state: every trained model, optimizer, scheduler, RNG, data position.
Ctrl-C (SIGINT) or SIGTERM stops after the current optimizer step with a checkpoint; a NaN/inf loss stops
before anything non-finite is saved.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import torch

from bertcli.batching import LengthGroupedBatchSampler, WithIndex
from bertcli.config import RunConfig, resume_changes
from bertcli.errors import BertcliError, Interrupted
from bertcli.training.checkpoints import Checkpointer
from bertcli.training.evaluation import eval_dataloader, evaluate
from bertcli.training.memory import HeapTrimmer
from bertcli.training.meter import Meter, flat, fmt
from bertcli.training.modules import TrainingModule
from bertcli.training.output import OutputDir
from bertcli.training.setup import Setup, set_up
from bertcli.yamlio import load_yaml


def train(cfg: RunConfig, spec) -> dict:
    """Train the task of `spec` as configured: the whole of a `bertcli finetune/pretrain` command."""
    return Trainer(set_up(cfg, spec, training=True)).fit()


@dataclass
class TrainState:
    """Where training is; saved in every checkpoint as trainer_state.json."""

    step: int = 0  # optimizer steps done
    epoch: int = 0  # current epoch
    batches_in_epoch: int = 0  # batches of the current epoch already consumed (the data position)
    best_metric: float | None = None
    best_step: int | None = None
    evaluations_since_best: int = 0  # for --early-stopping-patience


class Stop(Enum):
    """Why the loop ended."""

    DONE = "done"  # the last step (--epochs or --max-steps)
    EARLY = "early"  # --early-stopping-patience ran out
    SIGNAL = "signal"  # SIGINT/SIGTERM: a checkpoint was saved, the run goes on with --resume-from-checkpoint


@dataclass
class Plan:
    """What set-up hands the loop: the prepared training batches and how long to train."""

    train_dl: Any
    sampler: LengthGroupedBatchSampler
    scheduler: Any
    total_steps: int
    steps_per_epoch: int
    num_epochs: int


class Trainer:
    def __init__(self, setup: Setup):
        self.cfg, self.t = setup.cfg, setup.cfg.train
        self.task, self.data, self.tokenizer = setup.task, setup.data, setup.tokenizer
        self.accelerator = setup.accelerator
        self.module = TrainingModule(setup.task, setup.models)
        self.output = OutputDir(self.accelerator, self.cfg)
        self.out = self.output.path
        self.checkpointer = Checkpointer(
            self.accelerator, self.out / "checkpoints", self.tokenizer, self.t.save_total_limit, self.out / "run.yaml"
        )
        self.state = TrainState()
        self.metric_for_best = self.t.metric_for_best or setup.task.metric_names(setup.data)[0]
        self.is_tty = sys.stdout.isatty()
        self.stop_signal: int | None = None  # set by the SIGINT/SIGTERM handler
        self.last_checkpoint: Path | None = None
        self.last_eval: dict | None = None  # the latest evaluation's metrics and step
        self.predictions = self.eval_arrays = None  # of the latest evaluation: for save_predictions, evaluation.json
        self.progress = None  # the terminal's progress bar while training runs
        self.eval_dl = self.optimizer = self.meter = None
        self.train_loss: float | None = None  # of the last logging window
        self.heap = HeapTrimmer(enabled=self.accelerator.device.type == "cpu")

    # --- the loop ----------------------------------------------------------------------------------
    def fit(self) -> dict:
        # Signal handlers can only be set from the main thread (bertcli's own command always is).
        handled = (signal.SIGINT, signal.SIGTERM) if threading.current_thread() is threading.main_thread() else ()
        previous = {s: signal.signal(s, self._on_signal) for s in handled}
        try:
            plan = self._set_up()
            stop = self._train(plan)
            if stop is Stop.SIGNAL:
                raise Interrupted(
                    f"stopped at step {self.state.step}: saved {self.last_checkpoint}; continue with "
                    "the same command and --resume-from-checkpoint auto"
                )
            metrics = self._finish(stop)
        except (BertcliError, Interrupted) as e:
            if self.output.replaced.exists():
                raise type(e)(f"{e}; the run this one was replacing is kept in {self.output.replaced}") from e
            raise
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        self.output.finished()
        return metrics

    def _on_signal(self, signum, frame) -> None:
        """First Ctrl-C: finish the step, checkpoint, stop. A second one stops at once."""
        self.stop_signal = signum
        signal.signal(signum, signal.SIG_DFL)
        self._print(
            f"\n{signal.Signals(signum).name}: stopping after this step with a checkpoint "
            "(again to stop at once, without one)"
        )

    def _set_up(self) -> Plan:
        """The output directory, data loaders, optimizer and schedule, on Accelerate; the checkpoint's state on
        resume."""
        from transformers import get_linear_schedule_with_warmup

        t, acc = self.t, self.accelerator
        resume_dir = self.checkpointer.resolve(t.resume_from_checkpoint)
        if t.resume_from_checkpoint == "auto" and resume_dir is None:
            self._print(f"No checkpoint in {self.checkpointer.root}: starting from the beginning")
        if resume_dir:
            self._check_resumable(resume_dir)
        self.output.prepare(resuming=resume_dir is not None)

        train_ds = self.data.train
        group = t.group_by_length and not self.task.packs_training_batches
        sampler = LengthGroupedBatchSampler(list(train_ds["length"]), t.batch_size, t.seed, group)
        # Each example carries its `index`: a collate function that draws (pre-training's masks) seeds from the batch's
        # examples, not from the global RNG, which Accelerate's loader has already moved on when a checkpoint is saved
        # (it collates one batch ahead); so a resumed run masks as the uninterrupted one did.
        train_dl = self._dataloader(WithIndex(train_ds.remove_columns("length")), sampler)
        if self.data.eval is not None:  # none: training without evaluation
            batch_size = t.eval_batch_size or 2 * t.batch_size
            self.eval_dl = acc.prepare(eval_dataloader(self.data.eval, self.task, batch_size, acc.device.type, t.seed))
        optimizer = self._optimizer()
        if t.compile:  # in place: the modules keep their classes and weight names, so saving is unchanged
            self.module.compile()
        self.module, self.optimizer, train_dl = acc.prepare(self.module, optimizer, train_dl)

        steps_per_epoch = math.ceil(len(train_dl) / t.grad_accum)
        total_steps = t.max_steps or math.ceil(t.epochs * steps_per_epoch)
        scheduler = get_linear_schedule_with_warmup(self.optimizer, int(t.warmup_ratio * total_steps), total_steps)
        acc.register_for_checkpointing(scheduler)
        if resume_dir:
            saved = self.checkpointer.load(resume_dir)
            self.state = TrainState(**{k: saved.get(k, v) for k, v in asdict(TrainState()).items()})
            self.output.truncate_log(self.state.step)
            self._print(f"Resumed from {resume_dir} at step {self.state.step}")
        if acc.is_main_process and t.report_to != "none":
            acc.init_trackers("bertcli", config=flat(self.cfg.to_dict()))
        self.last_checkpoint = resume_dir
        self._print(
            f"Training: {len(train_ds)} examples, {total_steps} steps "
            f"({steps_per_epoch}/epoch), batch {t.batch_size} x {t.grad_accum} x {acc.num_processes} processes"
        )
        num_epochs = math.ceil(total_steps / steps_per_epoch)
        return Plan(train_dl, sampler, scheduler, total_steps, steps_per_epoch, num_epochs)

    def _train(self, plan: Plan) -> Stop:
        """Epochs of batches from the saved data position; after each optimizer step, whatever is due."""
        self.progress = self._progress(plan.total_steps)
        self.meter = Meter(self.accelerator)
        self.module.train()
        try:
            if self.state.step >= plan.total_steps:  # resumed from the last step's checkpoint
                return Stop.DONE
            for epoch in range(self.state.epoch, plan.num_epochs):
                for batch in self._epoch_batches(plan, epoch):
                    self._forward_backward(batch)
                    if self.accelerator.sync_gradients:  # an optimizer step was taken
                        stop = self._after_optimizer_step(plan, epoch)
                        if stop:
                            return stop
                self.state.epoch, self.state.batches_in_epoch = epoch + 1, 0
            return Stop.DONE
        finally:
            self.progress.close()
            self.progress = None

    def _epoch_batches(self, plan: Plan, epoch: int):
        skip = self.state.batches_in_epoch
        batches = self.accelerator.skip_first_batches(plan.train_dl, skip) if skip else plan.train_dl
        # The batch order is a function of the epoch. Accelerate's loader re-sets its sampler's epoch from its own
        # iteration count (wrong after a resume), and does not reach a sampler wrapped for several processes: set both.
        batches.set_epoch(epoch)
        plan.sampler.set_epoch(epoch)
        return batches

    def _forward_backward(self, batch: dict) -> None:
        """The task's loss on one batch, its gradients accumulated; the optimizer steps when Accelerate says so."""
        acc = self.accelerator
        examples = len(batch.pop("index"))  # a packed batch has fewer rows than examples
        with acc.accumulate(self.module):
            loss = self.module(batch)
            acc.backward(loss)
            if acc.sync_gradients and self.t.max_grad_norm > 0:
                acc.clip_grad_norm_(self.module.parameters(), self.t.max_grad_norm)
            self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        self.state.batches_in_epoch += 1
        self.meter.add(loss, examples, batch["attention_mask"])

    def _after_optimizer_step(self, plan: Plan, epoch: int) -> Stop | None:
        """The schedule, then logging, evaluation, early stopping, checkpoints and signals as they fall due."""
        t = self.t
        self.heap.trim()
        if not self.accelerator.optimizer_step_was_skipped:  # fp16 overflow skips the step; keep the schedule in line
            plan.scheduler.step()
        self.state.step += 1
        self.progress.update(1)
        step, last = self.state.step, self.state.step >= plan.total_steps
        if step % t.logging_steps == 0 or last:
            self._log_window(plan, epoch)
        if self._evaluation_due(step, plan.total_steps, len(plan.train_dl)):
            self.last_eval = self._evaluate(step)
            if self._patience_ran_out(step):
                return Stop.EARLY
        saved = bool(t.save_steps) and step % t.save_steps == 0 and not last
        if saved:
            self._save_checkpoint()
        if last:
            return Stop.DONE
        if self._stop_requested():
            if not saved:
                self._save_checkpoint()
            return Stop.SIGNAL
        return None

    def _log_window(self, plan: Plan, epoch: int) -> None:
        self._check_finite(self.state.step)
        loss, speed = self.meter.close_window()
        record = {
            "step": self.state.step,
            "epoch": round(epoch + self.state.batches_in_epoch / len(plan.train_dl), 4),
            "loss": loss,
            "lr": plan.scheduler.get_last_lr()[0],
            "samples_per_second": speed,
        }
        self._log(record, self.progress)
        self.train_loss = loss

    def _patience_ran_out(self, step: int) -> bool:
        patience = self.t.early_stopping_patience
        if not patience or self.state.evaluations_since_best < patience:
            return False
        self._print(
            f"Stopping early at step {step}: {self.metric_for_best} has not improved on "
            f"{self.state.best_metric:.4g} (step {self.state.best_step}) for "
            f"{self.state.evaluations_since_best} evaluations"
        )
        return True

    def _finish(self, stop: Stop) -> dict:
        """The final evaluation (and the best model, if asked for), metrics.json and the saved model."""
        throughput = self.meter.throughput()
        self._check_finite(self.state.step)
        if self.eval_dl is not None and (self.last_eval is None or self.last_eval["step"] != self.state.step):
            self.last_eval = self._evaluate(self.state.step)
        model_step = self.state.step
        if self.t.load_best_model_at_end and self.state.best_step not in (None, model_step):
            self.last_eval, model_step = self._load_best(self.last_eval)
        metrics = {
            **{k: v for k, v in (self.last_eval or {}).items() if k != "step"},
            "train_loss": self.train_loss,  # of the last logging window; train_loss_mean: of the whole run
            **throughput,
            "train_steps": self.state.step,
            "best_metric": self.state.best_metric,
            "best_step": self.state.best_step,
            "model_step": model_step,  # the step whose model OUT holds
            "stopped_early": stop is Stop.EARLY,
        }
        if self.accelerator.device.type == "cuda":
            metrics["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated(self.accelerator.device) / 2**20)
        self.output.save_final(lambda tmp: self._write_final(tmp, metrics), self.last_checkpoint)
        self.accelerator.end_training()
        return metrics

    def _save_checkpoint(self) -> None:
        step = self.state.step
        self._check_finite(step)
        evaluated = self.last_eval if self.last_eval and self.last_eval["step"] == step else None
        self.checkpointer.save(step, {**asdict(self.state), "eval": evaluated}, self.state.best_step)
        self.last_checkpoint = self.checkpointer.root / f"step-{step}"

    def _check_finite(self, step: int) -> None:
        """Stop on a NaN/inf loss before its weights are saved anywhere (checked at logging and saving steps)."""
        if self.meter.all_finite():
            return
        kept = (
            f"the last good checkpoint is {self.last_checkpoint}" if self.last_checkpoint else "no checkpoint was saved"
        )
        raise BertcliError(
            f"the training loss became NaN or infinite by step {step}; nothing after it was saved and "
            f"{kept}: lower --lr, keep --max-grad-norm on, or check the data for broken labels"
        )

    def _stop_requested(self) -> bool:
        """Whether a signal asked to stop; every process agrees (a signal may reach only some of them)."""
        if self.accelerator.num_processes == 1:
            return self.stop_signal is not None
        flag = torch.tensor(int(self.stop_signal is not None), device=self.accelerator.device)
        return self.accelerator.reduce(flag, "sum").item() > 0

    def _evaluation_due(self, step: int, total_steps: int, batches_per_epoch: int) -> bool:
        """Every --eval-steps steps, or else at the end of each epoch; the last step is evaluated after the loop."""
        if step >= total_steps or self.eval_dl is None:
            return False
        if self.t.eval_steps:
            return step % self.t.eval_steps == 0
        return self.state.batches_in_epoch == batches_per_epoch

    # --- evaluation --------------------------------------------------------------------------------
    def _evaluate(self, step: int) -> dict:
        models = self.accelerator.unwrap_model(self.module).models()
        metrics, self.predictions, self.eval_arrays = evaluate(
            self.task, models, self.data, self.eval_dl, self.accelerator
        )
        value = metrics.get(self.metric_for_best)
        better = self.metric_for_best != "loss"
        best = self.state.best_metric
        if value is not None and (best is None or (value > best if better else value < best)):
            self.state.best_metric, self.state.best_step = value, step
            self.state.evaluations_since_best = 0
            if self.t.load_best_model_at_end:
                self.checkpointer.save_best(self.accelerator.unwrap_model(self.module), step)
        else:
            self.state.evaluations_since_best += 1
        record = {"step": step, **{k if k.startswith("eval_") else f"eval_{k}": v for k, v in metrics.items()}}
        self._log(record)
        return {"step": step, **metrics}

    def _load_best(self, last_eval: dict) -> tuple[dict, int]:
        """--load-best-model-at-end: the models of the best evaluation, and their metrics (evaluated again)."""
        step = self.state.best_step
        path = self.checkpointer.best(step)
        if path is None:
            if self.accelerator.is_main_process:
                print(
                    f"bertcli: warning: the best model (step {step}) is no longer on disk; saving the last one",
                    file=sys.stderr,
                )
            return last_eval, self.state.step
        module = self.accelerator.unwrap_model(self.module)
        module.load(path, self.accelerator.device)
        metrics, self.predictions, self.eval_arrays = evaluate(
            self.task, module.models(), self.data, self.eval_dl, self.accelerator
        )
        self._print(f"Loaded the best model, of step {step} ({self.metric_for_best} {self.state.best_metric:.4g})")
        return {"step": step, **metrics}, step

    # --- output ------------------------------------------------------------------------------------
    def _check_resumable(self, resume_dir: Path) -> None:
        """A checkpoint goes on only with the settings that made it: a new --lr would be ignored (the scheduler's
        state wins), a new --batch-size would change what a data position means."""
        saved = resume_dir / "run.yaml"
        changes = resume_changes(self.cfg, load_yaml(saved, "run.yaml")) if saved.is_file() else []
        if changes:
            shown = "; ".join(changes[:4]) + ("; ..." if len(changes) > 4 else "")
            raise BertcliError(
                f"cannot resume {resume_dir} with other settings than its run's ({shown}): resume with the run's "
                f"settings (--config {saved} --resume-from-checkpoint {resume_dir}), or start a new run in another "
                "--output-dir"
            )

    def _write_final(self, directory: Path, metrics: dict) -> None:
        """The trained model(s) with their tokenizer, the last evaluation's predictions and details, metrics.json."""
        module = self.accelerator.unwrap_model(self.module)
        module.save(directory)
        for name, model in module.trained.items():  # every model directory is whole: OUT/generator too
            if hasattr(model, "save_pretrained"):
                self.tokenizer.save_pretrained(module.directory(directory, name))
        if self.predictions is not None:
            self.task.save_predictions(directory, self.predictions)
        if self.eval_arrays is not None:  # what the last evaluation shows beyond its metrics
            details = self.task.report(self.eval_arrays, self.data, self.predictions)
            (directory / "evaluation.json").write_text(json.dumps(details, indent=2) + "\n")
        (directory / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    def _log(self, record: dict, progress=None) -> None:
        acc = self.accelerator
        if not acc.is_main_process:
            return
        self.output.append_log(record)
        if self.t.report_to != "none":
            acc.log({k: v for k, v in record.items() if k != "step"}, step=record["step"])
        if progress is not None and self.is_tty:
            progress.set_postfix(
                loss=f"{record['loss']:.4f}", lr=f"{record['lr']:.2e}", samples_s=record["samples_per_second"]
            )
        else:
            self._say(" | ".join(f"{k} {fmt(v)}" for k, v in record.items()))

    def _progress(self, total: int):
        from tqdm.auto import tqdm

        disable = not (self.accelerator.is_main_process and self.is_tty)
        return tqdm(total=total, initial=self.state.step, disable=disable, desc="train", dynamic_ncols=True)

    def _print(self, message: str) -> None:
        if self.accelerator.is_main_process:
            self._say(message)

    def _say(self, line: str) -> None:
        """A line on stdout; in a terminal with the progress bar up, above the bar rather than through it."""
        if self.progress is not None and self.is_tty:
            self.progress.write(line)
        else:
            print(line, flush=True)

    # --- construction helpers ----------------------------------------------------------------------
    def _dataloader(self, dataset, batch_sampler):
        # A generator of its own: creating an iterator draws a seed from it, which would otherwise come from
        # the global RNG and shift dropout after a resume (the resumed run creates one more iterator).
        return torch.utils.data.DataLoader(
            dataset,
            batch_sampler=batch_sampler,
            collate_fn=self.task.collate_training,
            pin_memory=self.accelerator.device.type == "cuda",
            generator=torch.Generator().manual_seed(self.t.seed),
        )

    def _optimizer(self):
        """AdamW; no weight decay on biases and LayerNorm weights (as in BERT); fused kernels on CUDA."""
        decay, no_decay = [], []
        for param in self.module.parameters():  # a parameter two models share comes once
            if param.requires_grad:
                (no_decay if param.ndim < 2 else decay).append(param)
        groups = [{"params": decay, "weight_decay": self.t.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=self.t.lr, fused=self.accelerator.device.type == "cuda")
