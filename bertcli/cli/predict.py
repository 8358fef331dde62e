"""`bertcli predict`: batched inference from a trained output directory."""

import dataclasses
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from bertcli.cli.generate import flag_name, with_settings
from bertcli.config.runtime import RuntimeOptions
from bertcli.errors import BertcliError
from bertcli.tasks.registry import TASKS


def _saved_run(model: str) -> dict:
    """The run.yaml of the run that trained `model`: its columns and options are predict's defaults."""
    run_yaml = Path(model) / "run.yaml"
    if not run_yaml.is_file():
        return {}
    import yaml

    return yaml.safe_load(run_yaml.read_text()) or {}


def _task_options(spec, model: str, given: dict):
    """The task's predictor options from the flags given; a flag of another task's predictor is an error."""
    own = {f.name for f in dataclasses.fields(spec.predict_options)}
    foreign = sorted(k for k, v in given.items() if v is not None and k not in own)
    if foreign:
        takes = f": its own are {', '.join(flag_name(n) for n in sorted(own))}" if own else ""
        raise BertcliError(f"{flag_name(foreign[0])} does not apply to {model}, a `{spec.name}` model{takes}")
    options = spec.predict_options(**{k: v for k, v in given.items() if k in own})
    options.check()
    return options


def _predict(
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
    runtime: dict = None,
    options: dict = None,
) -> None:
    """Predict with a trained model: the task (classification, question answering, token classification,
    fill-mask) comes from the model.

    Writes one JSON line per input, in input order: classification {"text", "label", "score"}; question
    answering {"question", "answer", "score", "start", "end"}; token classification {"text", "entities": [{"type",
    "start", "end", "text", "score"}]} (a tag set without entities, such as parts of speech: "words" with their
    "tags"); fill-mask {"text", "predictions", "filled"}.
    """
    from bertcli.predict.records import Fields, Writer, input_records
    from bertcli.tasks import registry

    settings = RuntimeOptions(**runtime)
    settings.check()
    spec = registry.for_model(model)
    task_options = _task_options(spec, model, options)
    predictor_class = spec.predictor_class()
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

    kwargs = settings.predictor_kwargs()
    if kwargs["max_length"] is None:  # the training run's, where the predictor keeps it (saved_options)
        del kwargs["max_length"]
    options = {**predictor_class.saved_options(run), **kwargs, **task_options.given()}
    predictor = load_predictor(model, **options)
    writer = Writer(output_file, output_format)
    try:
        for result in predictor.predict(records):
            writer.write(result)
    finally:
        writer.close()
    predictor.warn_truncated()


predict = with_settings(
    _predict,
    runtime=((RuntimeOptions,), "Runtime", None),
    options=(tuple(dict.fromkeys(spec.predict_options for spec in TASKS)), "Task options", None),
)
