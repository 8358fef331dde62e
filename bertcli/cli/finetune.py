"""`bertcli finetune cls` (and, as they land, the other fine-tuning tasks)."""

from typing import Annotated, Optional

import typer

from bertcli.cli.common import training_command, train_task

app = typer.Typer(help="Fine-tune a BERT model on a downstream task.", no_args_is_help=True, rich_markup_mode=None)

DATA = "Data"


@app.command("cls")
@training_command
def classification(
    train_file: Annotated[Optional[str], typer.Option(
        help="Training file (csv, tsv, json, jsonl, parquet); overrides the recipe's dataset.",
        rich_help_panel=DATA, show_default=False)] = None,
    validation_file: Annotated[Optional[str], typer.Option(
        help="Validation file, same formats.", rich_help_panel=DATA, show_default=False)] = None,
    text_column: Annotated[Optional[str], typer.Option(
        help="Column holding the text (segment A).", rich_help_panel=DATA)] = "text",
    text_pair_column: Annotated[Optional[str], typer.Option(
        help="Column holding the second text of a sentence pair (segment B).", rich_help_panel=DATA,
        show_default=False)] = None,
    label_column: Annotated[Optional[str], typer.Option(
        help="Column holding the label: an integer id, a class name, or a float (regression).",
        rich_help_panel=DATA)] = "label",
    regression: Annotated[Optional[bool], typer.Option(
        "--regression/--classification", help="Force regression or classification.",
        rich_help_panel=DATA, show_default="from the labels")] = None,
    run: dict = None,
):
    """Fine-tune BertForSequenceClassification on single sentences or sentence pairs.

    Classification (accuracy, F1, ...) or regression (Pearson, Spearman) on the pooled [CLS] output.
    Example: bertcli finetune cls --recipe sst2 --model bert-base-uncased --output-dir runs/sst2
    """
    from bertcli.tasks.classification import ClassificationTask

    data = {"train_file": train_file, "validation_file": validation_file, "text_column": text_column,
            "text_pair_column": text_pair_column, "label_column": label_column}
    problem_type = None if regression is None else ("regression" if regression else "single_label_classification")
    train_task(ClassificationTask, run, data, {"problem_type": problem_type})
