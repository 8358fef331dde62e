"""The benchmark scripts still import and parse their arguments, so that a refactor cannot break bench/ unseen:
each script is imported (running nothing), its `parse_args` given the arguments its drivers pass, and every name it
imports from bertcli, at the top or inside a function, is checked to exist."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
REQUIRED = {  # the arguments a script cannot run without, as its driver passes them
    "pipeline_predict": ["--model", "M", "--input-file", "dev.tsv", "--output-file", "out.jsonl"],
    "st_embed": ["--model", "M", "--input-file", "dev.tsv", "--output-file", "out.npy"],
    "reference_glue": ["--model", "M", "--train-file", "t.tsv", "--validation-file", "d.tsv", "--output-dir", "O"],
    "reference_pretrain": ["--model", "M", "--train-file", "c.txt", "--output-dir", "O", "--max-steps", "3"],
    "reference_qa": ["--model", "M", "--train-file", "t.json", "--validation-file", "d.json", "--output-dir", "O"],
    "reference_ner": ["--model", "M", "--train-file", "t.jsonl", "--validation-file", "d.jsonl", "--output-dir", "O"],
}
HELPERS = ["common", "offline_data"]  # modules the scripts share, with no main of their own
SCRIPTS = sorted(p.stem for p in BENCH.glob("*.py") if p.stem not in HELPERS)


@pytest.fixture(autouse=True)
def bench_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))  # the scripts import their sibling `common`


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
    tree = ast.parse((BENCH / f"{name}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "bertcli":
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{name}: from {node.module} import {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "bertcli":
                    importlib.import_module(alias.name)


def test_hidden_rank_tells_a_collapsed_layer_from_a_spread_one():
    import torch
    from hidden_rank import spread

    generator = torch.Generator().manual_seed(0)
    spread_out = spread(torch.randn(2000, 16, generator=generator))
    line = torch.randn(2000, 1, generator=generator) * torch.randn(1, 16, generator=generator)
    collapsed = spread(line + 1e-3 * torch.randn(2000, 16, generator=generator))
    assert spread_out["top_share"] < 0.15 and spread_out["effective_rank"] > 14  # of 16 directions
    assert collapsed["top_share"] > 0.99 and collapsed["effective_rank"] < 2
