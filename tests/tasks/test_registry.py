"""The task registry and what is generated from it: every command's --help shows the defaults its run uses, every
recipe validates against its task's settings, a bad value is refused before the heavy imports, and bertcli's
modules import each other without cycles."""

from __future__ import annotations

import ast
import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bertcli import recipes
from bertcli.config import TrainConfig, resolve
from bertcli.tasks import registry
from tests import synthetic

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "data"


def bertcli_help(*command: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bertcli", *command, "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert result.returncode == 0 and not result.stderr, result.stderr
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


@pytest.mark.parametrize("command", [[], ["finetune"], ["recipes"]], ids=lambda c: " ".join(["bertcli", *c]))
def test_a_command_group_alone_prints_its_help(command):
    result = subprocess.run([sys.executable, "-m", "bertcli", *command], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.startswith(f"Usage: bertcli {' '.join(command)}".rstrip()) and "Commands:" in result.stdout


def test_evaluate_takes_every_tasks_evaluation_columns():
    entries = help_entries(bertcli_help("evaluate"))
    for spec in registry.TASKS:
        for f in dataclasses.fields(spec.data):
            flag = f"--{f.name.replace('_', '-')}"
            if f.metadata.get("cli", True) and f.metadata.get("evaluate", True):
                assert flag in entries, flag
    assert "--train-file" not in entries


@pytest.mark.parametrize("info", recipes.list_recipes(), ids=lambda r: r.name)
def test_every_recipe_validates_against_its_tasks_settings(info, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)  # the demo recipe names a file relative to the checkout
    spec = registry.get(info.task)
    cfg = resolve(spec, info.name, None, {"model": "m", "output_dir": str(tmp_path / "out")})
    assert cfg.task == spec.name and cfg.recipe == info.name


def test_registry_entries_are_consistent():
    names = [spec.name for spec in registry.TASKS]
    commands = [spec.command for spec in registry.TASKS]
    assert len(set(names)) == len(names) and len(set(commands)) == len(commands)
    for spec in registry.TASKS:
        assert not spec.reads or all(architecture.endswith(spec.reads) for architecture in spec.writes), spec.name
        assert spec.task_class().__name__.endswith(("Task", "_task")) and spec.predictor_class().__name__.endswith(
            "Predictor"
        )


def test_a_trained_model_maps_back_to_its_task(tmp_path):
    """What a task writes, a task reads back: its own, or (a distilled classifier) the task of that kind. A bare
    encoder (general distillation's student) is a starting point for training and for `embed`, read by no task."""
    import json

    for spec in registry.TASKS:
        for architecture in set(spec.writes) - {"BertModel"}:
            (tmp_path / "config.json").write_text(json.dumps({"architectures": [architecture]}))
            found = registry.for_model(str(tmp_path))
            assert found is spec if spec.reads else architecture in found.writes


def test_a_bad_value_is_refused_before_torch_transformers_and_datasets_load(tmp_path):
    code = (
        "import sys\n"
        "from bertcli.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    status = e.code\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets', 'evaluate', 'accelerate') if m in sys.modules]\n"
        "print(status, heavy)\n"
    )
    args = [
        "finetune",
        "cls",
        "--model",
        "m",
        "--output-dir",
        str(tmp_path / "out"),
        "--train-file",
        str(DEMO / "train.csv"),
        "--validation-file",
        str(DEMO / "validation.csv"),
        "--lr",
        "-1",
    ]
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    assert result.stdout.strip() == "2 []", result.stdout + result.stderr
    assert result.stderr.strip() == "bertcli: error: --lr must be positive, got -1.0"


def _imports(tree: ast.AST, at_import_time: bool):
    """The import statements of a module: all of them, or only those that run when it is imported."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        if not (at_import_time and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))):
            yield from _imports(node, at_import_time)


def import_graph(at_import_time: bool = False) -> dict[str, set[str]]:
    """bertcli's modules and the bertcli modules each imports: anywhere (inside functions too), or only when it is
    imported."""
    package = ROOT / "bertcli"
    modules = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p for p in package.rglob("*.py")
    }
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in _imports(ast.parse(path.read_text()), at_import_time):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {
                    f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module
                    for a in node.names
                }
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_modules_import_each_other_without_cycles():
    graph = import_graph()
    assert "bertcli.tasks.registry" in graph and "bertcli.config" in graph
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            assert state.get(target) != "open", " -> ".join(path + [module, target])
            if target not in state:
                visit(target, path + [module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_the_configuration_layer_imports_no_task_code():
    """Settings, recipes and the registry are read before a run starts: they must not reach a Task, the trainer or
    a predictor (which import torch, transformers and datasets) when they are imported."""
    graph = import_graph(at_import_time=True)
    light = ["bertcli.config", "bertcli.recipes", "bertcli.tasks.registry", "bertcli.cli.generate"]
    reached, todo = set(), list(light)
    while todo:
        module = todo.pop()
        for target in graph[module] - reached:
            reached.add(target)
            todo.append(target)
    heavy = {m for m in reached if m.endswith((".task", ".trainer", ".setup")) or ".predict." in m or ".training." in m}
    assert not heavy, heavy


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
    import yaml

    train = DEMO / ("pretrain.txt" if command == ["pretrain"] else "train.csv")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bertcli",
            *command,
            "--model",
            "m",
            "--output-dir",
            str(tmp_path / "out"),
            "--train-file",
            str(train),
            *old,
            "--print-config",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    section, name = key
    assert yaml.safe_load(result.stdout)[section][name] == value
