"""`bertcli export`: a trained model as ONNX (optionally int8), checked against torch as it is written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from bertcli.cli.generate import with_settings
from bertcli.config.runtime import RuntimeOptions
from bertcli.errors import BertcliError


def _export(
    model: Annotated[
        str,
        typer.Argument(
            help="A trained model directory (classifier, question answering, fill-mask).", show_default=False
        ),
    ],
    out: Annotated[
        Path, typer.Argument(help="Directory to write model.onnx, its config and tokenizer to.", show_default=False)
    ],
    format: Annotated[Literal["onnx"], typer.Option("--format", help="The format written.")] = "onnx",
    int8: Annotated[
        bool, typer.Option("--int8", help="Quantize the linear layers' weights to int8 (dynamic).")
    ] = False,
    samples: Annotated[int, typer.Option(help="Random inputs the export is checked on against torch.")] = 64,
    overwrite_output_dir: Annotated[bool, typer.Option(help="Replace OUT if it already holds files.")] = False,
    runtime: dict = None,
) -> None:
    """Export a model to ONNX for onnxruntime; `bertcli predict --model OUT` and `bertcli serve --model OUT` run it.

    The export runs the original (torch) and the exported model on random inputs and prints the largest difference
    of their outputs and how often their argmax (the label, span boundary or token) agrees.

    \b
    Examples:
      bertcli export runs/sst2 runs/sst2-onnx
      bertcli export runs/sst2 runs/sst2-int8 --int8
    """
    from bertcli.tasks import registry

    if samples < 8:
        raise BertcliError(f"--samples must be at least 8, got {samples}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite_output_dir:
        raise BertcliError(f"{out} already exists and is not empty: pass --overwrite-output-dir or choose another OUT")
    from bertcli.predict.onnx import OUTPUTS
    from bertcli.predict.onnx import export as write

    predictor = registry.for_model(model).predictor_class()
    if predictor.plain_head not in OUTPUTS:
        raise BertcliError(
            f"{model}: export covers classification, question answering, token classification and fill-mask models"
        )

    parity = write(model, out, predictor.plain_head, predictor.model_class, int8, runtime["allow_pickle"], samples)
    kind = "int8 " if int8 else ""
    typer.echo(
        f"Exported {model} to {out / 'model.onnx'} ({kind}ONNX). Against torch on {samples} random inputs: "
        f"largest output difference {parity['largest_difference']:.2e}; argmax agrees "
        f"{parity['argmax_agree']} of {parity['compared']}"
    )


export = with_settings(_export, runtime=((RuntimeOptions,), "Options", ("allow_pickle",)))
