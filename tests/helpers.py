"""What the tests share besides fixtures (tests/conftest.py) and data (tests/synthetic.py): running `bertcli` in this
process or as a real one, the bad-input contract, the argument lists of the training commands, reading a run's
outputs, and training in process through the trainer itself."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout
DEMO = ROOT / "demo" / "data"  # the demo's small data files


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def metrics(self, out_dir) -> dict:
        return metrics(out_dir)


# --- running bertcli ----------------------------------------------------------------------------------------------
def run_cli(*args) -> Result:
    """Run `bertcli ARGS` in this process through the real entry point (error handling included)."""
    from bertcli.cli import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["bertcli", *map(str, args)]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = argv
    return Result(code, out.getvalue(), err.getvalue())


def bertcli_command(*args) -> list[str]:
    """The command line that runs `bertcli ARGS` as its own process, with this interpreter."""
    return [sys.executable, "-m", "bertcli", *map(str, args)]


def run_bertcli(*args, **how) -> Result:
    """Run `bertcli ARGS` as its own process: where stderr lines and the exit status are the behaviour (in-process,
    pytest would swallow warnings that a user sees). `how`: run_python's timeout, cwd, stdin and env."""
    return run_python(bertcli_command(*args)[1:], **how)


def run_python(args, timeout: int = 300, cwd=None, stdin: str | bytes | None = None, env: dict | None = None) -> Result:
    """`python ARGS` (e.g. `-c SCRIPT ...` or `-m bertcli ...`) as its own process. `stdin` is text, or bytes for
    input that is not UTF-8; `env` adds to this process's environment."""
    binary = isinstance(stdin, bytes)
    done = subprocess.run(
        [sys.executable, *map(str, args)],
        input=stdin,
        capture_output=True,
        text=not binary,
        timeout=timeout,
        cwd=cwd,
        env=None if env is None else {**os.environ, **env},
    )
    if binary:
        return Result(done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace"))
    return Result(done.returncode, done.stdout, done.stderr)


def start_bertcli(*args, **popen) -> subprocess.Popen:
    """`bertcli ARGS` started as its own process and left running (to be signalled, killed or talked to)."""
    popen.setdefault("text", True)
    return subprocess.Popen(bertcli_command(*args), **popen)


def run_in_terminal(*args, timeout=300) -> str:
    """`bertcli ARGS` with a pseudo-terminal as its stdout and stderr (as a user's shell): everything it drew."""
    import fcntl
    import pty
    import select
    import struct
    import termios
    import time

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # 40 rows, 120 columns
    process = subprocess.Popen(
        bertcli_command(*args),
        stdout=terminal,
        stderr=terminal,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "120"},
    )
    os.close(terminal)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 1.0)
        if ready:
            try:
                data = os.read(controller, 65536)
            except OSError:  # the terminal closed: the process has exited
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    process.wait(timeout=10)
    os.close(controller)
    assert process.returncode == 0, b"".join(chunks).decode(errors="replace")[-2000:]
    return b"".join(chunks).decode(errors="replace")


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """Bad input's contract: exit status 2 and one `bertcli: error: ...` line on stderr (so no traceback) that
    holds each fragment. Returns that line."""
    assert result.code == 2, (result.code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bertcli: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# --- argument lists -------------------------------------------------------------------------------------------------
# Fast settings for the tiny model on the synthetic tasks.
TINY_TRAINING = {"lr": "1e-3", "batch_size": 32, "logging_steps": 5, "max_seq_length": 32}


def flags(**options) -> list[str]:
    """Command-line flags from keyword arguments: `max_steps=20` -> `--max-steps 20`, `version_2=True` ->
    `--version-2`, `report=False` -> `--no-report`; None leaves a flag out."""
    args = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is False:
            args.append("--no-" + flag[2:])
        elif value is not None:
            args += [flag, value]
    return args


def training_args(command: str, model, out, train=None, validation=None, *extra, model_flag="--model", **options):
    """`bertcli COMMAND` (e.g. "finetune ner") of `model` into `out` on the given files, with `options` as flags
    and `extra` arguments after them."""
    data = flags(train_file=train, validation_file=validation)
    return [*command.split(), model_flag, model, "--output-dir", out, *data, *flags(**options), *extra]


def finetune_cls_args(model, out, train, validation=None, *extra, text_column="sentence", tiny=True, **overrides):
    """`bertcli finetune cls` for the synthetic sentiment files, with the fast settings (TINY_TRAINING) unless `tiny`
    is False; `overrides` replace or add flags (`lr="3e-4"`, `max_steps=20`; None drops one)."""
    return _cls_args("finetune cls", "--model", model, out, train, validation, extra, text_column, tiny, overrides)


def distill_cls_args(teacher, out, train, validation=None, *extra, text_column="sentence", tiny=True, **overrides):
    """`bertcli distill cls` of `teacher`, as finetune_cls_args."""
    return _cls_args("distill cls", "--teacher", teacher, out, train, validation, extra, text_column, tiny, overrides)


def _cls_args(command, model_flag, model, out, train, validation, extra, text_column, tiny, overrides) -> list:
    options = {"text_column": text_column, **(TINY_TRAINING if tiny else {}), **overrides}
    return training_args(command, model, out, train, validation, *extra, model_flag=model_flag, **options)


def finetune_sentiment_args(model, out, data: dict, *extra, **overrides) -> list:
    """finetune_cls_args on the `sentiment_data` fixture's training and validation files."""
    return finetune_cls_args(model, out, data["train"], data["validation"], *extra, **overrides)


# --- a run's outputs ----------------------------------------------------------------------------------------------
def metrics(out) -> dict:
    return json.loads((Path(out) / "metrics.json").read_text())


def read_log(out) -> list[dict]:
    """log.jsonl: one record per logging step or evaluation."""
    return [json.loads(line) for line in (Path(out) / "log.jsonl").read_text().splitlines()]


def jsonl(text: str) -> list[dict]:
    """The records of JSON Lines output, one on every line."""
    return [json.loads(line) for line in text.splitlines()]


# --- settings -------------------------------------------------------------------------------------------------------
def resolve_cls(tmp_path, recipe=None, config=None, **flags):
    """`finetune cls`'s resolved RunConfig for a recipe, a --config file and flags (a model and an output directory
    in tmp_path unless given)."""
    from bertcli.config import resolve
    from bertcli.tasks import registry

    flags.setdefault("model", "some/model")
    flags.setdefault("output_dir", str(tmp_path / "out"))
    return resolve(registry.get("cls"), recipe, config, flags)


# --- training in this process, through the trainer --------------------------------------------------------------------
def reset_accelerate() -> None:
    """Accelerate keeps process-wide singletons; each run in this process starts from a clean slate."""
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(True)
    GradientState._reset_state()


def run_settings(model, out, data: dict | None = None, options: dict | None = None, **train) -> dict:
    """The flags dict `resolve` takes: the model, the output directory, the sentiment files (text column
    "sentence") when `data` is given, the task options and the training settings."""
    settings = {"model": str(model), "output_dir": str(out)}
    if data is not None:
        settings["data"] = {
            "train_file": str(data["train"]),
            "validation_file": str(data["validation"]),
            "text_column": "sentence",
        }
    if options is not None:
        settings["options"] = options
    settings["train"] = train
    return settings


# Twelve steps of the sentiment task, a checkpoint every four and an evaluation every six: runs through the trainer
# that resume from a checkpoint mid-run.
SHORT_RUN = {
    "max_steps": 12,
    "save_steps": 4,
    "save_total_limit": None,
    "eval_steps": 6,
    "lr": 1e-3,
    "batch_size": 32,
    "max_seq_length": 32,
    "logging_steps": 1,
    "warmup_ratio": 0.1,
}


def spec_for(task_class):
    """The classification task's registry entry with `task_class` (a test's subclass) as its Task."""
    import dataclasses

    from bertcli.tasks import registry

    return dataclasses.replace(registry.get("cls"), task=f"{task_class.__module__}:{task_class.__name__}")


def fit(spec, model, out, data: dict, options: dict | None = None, **train):
    """Train through `Trainer` itself (no CLI) and return it, its module unwrapped."""
    from bertcli.config import resolve
    from bertcli.training.setup import set_up
    from bertcli.training.trainer import Trainer

    reset_accelerate()
    trainer = Trainer(set_up(resolve(spec, None, None, run_settings(model, out, data, options, **train)), spec, True))
    trainer.fit()
    trainer.module = trainer.accelerator.unwrap_model(trainer.module)
    return trainer


# --- models ---------------------------------------------------------------------------------------------------------
def save_random(model_class, directory, tiny_model, **config_changes):
    """A model of `model_class` in the tiny model's shape with every weight perturbed (so that a LayerNorm weight
    taken for its bias, say, changes the logits), saved with the tiny model's tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    labels = 3 if model_class is BertForSequenceClassification else 2  # QA: start and end
    config = BertConfig.from_pretrained(tiny_model, num_labels=labels, **config_changes)
    torch.manual_seed(0)
    model = model_class(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    model.save_pretrained(directory)
    AutoTokenizer.from_pretrained(tiny_model).save_pretrained(directory)
    return model.eval()


def assert_same_weights(actual, expected) -> None:
    """Bit-identical model.safetensors in two directories."""
    import torch
    from safetensors.torch import load_file

    got, want = load_file(Path(actual) / "model.safetensors"), load_file(Path(expected) / "model.safetensors")
    assert got.keys() == want.keys()
    for name in want:
        assert torch.equal(got[name], want[name]), name
