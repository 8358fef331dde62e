"""The run report (`bertcli report`, and OUT/report.html at the end of training): one self-contained HTML page.

From each run directory: the training loss and learning rate over steps, every evaluation metric over steps (the
runs overlaid), the final metrics side by side, what the last evaluation showed beyond its metrics
(evaluation.json: a confusion matrix and per-class scores for classification, exact match and F1 by question word
and answer length for question answering), the configuration and the package versions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import yaml

from bertcli.errors import BertcliError
from bertcli.report.charts import heatmap, line_chart

SKIPPED_EVAL = {"eval_samples", "eval_samples_per_second"}  # a figure of speed, not of the model


@dataclass
class Run:
    name: str
    path: Path
    log: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)


def read_run(path: Path) -> Run:
    path = Path(path)
    if not (path / "log.jsonl").is_file() and not (path / "metrics.json").is_file():
        raise BertcliError(f"{path} is not a bertcli run (no log.jsonl or metrics.json): pass a training --output-dir")
    run = Run(path.resolve().name, path)
    if (path / "log.jsonl").is_file():
        run.log = [json.loads(line) for line in (path / "log.jsonl").read_text().splitlines() if line.strip()]
    for name, attribute in (("metrics.json", "metrics"), ("evaluation.json", "evaluation")):
        if (path / name).is_file():
            setattr(run, attribute, json.loads((path / name).read_text()))
    if (path / "run.yaml").is_file():
        run.config = yaml.safe_load((path / "run.yaml").read_text()) or {}
    return run


def _curve(run: Run, key: str) -> list[tuple[float, float]]:
    return [(r["step"], float(r[key])) for r in run.log if isinstance(r.get(key), (int, float))]


def _table(header: list[str], rows: list[list], marked: list[bool] | None = None) -> str:
    """An HTML table; rows `marked` are highlighted (settings that differ between runs)."""
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    marked = marked or [False] * len(rows)
    body = "".join(
        ('<tr class="differs">' if mark else "<tr>") + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>"
        for row, mark in zip(rows, marked)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in d.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _details(run: Run) -> str:
    """One run's evaluation.json, drawn: a confusion matrix and per-class scores, or scores by kind of question."""
    sections, evaluation = [], run.evaluation
    if "confusion_matrix" in evaluation:
        matrix = evaluation["confusion_matrix"]
        sections.append(heatmap(f"{run.name}: confusion matrix", matrix["labels"], matrix["matrix"]))
    if "per_class" in evaluation:
        per_class = evaluation["per_class"].items()
        rows = [[label, v["precision"], v["recall"], v["f1"], v["support"]] for label, v in per_class]
        sections.append(
            f"<div><h4>{escape(run.name)}: per class</h4>"
            + _table(["class", "precision", "recall", "F1", "support"], rows)
            + "</div>"
        )
    for key, title in (("by_question_word", "by question word"), ("by_answer_length", "by answer length")):
        if key in evaluation:
            rows = [[group, v["exact_match"], v["f1"], v["count"]] for group, v in evaluation[key].items()]
            sections.append(
                f"<div><h4>{escape(run.name)}: {title}</h4>"
                + _table([title[3:], "EM", "F1", "questions"], rows)
                + "</div>"
            )
    return f'<div class="charts">{"".join(sections)}</div>' if sections else ""


STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { background: #fff; border: 1px solid #e4e4e4; }
svg .title { font-size: 13px; font-weight: 600; } svg .tick, svg .legend { font-size: 11px; fill: #444; }
svg .frame { fill: none; stroke: #bbb; } svg .grid { stroke: #eee; } svg .count { font-size: 12px; }
table { border-collapse: collapse; margin: 8px 0 16px; } th, td { border: 1px solid #ddd; padding: 3px 8px; }
th { background: #f4f4f4; text-align: left; } td { font-variant-numeric: tabular-nums; }
tr.differs td { background: #fff6d6; font-weight: 600; } h4 { margin: 4px 0; font-size: 13px; }
"""


def render(runs: list[Run]) -> str:
    names = [run.name for run in runs]
    charts = [
        line_chart("training loss", {r.name: _curve(r, "loss") for r in runs}),
        line_chart("learning rate", {r.name: _curve(r, "lr") for r in runs}),
    ]
    eval_keys = sorted({k for r in runs for rec in r.log for k in rec if k.startswith("eval_")} - SKIPPED_EVAL)
    charts += [line_chart(f"evaluation {key[5:]}", {r.name: _curve(r, key) for r in runs}) for key in eval_keys]
    metric_keys = sorted({k for r in runs for k, v in r.metrics.items() if not isinstance(v, (dict, list))})
    metrics = _table(["metric", *names], [[k, *(r.metrics.get(k) for r in runs)] for k in metric_keys])
    configs = [_flat({k: v for k, v in r.config.items() if k != "versions"}) for r in runs]
    keys = sorted({k for c in configs for k in c})
    differs = [len(runs) > 1 and len({str(c.get(k)) for c in configs}) > 1 for k in keys]
    config = _table(["setting", *names], [[k, *(c.get(k) for c in configs)] for k in keys], differs)
    versions = [r.config.get("versions") or {} for r in runs]
    packages = sorted({k for v in versions for k in v})
    details = [d for d in (_details(r) for r in runs) if d]
    title = "bertcli report: " + ", ".join(names)
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{escape(title)}</title>",
            f"<style>{STYLE}</style></head><body>",
            f"<h1>{escape(title)}</h1>",
            "<h2>Curves</h2>",
            '<div class="charts">',
            *[c for c in charts if c],
            "</div>",
            "<h2>Final metrics</h2>",
            metrics,
            *(["<h2>Last evaluation</h2>", *details] if details else []),
            "<h2>Configuration</h2>",
            *(["<p>Settings that differ between the runs are marked.</p>"] if any(differs) else []),
            config,
            "<h2>Versions</h2>",
            _table(["package", *names], [[p, *(v.get(p) for v in versions)] for p in packages]),
            "</body></html>",
        ]
    )


def write_report(run_dirs: list[Path], output: Path) -> Path:
    """The report of `run_dirs` (their curves overlaid) written to `output`."""
    runs = [read_run(Path(d)) for d in run_dirs]
    if len({run.name for run in runs}) < len(runs):  # two runs called `out`: name them by their paths
        for run in runs:
            run.name = str(run.path)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(render(runs), encoding="utf-8")
    tmp.replace(output)
    return output
