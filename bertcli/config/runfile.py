"""run.yaml: the fully resolved configuration with package versions (what --config reads back), and the resume
policy: which settings a resumed run may change."""

from __future__ import annotations

from pathlib import Path

import yaml

from bertcli.config.schema import RunConfig


def package_versions() -> dict:
    import platform
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for pkg in ("bertcli", "torch", "transformers", "datasets", "accelerate", "tokenizers", "evaluate"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return versions


# What a resumed run may set anew: how long it goes on (the learning-rate schedule then stretches or shrinks to the
# new end), and how it logs, evaluates, saves and reports; not what it trains on or how.
RESUME_MAY_CHANGE = {
    "epochs",
    "max_steps",
    "resume_from_checkpoint",
    "overwrite_output_dir",
    "logging_steps",
    "eval_steps",
    "save_steps",
    "save_total_limit",
    "report_to",
    "eval_batch_size",
    "max_eval_samples",
    "metric_for_best",
    "allow_pickle",
    "compile",
    "report",
}


def resume_changes(cfg: RunConfig, saved: dict) -> list[str]:
    """The settings of `cfg` that differ from the run a checkpoint was saved by (`saved`: its run.yaml), each as
    "train.lr 0.0005 -> 0.001"; empty when the run may go on."""
    now = cfg.to_dict()
    changes = [f"{key} {saved.get(key)} -> {now[key]}" for key in ("task", "model") if saved.get(key) != now[key]]
    for section in ("data", "options", "train"):
        before = saved.get(section) or {}
        for key, value in now[section].items():
            if key in before and before[key] != value and not (section == "train" and key in RESUME_MAY_CHANGE):
                changes.append(f"{section}.{key} {before[key]} -> {value}")
    return changes


def run_yaml(cfg: RunConfig) -> str:
    """The fully resolved configuration, with package versions, as YAML that --config reads back."""
    data = cfg.to_dict()
    # How this invocation treats the output dir is not part of the experiment: a run repeated with
    # --config must never overwrite or resume anything unless told so again.
    data["train"].update(overwrite_output_dir=False, resume_from_checkpoint=None)
    data["versions"] = package_versions()
    return yaml.safe_dump(data, sort_keys=False)


def save_run_yaml(cfg: RunConfig, path: Path) -> None:
    path.write_text(run_yaml(cfg), encoding="utf-8")
