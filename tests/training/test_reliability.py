"""Reliability: a run killed at any moment resumes to the same result; Ctrl-C stops with a checkpoint; a NaN loss
or a full disk stops without losing the last good checkpoint; pickled weights need an explicit flag.

The kill tests run real `bertcli` processes and SIGKILL them: from outside at a moment of the test's choosing,
and from inside at two exact points of a checkpoint save (a patched hook kills its own process there).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests import synthetic
from tests.conftest import run_bertcli, run_cli

# 600 examples / batch 32 = 19 batches an epoch: 24 steps cross an epoch boundary.
STEPS = [
    "--max-steps",
    "24",
    "--save-steps",
    "5",
    "--save-total-limit",
    "2",
    "--logging-steps",
    "1",
    "--eval-steps",
    "10",
    "--lr",
    "1e-3",
    "--batch-size",
    "32",
    "--max-seq-length",
    "32",
    "--warmup-ratio",
    "0.1",
]

# Runs `bertcli ARGS` with a checkpoint hook that SIGKILLs its own process at POINT of the save of step STEP.
KILLER = textwrap.dedent("""
    import os, signal, sys
    from bertcli.training.checkpoints import Checkpointer

    point, step, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    save_model, rotate = Checkpointer._save_model_hook, Checkpointer._rotate

    def kill():
        os.kill(os.getpid(), signal.SIGKILL)

    def save_model_then_die(self, models, weights, output_dir):  # model written, optimizer/RNG not yet
        save_model(self, models, weights, output_dir)
        if point == "mid-save" and output_dir.endswith(f".step-{step}.tmp"):
            kill()

    def die_before_rotating(self, keep_step):  # new checkpoint renamed into place, old ones not yet deleted
        if point == "before-rotation" and (self.root / f"step-{step}").is_dir():
            kill()
        rotate(self, keep_step)

    Checkpointer._save_model_hook, Checkpointer._rotate = save_model_then_die, die_before_rotating
    sys.argv = ["bertcli", *args]
    from bertcli.cli import main
    main()
""")


def command(tiny_model, sentiment_data, out: Path) -> list[str]:
    return [
        "finetune",
        "cls",
        "--model",
        str(tiny_model),
        "--output-dir",
        str(out),
        "--text-column",
        "sentence",
        "--train-file",
        str(sentiment_data["train"]),
        "--validation-file",
        str(sentiment_data["validation"]),
        *STEPS,
    ]


def losses(out: Path) -> list[tuple]:
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return [(r["step"], r.get("loss"), r.get("lr"), r.get("eval_accuracy")) for r in records]


def assert_same_run(actual: Path, expected: Path) -> None:
    """Bit-identical weights, the same metrics and the same loss curve."""
    a, e = load_file(actual / "model.safetensors"), load_file(expected / "model.safetensors")
    assert a.keys() == e.keys()
    for name in e:
        assert torch.equal(a[name], e[name]), name
    ma, me = (json.loads((d / "metrics.json").read_text()) for d in (actual, expected))
    for key in ("accuracy", "f1", "loss", "train_steps", "best_step"):
        assert ma[key] == me[key], key
    assert losses(actual) == losses(expected)


@pytest.fixture(scope="module")
def uninterrupted(tiny_model, sentiment_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("whole") / "out"
    result = run_bertcli(*command(tiny_model, sentiment_data, out))
    assert result.code == 0, result.stderr
    return out


@pytest.mark.parametrize(
    "point, step, resumed_from",
    [
        ("mid-save", 15, "step-10"),  # a half-written .step-15.tmp is left behind: never picked
        ("before-rotation", 15, "step-15"),  # three checkpoints on disk for a moment
    ],
)
def test_sigkill_inside_a_checkpoint_save_then_resume_matches(
    tmp_path, tiny_model, sentiment_data, uninterrupted, point, step, resumed_from
):
    out = tmp_path / "out"
    args = command(tiny_model, sentiment_data, out)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, point, str(step), *args], capture_output=True, text=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (out / "model.safetensors").exists()
    on_disk = sorted(p.name for p in (out / "checkpoints").iterdir())
    assert on_disk == (
        [".step-15.tmp", "step-10", "step-5"] if point == "mid-save" else ["step-10", "step-15", "step-5"]
    )

    resumed = run_bertcli(*args, "--resume-from-checkpoint", "auto")
    assert resumed.code == 0, resumed.stderr
    assert f"Resumed from {out / 'checkpoints' / resumed_from} at step {resumed_from[5:]}" in resumed.stdout
    assert_same_run(out, uninterrupted)
    # the stale .tmp is gone and rotation ends where the uninterrupted run's did
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == sorted(
        p.name for p in (uninterrupted / "checkpoints").iterdir()
    )


def test_sigkill_from_outside_mid_training_then_resume_matches(tmp_path, tiny_model, sentiment_data, uninterrupted):
    out = tmp_path / "out"
    args = command(tiny_model, sentiment_data, out)
    process = subprocess.Popen(
        [sys.executable, "-m", "bertcli", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    log = out / "log.jsonl"
    deadline = time.monotonic() + 240
    while not (log.is_file() and any(json.loads(line)["step"] >= 12 for line in log.read_text().splitlines())):
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.01)
    process.kill()
    assert process.wait() == -signal.SIGKILL
    assert not (out / "model.safetensors").exists()

    resumed = run_bertcli(*args, "--resume-from-checkpoint", "auto")
    assert resumed.code == 0, resumed.stderr
    assert "Resumed from" in resumed.stdout
    assert_same_run(out, uninterrupted)


def test_ctrl_c_stops_with_a_checkpoint_and_the_run_continues(tmp_path, tiny_model, sentiment_data):
    out = tmp_path / "out"
    args = [*command(tiny_model, sentiment_data, out), "--max-steps", "400", "--save-steps", "1000"]
    process = subprocess.Popen(
        [sys.executable, "-m", "bertcli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    log = out / "log.jsonl"
    deadline = time.monotonic() + 240
    while not (log.is_file() and log.read_text().count("\n") >= 3):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("bertcli: stopped at step ") and "--resume-from-checkpoint auto" in line
    step = int(line.split("stopped at step ")[1].split(":")[0])
    assert 3 <= step < 400
    checkpoint = out / "checkpoints" / f"step-{step}"
    assert json.loads((checkpoint / "trainer_state.json").read_text())["step"] == step
    assert not (out / "model.safetensors").exists()  # stopped: no final model claims to be finished

    resumed = run_bertcli(*args, "--resume-from-checkpoint", "auto", "--max-steps", str(step + 3))
    assert resumed.code == 0, resumed.stderr
    assert f"Resumed from {checkpoint} at step {step}" in resumed.stdout
    assert json.loads((out / "metrics.json").read_text())["train_steps"] == step + 3


def test_a_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, tiny_model):
    rows = synthetic.score(80, seed=4)
    rows[45] = (rows[45][0], float("inf"))  # one broken regression label
    train = synthetic.write_csv(tmp_path / "train.csv", rows, ["sentence", "score"])
    validation = synthetic.write_csv(tmp_path / "validation.csv", rows[:20], ["sentence", "score"])
    out = tmp_path / "out"
    result = run_bertcli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        "--train-file",
        train,
        "--validation-file",
        validation,
        "--text-column",
        "sentence",
        "--label-column",
        "score",
        "--batch-size",
        "8",
        "--max-seq-length",
        "32",
        "--epochs",
        "1",
        "--save-steps",
        "1",
        "--save-total-limit",
        "2",
        "--logging-steps",
        "100",
    )
    assert result.code == 2
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1 and "loss became NaN or infinite by step" in message
    step = int(message.split("by step ")[1].split(";")[0])
    assert not (out / "model.safetensors").exists()
    saved = sorted((out / "checkpoints").glob("step-*"), key=lambda p: int(p.name[5:]))
    assert step >= 3, "with seed 42 the broken row comes later than the first steps: checkpoints exist before it"
    assert [int(p.name[5:]) for p in saved] == [step - 2, step - 1]
    assert f"the last good checkpoint is {saved[-1]}" in message
    for checkpoint in saved:  # everything kept is finite
        assert all(torch.isfinite(t).all() for t in load_file(checkpoint / "model.safetensors").values())


# Runs `bertcli ARGS` and, when the checkpoint of step STEP starts saving, lowers the process's file-size limit to
# 1 MB: from then on the OS refuses the writes (EFBIG) as it would on a full disk, and no root is needed to see it.
FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from bertcli.training.checkpoints import Checkpointer

    step, args = int(sys.argv[1]), sys.argv[2:]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a refused write is an error, not a kill
    save = Checkpointer.save

    def save_on_a_full_disk(self, at, *rest, **kwargs):
        if at == step:
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        return save(self, at, *rest, **kwargs)

    Checkpointer.save = save_on_a_full_disk
    sys.argv = ["bertcli", *args]
    from bertcli.cli import main
    main()
""")


def test_a_full_disk_while_saving_keeps_the_previous_checkpoint(tmp_path, tiny_model, sentiment_data):
    from transformers import AutoModelForSequenceClassification

    out = tmp_path / "out"
    args = [*command(tiny_model, sentiment_data, out), "--save-total-limit", "3"]
    result = subprocess.run([sys.executable, "-c", FULL_DISK, "10", *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith("bertcli: error: cannot save checkpoint step-10: writing to ") and "MB free" in message
    assert "step-5 is intact" in message and "--resume-from-checkpoint auto" in message
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-5"]  # the partial save is gone
    model = AutoModelForSequenceClassification.from_pretrained(out / "checkpoints" / "step-5")
    assert model.config.num_labels == 2
    assert not (out / "model.safetensors").exists()

    resumed = run_bertcli(*args, "--resume-from-checkpoint", "auto")  # space again: the run goes on from step 5
    assert resumed.code == 0, resumed.stderr
    assert f"Resumed from {out / 'checkpoints' / 'step-5'} at step 5" in resumed.stdout


def test_pickled_weights_load_only_when_allowed(tmp_path, tiny_model, sentiment_data):
    from transformers import AutoModelForPreTraining

    pickled = tmp_path / "pickled"
    model = AutoModelForPreTraining.from_pretrained(tiny_model)
    pickled.mkdir()
    model.config.save_pretrained(pickled)
    torch.save(model.state_dict(), pickled / "pytorch_model.bin")
    for f in Path(tiny_model).iterdir():
        if f.name.startswith(("tokenizer", "vocab", "special")):
            (pickled / f.name).write_bytes(f.read_bytes())
    assert not (pickled / "model.safetensors").exists() and (pickled / "pytorch_model.bin").exists()
    train = [
        "finetune",
        "cls",
        "--model",
        pickled,
        "--text-column",
        "sentence",
        "--max-steps",
        "2",
        "--train-file",
        sentiment_data["train"],
        "--validation-file",
        sentiment_data["validation"],
    ]
    refused = run_cli(*train, "--output-dir", tmp_path / "refused")
    assert refused.code == 2 and "only pickled weights" in refused.stderr and "--allow-pickle" in refused.stderr
    assert not (tmp_path / "refused").exists()
    allowed = run_cli(*train, "--output-dir", tmp_path / "allowed", "--allow-pickle")
    assert allowed.code == 0, allowed.stderr
    assert (tmp_path / "allowed" / "model.safetensors").is_file()  # what bertcli writes is safetensors


def test_not_a_bert_and_no_tokenizer_are_clear_errors(tmp_path, tiny_model, sentiment_data):
    train = [
        "finetune",
        "cls",
        "--output-dir",
        tmp_path / "out",
        "--text-column",
        "sentence",
        "--train-file",
        sentiment_data["train"],
        "--validation-file",
        sentiment_data["validation"],
    ]
    gpt = tmp_path / "gpt"
    gpt.mkdir()
    (gpt / "config.json").write_text('{"model_type": "gpt2"}')
    result = run_cli(*train, "--model", gpt)
    assert result.code == 2 and "is a gpt2 model, not a BERT" in result.stderr
    bare = tmp_path / "bare"
    bare.mkdir()
    for name in ("config.json", "model.safetensors"):
        (bare / name).write_bytes((Path(tiny_model) / name).read_bytes())
    result = run_cli(*train, "--model", bare)
    assert result.code == 2 and "has no tokenizer" in result.stderr
    assert not (tmp_path / "out").exists()


def test_accelerate_launch_on_a_cpu_only_machine_is_pointed_to_torchrun(monkeypatch, capsys):
    from bertcli.training.accelerator import warn_single_cpu_process

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setenv("ACCELERATE_USE_CPU", "False")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")  # what `accelerate launch --num_processes 2` leaves
    warn_single_cpu_process()
    assert "torchrun --nproc_per_node" in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "2")  # really two processes: nothing to say
    warn_single_cpu_process()
    assert capsys.readouterr().err == ""


# Runs `bertcli ARGS` and SIGKILLs it inside the final save: POINT "final-written" once the model is written aside
# (OUT/.final.tmp), "before-metrics" as the files are renamed into OUT, just before metrics.json.
FINAL_KILLER = textwrap.dedent("""
    import os, signal, sys
    from bertcli.training.modules import TrainingModule

    point, args = sys.argv[1], sys.argv[2:]
    save, replace = TrainingModule.save, os.replace

    def save_then_die(self, root):
        save(self, root)
        if point == "final-written" and str(root).endswith(".final.tmp"):
            os.kill(os.getpid(), signal.SIGKILL)

    def replace_or_die(src, dst):
        if point == "before-metrics" and str(dst).endswith("metrics.json"):
            os.kill(os.getpid(), signal.SIGKILL)
        replace(src, dst)

    TrainingModule.save, os.replace = save_then_die, replace_or_die
    sys.argv = ["bertcli", *args]
    from bertcli.cli import main
    main()
""")


@pytest.mark.parametrize("point", ["final-written", "before-metrics"])
def test_a_kill_inside_the_final_save_leaves_no_finished_looking_run(
    tmp_path, tiny_model, sentiment_data, uninterrupted, point
):
    out = tmp_path / "out"
    args = command(tiny_model, sentiment_data, out)
    killed = subprocess.run(
        [sys.executable, "-c", FINAL_KILLER, point, *args], capture_output=True, text=True, timeout=300
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not (out / "metrics.json").exists()  # metrics.json, renamed last, says a run finished
    assert (out / "model.safetensors").exists() == (point == "before-metrics")
    resumed = run_bertcli(*args, "--resume-from-checkpoint", "auto")
    assert resumed.code == 0, resumed.stderr
    assert_same_run(out, uninterrupted)
    assert not list(out.glob(".*tmp"))
    assert {"model.safetensors", "config.json", "tokenizer.json", "metrics.json", "run.yaml", "log.jsonl"} <= {
        p.name for p in out.iterdir()
    }


# --- bad input, end to end: one line naming the file, the row and the fix; exit 2; nothing written --------------


def _csv(rows: list[str]) -> bytes:
    return ("sentence,label\n" + "".join(r + "\n" for r in rows)).encode()


GOOD_ROWS = [
    f"the film was {'great' if i % 2 else 'awful'} today,{'positive' if i % 2 else 'negative'}" for i in range(40)
]
BAD_FILES = {
    "invalid UTF-8": (
        "train.csv",
        _csv(GOOD_ROWS[:5]).replace(b"great", b"gr\xffeat", 1),
        ["line 3 is not valid UTF-8", "byte 0xff", "save the file as UTF-8"],
    ),
    "ragged CSV": (
        "train.csv",
        _csv(GOOD_ROWS[:6] + ["one,two,three"] + GOOD_ROWS[6:]),
        ["line 8 has 3 fields where the header has 2", "quote fields"],
    ),
    "invalid JSON line": (
        "train.jsonl",
        "".join(
            json.dumps({"sentence": r.split(",")[0], "label": r.split(",")[1]}) + "\n" for r in GOOD_ROWS[:9]
        ).encode()
        + b'{"sentence": "oops", label: 1}\n',
        ["line 10 is not valid JSON", "fix or remove that line"],
    ),
    "empty file": ("train.csv", b"", ["the file is empty"]),
    "header only": ("train.csv", b"sentence,label\n", ["holds a header but no examples"]),
    "mixed label types": (
        "train.jsonl",
        b"".join(
            json.dumps({"sentence": r.split(",")[0], "label": 1 if i == 3 else r.split(",")[1]}).encode() + b"\n"
            for i, r in enumerate(GOOD_ROWS)
        ),
        ["label column mixes types", "1 in row 4 is a number"],
    ),
    "only empty texts": (
        "train.csv",
        _csv([f'"  ",{r.split(",")[1]}' for r in GOOD_ROWS]),
        ["every row has empty sentence"],
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_training_file_is_named_with_its_row_and_fix(case, tmp_path, tiny_model, sentiment_data):
    name, content, fragments = BAD_FILES[case]
    bad = tmp_path / name
    bad.write_bytes(content)
    result = run_bertcli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        tmp_path / "out",
        "--train-file",
        bad,
        "--validation-file",
        sentiment_data["validation"],
        "--text-column",
        "sentence",
    )
    assert result.code == 2, result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"bertcli: error: {bad}") or str(bad) in message
    for fragment in fragments:
        assert fragment in message
    assert not (tmp_path / "out").exists()


def test_rows_with_empty_text_are_skipped_with_a_count(tmp_path, tiny_model, sentiment_data):
    rows = [f'"   ",{r.split(",")[1]}' if i in (2, 7, 30) else r for i, r in enumerate(GOOD_ROWS)]
    train = tmp_path / "train.csv"
    train.write_bytes(_csv(rows))
    result = run_cli(
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        tmp_path / "out",
        "--train-file",
        train,
        "--validation-file",
        sentiment_data["validation"],
        "--text-column",
        "sentence",
        "--max-steps",
        "1",
    )
    assert result.code == 0, result.stderr
    assert "skipped 3 of 40 rows with empty sentence (data rows 3, 8, 31)" in result.stderr


def test_overwriting_keeps_the_old_run_until_the_new_one_has_finished(tmp_path, tiny_model):
    rows = synthetic.score(80, seed=4)
    train = synthetic.write_csv(tmp_path / "train.csv", rows, ["sentence", "score"])
    validation = synthetic.write_csv(tmp_path / "validation.csv", rows[:20], ["sentence", "score"])
    out = tmp_path / "out"
    args = [
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        out,
        "--train-file",
        train,
        "--validation-file",
        validation,
        "--text-column",
        "sentence",
        "--label-column",
        "score",
        "--batch-size",
        "8",
        "--max-seq-length",
        "32",
        "--max-steps",
        "2",
    ]
    assert run_cli(*args).code == 0
    old = (out / "model.safetensors").read_bytes()

    broken = synthetic.write_csv(tmp_path / "broken.csv", [(t, float("inf")) for t, _ in rows], ["sentence", "score"])
    failed = run_cli(*args, "--overwrite-output-dir", "--train-file", broken)
    assert failed.code == 2 and "loss became NaN" in failed.stderr
    kept = tmp_path / ".out.replaced"
    assert f"the run this one was replacing is kept in {kept}" in failed.stderr
    assert (kept / "model.safetensors").read_bytes() == old

    assert run_cli(*args, "--overwrite-output-dir", "--seed", "7").code == 0
    assert not kept.exists()  # deleted once the new run has saved its model
    assert (out / "model.safetensors").read_bytes() != old
