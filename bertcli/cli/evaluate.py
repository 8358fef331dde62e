"""`bertcli evaluate`: the metrics training reports, for a trained model on any labelled data."""

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from bertcli.errors import BertcliError


def evaluate(
    model: Annotated[str, typer.Option("--model", "-m", help="A trained output directory.", show_default=False)] = ...,
    recipe: Annotated[Optional[str], typer.Option(
        "--recipe", "-r", help="Evaluate on this recipe's validation split.", show_default=False)] = None,
    config: Annotated[Optional[str], typer.Option(
        help="YAML config.", show_default="the model's run.yaml, so its validation data and columns")] = None,
    validation_file: Annotated[Optional[str], typer.Option(
        help="Labelled file (csv, tsv, json, jsonl, parquet; SQuAD JSON for QA).", show_default=False)] = None,
    text_column: Annotated[Optional[str], typer.Option(help="Text column.", show_default=False)] = None,
    text_pair_column: Annotated[Optional[str], typer.Option(help="Second text column.", show_default=False)] = None,
    label_column: Annotated[Optional[str], typer.Option(help="Label column.", show_default=False)] = None,
    max_eval_samples: Annotated[Optional[int], typer.Option(help="Use only the first N examples.",
                                                            show_default=False)] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Evaluation batch size.", show_default="64")] = None,
    max_seq_length: Annotated[Optional[int], typer.Option(
        help="Longest input in tokens.", show_default="the training run's")] = None,
    output_file: Annotated[Optional[str], typer.Option(help="Write the metrics JSON here too.",
                                                       show_default=False)] = None,
    allow_pickle: Annotated[bool, typer.Option(
        help="Load pickled weights (pytorch_model.bin) when the model has no safetensors; pickles can run code.")] = False,
) -> None:
    """Evaluate a trained model: the metrics of training's metrics.json, plus for classification a confusion
    matrix and per-class precision, recall and F1. Classification, question answering and pre-training
    (masked LM / NSP accuracy, perplexity) models. Prints JSON.
    """
    from bertcli.config import resolve
    from bertcli.evaluation import run_evaluation
    from bertcli.inference import detect_task

    task_class = _task_class(detect_task(model))
    run_yaml = Path(model) / "run.yaml"
    if config is None and run_yaml.is_file():
        config = str(run_yaml)
    flags = {
        "model": model,
        "data": {"validation_file": validation_file, "text_column": text_column, "text_pair_column": text_pair_column,
                 "label_column": label_column},
        "train": {"max_eval_samples": max_eval_samples, "eval_batch_size": batch_size, "max_seq_length": max_seq_length,
                  "report_to": "none", "allow_pickle": allow_pickle or None},
    }
    if task_class.name == "pretrain":  # next-sentence prediction is there when the model has its head
        architectures = json.loads((Path(model) / "config.json").read_text()).get("architectures") or []
        flags["options"] = {"nsp": any(a.endswith("ForPreTraining") for a in architectures)}
    cfg = resolve(task_class.name, task_class.options_class, recipe, config, flags, task_class.defaults,
                  training=False)
    metrics = run_evaluation(cfg, task_class)
    text = json.dumps(metrics, indent=2)
    typer.echo(text)
    if output_file:
        Path(output_file).write_text(text + "\n")


def _task_class(task: str):
    if task == "classification":
        from bertcli.tasks.classification import ClassificationTask

        return ClassificationTask
    if task == "question-answering":
        from bertcli.tasks.question_answering import QuestionAnsweringTask

        return QuestionAnsweringTask
    if task == "fill-mask":
        from bertcli.tasks.pretraining import PretrainingTask

        return PretrainingTask
    raise BertcliError(f"bertcli evaluate does not evaluate {task} models")
