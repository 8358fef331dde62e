"""--help, generated from the settings: every command's help shows the defaults its run uses, grouped, with its
examples; every command and group has help; flags keep their old names as aliases."""

from __future__ import annotations

import dataclasses
import functools
import re

import pytest
import yaml

from bertcli.config import TrainConfig, resolve
from bertcli.tasks import registry
from tests import synthetic
from tests.helpers import DEMO, run_bertcli, training_args


@functools.cache
def bertcli_help(*command: str) -> str:
    """`bertcli COMMAND --help` in a process of its own, 100 columns wide; each command's asked once a session."""
    result = run_bertcli(*command, "--help", env={"COLUMNS": "100"})
    assert result.code == 0 and not result.stderr, result.stderr
    return result.stdout


def help_entries(text: str) -> dict[str, str]:
    """{flag: its whole help entry, on one line} for every option in a --help text."""
    entries, current = {}, None
    for line in text.splitlines():
        start = re.match(r"^  (?:-\w, )?(--[a-z0-9-]+)", line)
        if start:
            current = start.group(1)
            entries[current] = line.strip()
        elif current and line.startswith("    "):  # a wrapped line (textwrap may break after a hyphen)
            entries[current] += ("" if entries[current].endswith("-") else " ") + line.strip()
        else:
            current = None
    return entries


def shown_default(entry: str) -> str | None:
    found = re.search(r"\[default: (.*?)\]$", entry)
    return found and found.group(1)


def expected_default(f: dataclasses.Field, value) -> str | None:
    flag = f.name.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else None  # a pair --x/--no-x names its default; a lone switch shows none
    if value is None:
        return f"({f.metadata['default_text']})" if f.metadata.get("default_text") else None
    return str(value)


TRAIN_FILES = {
    "cls": DEMO / "train.csv",
    "squad": DEMO / "train.csv",
    "pretrain": DEMO / "pretrain.txt",
    "distill-cls": DEMO / "train.csv",
    "distill-squad": DEMO / "train.csv",
    "distill-general": DEMO / "pretrain.txt",
    "ner": None,  # written by the test: a CoNLL file
}


@pytest.mark.parametrize("spec", registry.TASKS, ids=lambda s: s.name)
def test_help_shows_the_defaults_the_run_uses(spec, tmp_path):
    entries = help_entries(bertcli_help(*spec.command))
    train_file = TRAIN_FILES[spec.name] or synthetic.write_conll(tmp_path / "train.conll", synthetic.ner(20, seed=0))
    cfg = resolve(
        spec,
        None,
        None,
        {"model": "m", "output_dir": str(tmp_path / "out"), "data": {"train_file": str(train_file)}},
    )
    sections = {
        "data": (spec.data, cfg.data),
        "options": (spec.options, cfg.options),
        "train": (TrainConfig, cfg.train),
    }
    checked = 0
    for section, (cls, resolved) in sections.items():
        for f in dataclasses.fields(cls):
            if not f.metadata.get("cli", True):
                assert f"--{f.name.replace('_', '-')}" not in entries
                continue
            if section == "data" and f.name == "train_file":
                continue  # given above
            entry = entries[f"--{f.name.replace('_', '-')}"]
            assert shown_default(entry) == expected_default(f, getattr(resolved, f.name)), entry
            checked += 1
    assert checked >= 30
    model = entries["--teacher" if spec.model_flag else "--model"]  # a distillation's model is its teacher
    assert "[required, unless --config names it]" in model and "[required" in entries["--output-dir"]


def test_the_task_defaults_differ_where_the_tasks_do():
    """The check above is not vacuous: question answering's help shows its own training defaults."""
    squad = help_entries(bertcli_help("finetune", "squad"))
    cls = help_entries(bertcli_help("finetune", "cls"))
    assert shown_default(squad["--max-seq-length"]) == "384" and shown_default(cls["--max-seq-length"]) == "128"
    assert shown_default(squad["--lr"]) == "3e-05" and shown_default(cls["--lr"]) == "5e-05"
    assert shown_default(help_entries(bertcli_help("pretrain"))["--warmup-ratio"]) == "0.01"


def test_help_is_grouped_with_examples_kept_as_written():
    text = bertcli_help("finetune", "cls")
    headings = [line for line in text.splitlines() if re.match(r"^[A-Z][a-z ]+:$", line)]
    assert headings == ["Run:", "Data:", "Classification:", "Training:", "Options:"]
    example = "bertcli finetune cls --recipe sst2 --model google-bert/bert-base-uncased --output-dir runs/sst2"
    assert f"\n  Examples:\n    {example}\n" in text


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["finetune"],
        ["recipes"],
        ["init-model"],
        ["predict"],
        ["evaluate"],
        ["recipes", "list"],
        ["recipes", "show"],
        ["embed"],
        ["serve"],
    ],
    ids=" ".join,
)
def test_every_other_command_has_help(command):
    text = bertcli_help(*command)
    assert text.startswith("Usage: bertcli") and "-h, --help" in text
    assert "[required] [required]" not in " ".join(text.split())


def test_predict_help_describes_every_tasks_output():
    text = " ".join(bertcli_help("predict").split())
    for output in ('"label"', '"answer"', '"entities"', '"filled"'):
        assert output in text, output


@pytest.mark.parametrize("command", [[], ["finetune"], ["recipes"]], ids=lambda c: " ".join(["bertcli", *c]))
def test_a_command_group_alone_prints_its_help(command):
    result = run_bertcli(*command)
    assert result.code == 0 and result.stderr == "", result.stderr
    assert result.stdout.startswith(f"Usage: bertcli {' '.join(command)}".rstrip()) and "Commands:" in result.stdout


def test_evaluate_takes_every_tasks_evaluation_columns():
    entries = help_entries(bertcli_help("evaluate"))
    for spec in registry.TASKS:
        for f in dataclasses.fields(spec.data):
            flag = f"--{f.name.replace('_', '-')}"
            if f.metadata.get("cli", True) and f.metadata.get("evaluate", True):
                assert flag in entries, flag
    assert "--train-file" not in entries


@pytest.mark.parametrize(
    "command, old, key, value",
    [
        (["finetune", "cls"], ["--regression"], ("options", "problem_type"), "regression"),
        (["finetune", "cls"], ["--classification"], ("options", "problem_type"), "single_label_classification"),
        (["pretrain"], ["--validation-percentage", "20"], ("data", "validation_split_percentage"), 20.0),
    ],
)
def test_flags_keep_their_old_names(command, old, key, value, tmp_path):
    """CLI names may gain aliases but not change: the flags of the hand-written commands still work."""
    train = DEMO / ("pretrain.txt" if command == ["pretrain"] else "train.csv")
    args = training_args(" ".join(command), "m", tmp_path / "out", train)
    result = run_bertcli(*args, *old, "--print-config")
    assert result.code == 0, result.stderr
    section, name = key
    assert yaml.safe_load(result.stdout)[section][name] == value
