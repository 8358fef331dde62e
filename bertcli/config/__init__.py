"""RunConfig: everything a run needs, resolved in layers and validated before any heavy work.

    defaults (the dataclasses) <- the task's defaults <- recipe YAML <- --config FILE.yaml <- CLI flags

Each layer is a plain nested dict with the same shape as `OUT/run.yaml`:

    task: cls
    model: google-bert/bert-base-uncased
    output_dir: runs/sst2
    recipe: sst2
    data:    {dataset: ..., text_column: ..., ...}      # the task's data settings (a DataSource subclass)
    train:   {lr: 2.0e-5, batch_size: 32, ...}          # TrainConfig (the shared training flags)
    options: {problem_type: ..., metrics: [...]}        # the task's own options (a TaskOptions subclass)

so a saved `run.yaml` passed back with `--config` repeats the run. Unknown keys are errors (they are almost
always typos), and values are checked here, before torch, transformers or datasets are imported.

Every field is declared once, with `setting(default, help=...)`: the CLI generates its flag, `--help` and
default from it (bertcli/cli/generate.py), and recipes and config files are checked against the same fields.
Nothing here imports anything heavy. One module a job:

    schema.py      setting(), the settings classes (DataSource, TaskOptions, TrainConfig, RunConfig), their checks
    coerce.py      a YAML or command-line value against a field's type; dataclasses from nested dicts
    layering.py    resolve(): the layers merged into a RunConfig
    legacy.py      settings that moved: old run.yaml files and recipes still load
    validation.py  whole-configuration checks (model, output dir, data files)
    runfile.py     run.yaml and the resume policy
"""

from bertcli.config.coerce import build_dataclass, coerce
from bertcli.config.layering import INFO_KEYS, deep_merge, resolve
from bertcli.config.runfile import RESUME_MAY_CHANGE, package_versions, resume_changes, run_yaml, save_run_yaml
from bertcli.config.schema import (
    DataSource,
    MixedPrecision,
    RunConfig,
    TaskOptions,
    TrainConfig,
    check_ranges,
    setting,
)
from bertcli.config.validation import validate

__all__ = [
    "INFO_KEYS",
    "RESUME_MAY_CHANGE",
    "DataSource",
    "MixedPrecision",
    "RunConfig",
    "TaskOptions",
    "TrainConfig",
    "build_dataclass",
    "check_ranges",
    "coerce",
    "deep_merge",
    "package_versions",
    "resolve",
    "resume_changes",
    "run_yaml",
    "save_run_yaml",
    "setting",
    "validate",
]
