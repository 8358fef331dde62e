"""The benchmark scripts still import, parse their arguments and run from the repository root, so that a refactor or
a move cannot break bench/ unseen: each script is imported (running nothing), its `parse_args` given the arguments
its drivers pass, every name it imports from bertcli, at the top or inside a function, is checked to exist, and
`python bench/[studies/]SCRIPT.py --help` is run as a user runs it."""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT

BENCH = ROOT / "bench"
FOLDERS = [BENCH, BENCH / "references", BENCH / "studies"]  # paired benchmarks, their references, studies
REQUIRED = {  # the arguments a script cannot run without, as its driver passes them
    "pipeline_predict": ["--model", "M", "--input-file", "dev.tsv", "--output-file", "out.jsonl"],
    "st_embed": ["--model", "M", "--input-file", "dev.tsv", "--output-file", "out.npy"],
    "reference_glue": ["--model", "M", "--train-file", "t.tsv", "--validation-file", "d.tsv", "--output-dir", "O"],
    "reference_pretrain": ["--model", "M", "--train-file", "c.txt", "--output-dir", "O", "--max-steps", "3"],
    "reference_qa": ["--model", "M", "--train-file", "t.json", "--validation-file", "d.json", "--output-dir", "O"],
    "reference_ner": ["--model", "M", "--train-file", "t.jsonl", "--validation-file", "d.jsonl", "--output-dir", "O"],
}
HELPERS = ["common", "offline_data"]  # modules the scripts share, with no main of their own
PATHS = {p.stem: p for folder in FOLDERS for p in folder.glob("*.py")}
SCRIPTS = sorted(name for name in PATHS if name not in HELPERS)


@pytest.fixture(autouse=True)
def bench_on_path(monkeypatch):
    for folder in FOLDERS:  # the scripts import `common` and their siblings
        monkeypatch.syspath_prepend(str(folder))


def test_script_names_are_unique_across_the_folders():
    assert len(PATHS) == sum(1 for folder in FOLDERS for _ in folder.glob("*.py"))


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_imports_and_parses_its_arguments(name):
    module = importlib.import_module(name)
    assert callable(module.main)
    args = module.parse_args(REQUIRED.get(name, []))
    assert args is not None
    with pytest.raises(SystemExit):
        module.parse_args(["--no-such-flag"])


@pytest.mark.parametrize("name", SCRIPTS + HELPERS)
def test_every_name_imported_from_bertcli_exists(name):
    tree = ast.parse(PATHS[name].read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "bertcli":
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{name}: from {node.module} import {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "bertcli":
                    importlib.import_module(alias.name)


@pytest.mark.parametrize("name", [name for name in SCRIPTS if PATHS[name].parent != FOLDERS[1]])
def test_script_runs_from_the_repository_root(name):  # the references import no sibling, and take seconds to start
    path = PATHS[name].relative_to(ROOT)
    done = subprocess.run([sys.executable, str(path), "--help"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


def test_every_reference_a_benchmark_launches_is_there():
    from common import REFERENCES

    launched = {m for path in PATHS.values() for m in re.findall(r'REFERENCES / "(\w+\.py)"', path.read_text())}
    assert REFERENCES == BENCH / "references" and len(launched) >= 6, launched
    missing = sorted(name for name in launched if not (REFERENCES / name).is_file())
    assert not missing, missing


def test_hidden_rank_tells_a_collapsed_layer_from_a_spread_one():
    import torch
    from hidden_rank import spread

    generator = torch.Generator().manual_seed(0)
    spread_out = spread(torch.randn(2000, 16, generator=generator))
    line = torch.randn(2000, 1, generator=generator) * torch.randn(1, 16, generator=generator)
    collapsed = spread(line + 1e-3 * torch.randn(2000, 16, generator=generator))
    assert spread_out["top_share"] < 0.15 and spread_out["effective_rank"] > 14  # of 16 directions
    assert collapsed["top_share"] > 0.99 and collapsed["effective_rank"] < 2


def test_summary_tables_every_paired_result(tmp_path, monkeypatch):
    import summary

    for path in (BENCH / "results").glob("*.json"):
        shutil.copy(path, tmp_path)
    monkeypatch.setattr(summary, "RESULTS", tmp_path)
    summary.main([])
    text = (tmp_path / "summary.md").read_text()
    for name in summary.PAIRED:
        if (tmp_path / f"{name}.json").is_file():
            assert f"| {name.removesuffix('_2000')}.py (" in text, name
    assert "pretraining_gain" not in text  # the studies are not pairs


def test_make_bench_runs_what_the_bench_readme_says_then_the_summary():
    makefile = (ROOT / "Makefile").read_text()
    target = makefile.split("\nbench:", 1)[1].split("\n\n", 1)[0]
    ran = re.findall(r"\$\(PY\) bench/(\w+)\.py", target)
    readme = (BENCH / "README.md").read_text()
    said = re.findall(r"^\| \[`(\w+)\.py`\]\([^)]*\) \|[^\n]*\| yes \|", readme, re.M)
    assert ran == [*said, "summary"], (ran, said)
