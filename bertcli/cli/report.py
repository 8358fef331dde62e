"""`bertcli report`: one self-contained HTML page of a run's curves and tables, or of several runs overlaid."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def report(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Training output directories (several: their curves overlaid).", show_default=False),
    ],
    output_file: Annotated[
        Optional[Path],
        typer.Option(
            help="Where to write the page.", show_default="RUN/report.html for one run, report.html for several"
        ),
    ] = None,
) -> None:
    """Draw a run's report: loss and learning-rate curves, evaluation metrics over steps, the final metrics, the
    last evaluation's confusion matrix or per-question-kind scores, the configuration and versions. One HTML file
    that opens offline.

    \b
    Examples:
      bertcli report runs/sst2
      bertcli report runs/sst2-lr2e-5 runs/sst2-lr5e-5 --output-file compare.html
    """
    from bertcli.report import write_report

    output = output_file or (runs[0] / "report.html" if len(runs) == 1 else Path("report.html"))
    typer.echo(f"Wrote {write_report(runs, output)}")
