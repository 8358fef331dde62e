"""How bertcli's modules import each other: without cycles, the configuration layer without task code, and a bad
value refused before torch, transformers and datasets are loaded."""

from __future__ import annotations

import ast

from tests.helpers import DEMO, ROOT, run_python, training_args


def test_a_bad_value_is_refused_before_torch_transformers_and_datasets_load(tmp_path):
    code = (
        "import sys\n"
        "from bertcli.cli import main\n"
        "try:\n    main()\nexcept SystemExit as e:\n    status = e.code\n"
        "heavy = [m for m in ('torch', 'transformers', 'datasets', 'evaluate', 'accelerate') if m in sys.modules]\n"
        "print(status, heavy)\n"
    )
    args = training_args("finetune cls", "m", tmp_path / "out", DEMO / "train.csv", DEMO / "validation.csv", lr=-1)
    result = run_python(["-c", code, *args])
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
