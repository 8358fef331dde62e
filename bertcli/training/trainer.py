"""The one training loop, on Accelerate, shared by every task.

    prepare -> for each epoch: for each batch: the task's loss, backward (accumulated), clip, step
            -> log every --logging-steps, evaluate every --eval-steps (or each epoch), checkpoint every --save-steps
            -> final evaluation, save the model(s) (HF format) + tokenizer + metrics.json

Read it top to bottom: `train` sets up config, task, data and models (setup.py) and runs `Trainer.fit`, the loop.
The trained models are one module (modules.py) whose forward is the task's loss; frozen ones sit beside it.
Checkpoints (checkpoints.py) hold the full state: every trained model, optimizer, scheduler, RNG, data position.
Ctrl-C (SIGINT) or SIGTERM stops after the current optimizer step with a checkpoint; a NaN/inf loss stops
before anything non-finite is saved.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from bertcli.batching import LengthGroupedBatchSampler, WithIndex
from bertcli.config import RunConfig, resume_changes, save_run_yaml
from bertcli.errors import BertcliError, Interrupted
from bertcli.training.checkpoints import WRITE_ERRORS, Checkpointer, write_error
from bertcli.training.evaluation import eval_dataloader, evaluate
from bertcli.training.memory import HeapTrimmer
from bertcli.training.modules import TrainingModule
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


class Trainer:
    def __init__(self, setup: Setup):
        self.cfg, self.t = setup.cfg, setup.cfg.train
        self.task, self.data, self.tokenizer = setup.task, setup.data, setup.tokenizer
        self.accelerator = setup.accelerator
        self.module = TrainingModule(setup.task, setup.models)
        self.out = Path(self.cfg.output_dir)
        self.checkpointer = Checkpointer(
            self.accelerator, self.out / "checkpoints", self.tokenizer, self.t.save_total_limit, self.out / "run.yaml"
        )
        self.state = TrainState()
        self.metric_for_best = self.t.metric_for_best or setup.task.metric_names(setup.data)[0]
        self.is_tty = sys.stdout.isatty()
        self.stop_signal: int | None = None  # set by the SIGINT/SIGTERM handler
        self.replaced = self.out.with_name(f".{self.out.name}.replaced")  # a run --overwrite-output-dir replaces
        self.last_checkpoint: Path | None = None
        self.predictions = self.eval_arrays = None  # of the latest evaluation: for save_predictions, evaluation.json
        self.progress = None  # the terminal's progress bar while training runs

    # --- the loop ----------------------------------------------------------------------------------
    def fit(self) -> dict:
        # Signal handlers can only be set from the main thread (bertcli's own command always is).
        handled = (signal.SIGINT, signal.SIGTERM) if threading.current_thread() is threading.main_thread() else ()
        previous = {s: signal.signal(s, self._on_signal) for s in handled}
        try:
            metrics = self._fit(self.data.train, self.data.eval)
        except (BertcliError, Interrupted) as e:
            if self.replaced.exists():
                raise type(e)(f"{e}; the run this one was replacing is kept in {self.replaced}") from e
            raise
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        if self.accelerator.is_main_process:
            shutil.rmtree(self.replaced, ignore_errors=True)
        return metrics

    def _on_signal(self, signum, frame) -> None:
        """First Ctrl-C: finish the step, checkpoint, stop. A second one stops at once."""
        self.stop_signal = signum
        signal.signal(signum, signal.SIG_DFL)
        self._print(
            f"\n{signal.Signals(signum).name}: stopping after this step with a checkpoint "
            "(again to stop at once, without one)"
        )

    def _fit(self, train_ds, eval_ds) -> dict:
        from transformers import get_linear_schedule_with_warmup

        t, acc = self.t, self.accelerator
        resume_dir = self.checkpointer.resolve(t.resume_from_checkpoint)
        if t.resume_from_checkpoint == "auto" and resume_dir is None:
            self._print(f"No checkpoint in {self.checkpointer.root}: starting from the beginning")
        if resume_dir:
            self._check_resumable(resume_dir)
        self._prepare_output_dir(resume_dir)

        group = t.group_by_length and not self.task.packs_training_batches
        sampler = LengthGroupedBatchSampler(list(train_ds["length"]), t.batch_size, t.seed, group)
        # Each example carries its `index`: a collate function that draws (pre-training's masks) seeds from the batch's
        # examples, not from the global RNG, which Accelerate's loader has already moved on when a checkpoint is saved
        # (it collates one batch ahead); so a resumed run masks as the uninterrupted one did.
        train_dl = self._dataloader(WithIndex(train_ds.remove_columns("length")), sampler)
        eval_dl = None
        if eval_ds is not None:  # none: training without evaluation
            batch_size = t.eval_batch_size or 2 * t.batch_size
            eval_dl = acc.prepare(eval_dataloader(eval_ds, self.task, batch_size, acc.device.type, t.seed))
        optimizer = self._optimizer()
        if t.compile:  # in place: the modules keep their classes and weight names, so saving is unchanged
            self.module.compile()
        self.module, optimizer, train_dl = acc.prepare(self.module, optimizer, train_dl)
        self.optimizer, self.eval_dl = optimizer, eval_dl

        steps_per_epoch = math.ceil(len(train_dl) / t.grad_accum)
        total_steps = t.max_steps or math.ceil(t.epochs * steps_per_epoch)
        num_epochs = math.ceil(total_steps / steps_per_epoch)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(t.warmup_ratio * total_steps), total_steps)
        acc.register_for_checkpointing(scheduler)
        if resume_dir:
            saved = self.checkpointer.load(resume_dir)
            self.state = TrainState(**{k: saved.get(k, v) for k, v in asdict(TrainState()).items()})
            self._truncate_log(self.state.step)
            self._print(f"Resumed from {resume_dir} at step {self.state.step}")
        if acc.is_main_process and t.report_to != "none":
            acc.init_trackers("bertcli", config=_flat(self.cfg.to_dict()))

        self.last_checkpoint = resume_dir
        self._print(
            f"Training: {len(train_ds)} examples, {total_steps} steps "
            f"({steps_per_epoch}/epoch), batch {t.batch_size} x {t.grad_accum} x {acc.num_processes} processes"
        )
        progress = self.progress = self._progress(total_steps)
        heap = HeapTrimmer(enabled=acc.device.type == "cpu")
        self.module.train()
        last_eval: dict | None = None
        running_loss = torch.zeros((), device=acc.device)
        finite = torch.ones(
            (), device=acc.device, dtype=torch.bool
        )  # every loss so far; checked without a sync per step
        running_batches, samples_seen, tokens_seen = 0, 0, torch.zeros((), device=acc.device, dtype=torch.long)
        start = window_start = time.perf_counter()
        window_samples = 0
        done = self.state.step >= total_steps
        stopped_early, train_loss = False, None
        for epoch in range(self.state.epoch, num_epochs):
            if done:
                break
            batches = (
                acc.skip_first_batches(train_dl, self.state.batches_in_epoch)
                if self.state.batches_in_epoch
                else train_dl
            )
            # The batch order is a function of the epoch. Accelerate's loader re-sets its sampler's epoch from
            # its own iteration count (wrong after a resume), and does not reach a sampler wrapped for several
            # processes: set both.
            batches.set_epoch(epoch)
            sampler.set_epoch(epoch)
            for batch in batches:
                examples = len(batch.pop("index"))  # a packed batch has fewer rows than examples
                with acc.accumulate(self.module):
                    loss = self.module(batch)  # the task's loss
                    acc.backward(loss)
                    if acc.sync_gradients and t.max_grad_norm > 0:
                        acc.clip_grad_norm_(self.module.parameters(), t.max_grad_norm)
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                self.state.batches_in_epoch += 1
                running_loss += loss.detach()
                finite &= torch.isfinite(loss.detach())
                running_batches += 1
                n = examples * acc.num_processes
                samples_seen, window_samples = samples_seen + n, window_samples + n
                tokens_seen += batch["attention_mask"].sum()
                if not acc.sync_gradients:
                    continue
                heap.trim()
                if not acc.optimizer_step_was_skipped:  # fp16 overflow skips the step; keep the schedule in line
                    scheduler.step()
                self.state.step += 1
                progress.update(1)
                step = self.state.step
                if step % t.logging_steps == 0 or step == total_steps:
                    self._check_finite(finite, step)
                    now = time.perf_counter()
                    record = {
                        "step": step,
                        "epoch": round(epoch + self.state.batches_in_epoch / len(train_dl), 4),
                        "loss": acc.reduce(running_loss, "mean").item() / running_batches,
                        "lr": scheduler.get_last_lr()[0],
                        "samples_per_second": round(window_samples / (now - window_start), 2),
                    }
                    self._log(record, progress)
                    train_loss = record["loss"]
                    running_loss.zero_()
                    running_batches, window_samples, window_start = 0, 0, now
                if self._evaluation_due(step, total_steps, len(train_dl)):
                    last_eval = self._evaluate(step)
                    if t.early_stopping_patience and self.state.evaluations_since_best >= t.early_stopping_patience:
                        self._print(
                            f"Stopping early at step {step}: {self.metric_for_best} has not improved on "
                            f"{self.state.best_metric:.4g} (step {self.state.best_step}) for "
                            f"{self.state.evaluations_since_best} evaluations"
                        )
                        stopped_early = done = True
                        break
                saved = False
                if t.save_steps and step % t.save_steps == 0 and step < total_steps:
                    self._save_checkpoint(finite, last_eval)
                    saved = True
                if step >= total_steps:
                    done = True
                    break
                if self._stop_requested():
                    if not saved:
                        self._save_checkpoint(finite, last_eval)
                    raise Interrupted(
                        f"stopped at step {step}: saved {self.last_checkpoint}; continue with "
                        "the same command and --resume-from-checkpoint auto"
                    )
            else:
                self.state.epoch, self.state.batches_in_epoch = epoch + 1, 0
        progress.close()
        self.progress = None
        train_runtime = time.perf_counter() - start
        self._check_finite(finite, self.state.step)

        if eval_dl is not None and (last_eval is None or last_eval["step"] != self.state.step):
            last_eval = self._evaluate(self.state.step)
        model_step = self.state.step
        if t.load_best_model_at_end and self.state.best_step not in (None, model_step):
            last_eval, model_step = self._load_best(last_eval)
        tokens = acc.reduce(tokens_seen, "sum").item()
        metrics = {
            **{k: v for k, v in (last_eval or {}).items() if k != "step"},
            "train_loss": train_loss,  # of the last logging window
            "train_runtime_s": round(train_runtime, 2),
            "train_samples_per_second": round(samples_seen / train_runtime, 2),
            "train_tokens_per_second": round(tokens / train_runtime, 1),
            "train_steps": self.state.step,
            "best_metric": self.state.best_metric,
            "best_step": self.state.best_step,
            "model_step": model_step,  # the step whose model OUT holds
            "stopped_early": stopped_early,
        }
        if acc.device.type == "cuda":
            metrics["peak_gpu_memory_mb"] = round(torch.cuda.max_memory_allocated(acc.device) / 2**20)
        self._save_final(metrics)
        acc.end_training()
        return metrics

    def _save_checkpoint(self, finite: torch.Tensor, last_eval: dict | None) -> None:
        step = self.state.step
        self._check_finite(finite, step)
        evaluated = last_eval if last_eval and last_eval["step"] == step else None
        self.checkpointer.save(step, {**asdict(self.state), "eval": evaluated}, self.state.best_step)
        self.last_checkpoint = self.checkpointer.root / f"step-{step}"

    def _check_finite(self, finite: torch.Tensor, step: int) -> None:
        """Stop on a NaN/inf loss before its weights are saved anywhere (checked at logging and saving steps)."""
        if self.accelerator.reduce(finite.int(), "sum").item() == self.accelerator.num_processes:
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

    def _prepare_output_dir(self, resume_dir: Path | None) -> None:
        acc = self.accelerator
        if acc.is_main_process:
            if self.out.exists() and self.t.overwrite_output_dir and not resume_dir:
                # The run being replaced is moved aside and deleted only when this one has saved its model:
                # a run that fails on the way (NaN loss, full disk, Ctrl-C) does not take the old one with it.
                shutil.rmtree(self.replaced, ignore_errors=True)
                os.replace(self.out, self.replaced)
            self.out.mkdir(parents=True, exist_ok=True)
            save_run_yaml(self.cfg, self.out / "run.yaml")
        acc.wait_for_everyone()

    def _save_final(self, metrics: dict) -> None:
        """The model, tokenizer, predictions and metrics, written aside and then renamed into OUT one file at a
        time (metrics.json last): a kill or a full disk leaves the previous files whole, never half-written ones."""
        acc = self.accelerator
        acc.wait_for_everyone()
        if acc.is_main_process:
            tmp = self.out / ".final.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                module = acc.unwrap_model(self.module)
                module.save(tmp)
                for name, model in module.trained.items():  # every model directory is whole: OUT/generator too
                    if hasattr(model, "save_pretrained"):
                        self.tokenizer.save_pretrained(module.directory(tmp, name))
                if self.predictions is not None:
                    self.task.save_predictions(tmp, self.predictions)
                if self.eval_arrays is not None:  # what the last evaluation shows beyond its metrics
                    details = self.task.report(self.eval_arrays, self.data, self.predictions)
                    (tmp / "evaluation.json").write_text(json.dumps(details, indent=2) + "\n")
                (tmp / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
            except WRITE_ERRORS as e:
                shutil.rmtree(tmp, ignore_errors=True)
                kept = f"; the checkpoints are intact (latest {self.last_checkpoint})" if self.last_checkpoint else ""
                raise BertcliError(
                    f"cannot save the final model: {write_error(e, self.out)}{kept}: free space and "
                    "run again with --resume-from-checkpoint auto"
                ) from e
            for path in sorted(tmp.iterdir(), key=lambda p: p.name == "metrics.json"):
                if path.is_dir():  # another trained model (OUT/<name>/), whole: the older copy goes first
                    shutil.rmtree(self.out / path.name, ignore_errors=True)
                os.replace(path, self.out / path.name)
            tmp.rmdir()
            if self.t.report:
                self._write_report()
        acc.wait_for_everyone()

    def _write_report(self) -> None:
        """OUT/report.html, drawn from the finished run's files; a report that cannot be drawn is a warning."""
        from bertcli.report import write_report

        try:
            write_report([self.out], self.out / "report.html")
        except Exception as e:  # the run itself is saved and whole: never fail it for its picture
            print(f"bertcli: warning: no report.html ({type(e).__name__}: {e}); the run is saved", file=sys.stderr)

    def _log(self, record: dict, progress=None) -> None:
        acc = self.accelerator
        if not acc.is_main_process:
            return
        with open(self.out / "log.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self.t.report_to != "none":
            acc.log({k: v for k, v in record.items() if k != "step"}, step=record["step"])
        if progress is not None and self.is_tty:
            progress.set_postfix(
                loss=f"{record['loss']:.4f}", lr=f"{record['lr']:.2e}", samples_s=record["samples_per_second"]
            )
        else:
            self._say(" | ".join(f"{k} {_fmt(v)}" for k, v in record.items()))

    def _truncate_log(self, step: int) -> None:
        """On resume, drop log lines written after the checkpoint: they are about to be redone."""
        log = self.out / "log.jsonl"
        if self.accelerator.is_main_process and log.is_file():
            lines = [line for line in log.read_text().splitlines() if json.loads(line)["step"] <= step]
            log.write_text("".join(line + "\n" for line in lines))

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


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v if isinstance(v, (int, float, str, bool)) or v is None else str(v)
    return out


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"
    return str(value)
