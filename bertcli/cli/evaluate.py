"""`bertcli evaluate`: the metrics training reports, for a trained model on any labelled data.

The task comes from the model (the registry recognises its architecture); the data flags are those of every
task's data settings, and a flag that the model's task does not have is an error.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path

import typer

from bertcli.cli.generate import DATA_PANEL, RUN_PANEL, command_function, flag_name, option, settings_parameters
from bertcli.config import resolve
from bertcli.config.runtime import RuntimeOptions
from bertcli.errors import BertcliError
from bertcli.tasks import registry
from bertcli.yamlio import load_yaml

EVAL_PANEL = "Evaluation"
OWN_OPTIONS = {
    "model": option(str, "--model", "-m", panel=RUN_PANEL, help="A trained output directory. [required]"),
    "recipe": option(str, "--recipe", "-r", panel=RUN_PANEL, help="Evaluate on this recipe's validation split."),
    "config": option(
        str,
        "--config",
        panel=RUN_PANEL,
        help="YAML config.",
        show_default="the model's run.yaml, so its validation data and columns",
    ),
    "output_file": option(str, "--output-file", panel=RUN_PANEL, help="Write the metrics JSON here too."),
    "max_eval_samples": option(int, "--max-eval-samples", panel=EVAL_PANEL, help="Use only the first N examples."),
    "eval_batch_size": option(int, "--batch-size", panel=EVAL_PANEL, help="Evaluation batch size.", show_default="64"),
    "max_seq_length": option(
        int, "--max-seq-length", panel=EVAL_PANEL, help="Longest input in tokens.", show_default="the training run's"
    ),
}
HELP = """Evaluate a trained model: the metrics of training's metrics.json, plus for classification a confusion
matrix and per-class precision, recall and F1. Prints JSON.

\b
Examples:
  bertcli evaluate --model runs/sst2                    # the run's own validation data, as run.yaml names it
  bertcli evaluate --model runs/sst2 --validation-file other.csv --output-file metrics.json"""


def _data_parameters() -> list[inspect.Parameter]:
    """Every task's evaluation data flags, once each (the first task's help for a flag tasks share); each defaults
    to the training run's value (run.yaml), so none shows a default of its own."""
    seen: dict[str, inspect.Parameter] = {}
    for spec in registry.TASKS:
        wanted = settings_parameters(
            spec.data, DATA_PANEL, keep=lambda f: f.metadata.get("evaluate", True), show_defaults=False
        )
        for parameter in wanted:
            seen.setdefault(parameter.name, parameter.replace(default=None))
    return list(seen.values())


def _training_settings(run_yaml: Path, spec) -> str | dict:
    """The settings the model was trained with, for evaluating it as a `spec` model. A distillation's run.yaml
    (`distill-squad`) is read as that of the task it distils (`squad`): its data and training settings, and the
    options the two share (doc stride, answer length...); the distillation's own (temperature...) are dropped."""
    settings = load_yaml(run_yaml, "run.yaml")
    distilled = next((t.recipes_of for t in registry.TASKS if t.name == settings.get("task")), None)
    if distilled != spec.name:  # the task's own run.yaml; or another's, which resolve() refuses and says why
        return str(run_yaml)
    own = {f.name for f in dataclasses.fields(spec.options)}
    options = {k: v for k, v in (settings.get("options") or {}).items() if k in own}
    return {**settings, "task": spec.name, "options": options}


def _evaluate(given: dict) -> None:
    model = given.pop("model", None)
    if not model:
        raise BertcliError("no model given: pass --model OUT (a trained output directory)")
    spec = registry.for_model(model)
    data_fields = {f.name for f in dataclasses.fields(spec.data)}
    data = {k: given.pop(k) for k in list(given) if k in DATA_NAMES}
    foreign = sorted(set(data) - data_fields)
    if foreign:
        raise BertcliError(
            f"{flag_name(foreign[0])} does not apply to {model}, a `{spec.name}` model: its data flags "
            f"are {', '.join(flag_name(f) for f in sorted(data_fields & DATA_NAMES))}"
        )
    config = given.pop("config", None)
    run_yaml = Path(model) / "run.yaml"
    if config is None and run_yaml.is_file():
        config = _training_settings(run_yaml, spec)
    output_file, recipe = given.pop("output_file", None), given.pop("recipe", None)
    flags = {"model": model, "data": data, "train": {**given, "report_to": "none"}}
    if config is None:  # a model trained elsewhere: what its config.json says of the task's options
        flags["options"] = spec.options.from_model(registry.model_config(model))
    cfg = resolve(spec, recipe, config, flags, training=False)
    from bertcli.training.evaluation import run_evaluation  # heavy imports once the settings are valid

    metrics = run_evaluation(cfg, spec)
    text = json.dumps(metrics, indent=2)
    typer.echo(text)
    if output_file:
        Path(output_file).write_text(text + "\n")


_DATA = _data_parameters()
DATA_NAMES = {p.name for p in _DATA}
_OWN = [
    inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=a, default=None) for n, a in OWN_OPTIONS.items()
]
_RUNTIME = settings_parameters(RuntimeOptions, EVAL_PANEL, keep=lambda f: f.name == "allow_pickle")
evaluate = command_function("evaluate", HELP, _OWN[:4] + _DATA + _OWN[4:] + _RUNTIME, _evaluate)
