"""`bertcli predict`: batched inference from a trained output directory."""

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from bertcli.errors import BertcliError


def _saved_run(model: str) -> dict:
    """The run.yaml of the run that trained `model`: its columns and options are predict's defaults."""
    run_yaml = Path(model) / "run.yaml"
    if not run_yaml.is_file():
        return {}
    import yaml

    return yaml.safe_load(run_yaml.read_text()) or {}


def predict(
    texts: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Texts to predict for. Without any, reads --input-file, or stdin when it is a pipe.",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="A trained output directory (or any HF model dir).", show_default=False)
    ] = ...,
    input_file: Annotated[
        Optional[str],
        typer.Option(help="txt (one text a line), csv, tsv, json or jsonl; '-' for stdin.", show_default=False),
    ] = None,
    output_file: Annotated[
        Optional[str], typer.Option(help="Write here instead of stdout.", show_default=False)
    ] = None,
    output_format: Annotated[Literal["jsonl", "csv"], typer.Option("--format", help="Output format.")] = "jsonl",
    question: Annotated[
        Optional[str], typer.Option(help="Question answering: the question.", show_default=False)
    ] = None,
    context: Annotated[Optional[str], typer.Option(help="Question answering: the context.", show_default=False)] = None,
    text_column: Annotated[
        Optional[str], typer.Option(help="Input column with the text.", show_default="the training run's, else text")
    ] = None,
    text_pair_column: Annotated[
        Optional[str],
        typer.Option(help="Input column with the second text of a pair.", show_default="the training run's, else none"),
    ] = None,
    id_column: Annotated[str, typer.Option(help="Input column copied to the output as `id`, when present.")] = "id",
    keep_columns: Annotated[
        bool,
        typer.Option(
            "--keep-columns/--no-keep-columns",
            help="Copy the input's other columns to the output (one named as an output field, e.g. a gold `label`, "
            "as input_<name>).",
        ),
    ] = True,
    question_column: Annotated[
        Optional[str],
        typer.Option(help="Input column with the question (QA).", show_default="the training run's, else question"),
    ] = None,
    context_column: Annotated[
        Optional[str],
        typer.Option(help="Input column with the context (QA).", show_default="the training run's, else context"),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Inputs per forward pass (on a GPU, more is faster).")] = 32,
    top_k: Annotated[
        Optional[int],
        typer.Option(
            help="Classification: also list the k best labels; fill-mask: tokens per [MASK].",
            show_default="1 for classification, 5 for fill-mask",
        ),
    ] = None,
    max_seq_length: Annotated[
        Optional[int], typer.Option(help="Truncate longer inputs (with a warning).", show_default="the model's maximum")
    ] = None,
    doc_stride: Annotated[
        Optional[int],
        typer.Option(
            help="QA: tokens of overlap between windows of a long context.", show_default="the training run's"
        ),
    ] = None,
    max_answer_length: Annotated[
        Optional[int], typer.Option(help="QA: longest answer in tokens.", show_default="the training run's")
    ] = None,
    null_score_diff_threshold: Annotated[
        Optional[float],
        typer.Option(
            help="QA v2: answer nothing when null score - best span score exceeds this.",
            show_default="the training run's",
        ),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:1, ...")] = "auto",
    dtype: Annotated[
        Literal["auto", "float32", "bfloat16", "float16", "mixed"],
        typer.Option(
            help="Weights and activations: auto is bfloat16/float16 on a GPU, float32 on the CPU; mixed: matrix "
            "products in bfloat16, the rest in float32 (fast on CPUs with bfloat16 instructions)."
        ),
    ] = "auto",
    quantize: Annotated[
        Literal["none", "int8"],
        typer.Option(
            help="int8: the encoder's linear layers dynamically quantized (CPU): faster, a little less exact."
        ),
    ] = "none",
    allow_pickle: Annotated[
        bool,
        typer.Option(
            help="Load pickled weights (pytorch_model.bin) when the model has no safetensors; pickles can run code."
        ),
    ] = False,
) -> None:
    """Predict with a trained model: the task (classification, question answering, fill-mask) comes from the model.

    Writes one JSON line per input, in input order: classification {"text", "label", "score"}; question
    answering {"question", "answer", "score", "start", "end"}; fill-mask {"text", "predictions", "filled"}.
    """
    from bertcli.predict.records import Fields, Writer, input_records
    from bertcli.tasks import registry

    if batch_size < 1:
        raise BertcliError(f"--batch-size must be at least 1, got {batch_size}")
    if top_k is not None and top_k < 1:
        raise BertcliError(f"--top-k must be at least 1, got {top_k}")
    predictor_class = registry.for_model(model).predictor_class()
    run = _saved_run(model)
    given = {"text": text_column, "text_pair": text_pair_column, "question": question_column, "context": context_column}
    keep = predictor_class.outputs if keep_columns else None
    fields = Fields(predictor_class.columns(given, run), id_column, keep)

    if question is not None or context is not None:
        if "question" not in predictor_class.inputs or question is None or context is None:
            raise BertcliError("--question and --context go together, with a question-answering model")
        records = iter([{"question": question, "context": context}])
    elif texts and "text" not in predictor_class.inputs:
        raise BertcliError(
            f"this model reads {' and '.join(predictor_class.inputs)}, not texts: pass "
            f"{' and '.join('--' + name for name in predictor_class.inputs)}, or an --input-file"
        )
    else:
        records = input_records(texts, input_file, fields, "predict")

    from bertcli.predict.base import load_predictor

    options = {
        **predictor_class.saved_options(run),
        "device": device,
        "batch_size": batch_size,
        "dtype": dtype,
        "allow_pickle": allow_pickle,
        "quantize": None if quantize == "none" else quantize,
    }
    given_options = {
        "max_length": max_seq_length,
        "doc_stride": doc_stride,
        "max_answer_length": max_answer_length,
        "null_score_diff_threshold": null_score_diff_threshold,
        "top_k": top_k,
    }
    options.update({k: v for k, v in given_options.items() if v is not None})
    predictor = load_predictor(model, **options)
    writer = Writer(output_file, output_format)
    try:
        for result in predictor.predict(records):
            writer.write(result)
    finally:
        writer.close()
    predictor.warn_truncated()
