"""`bertcli finetune cls` (and, as they land, the other fine-tuning tasks)."""

from typing import Annotated, Optional

import typer

from bertcli.cli.common import training_command, train_task
from bertcli.errors import BertcliError

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


QA = "Question answering"


@app.command("squad")
@training_command
def question_answering(
    train_file: Annotated[Optional[str], typer.Option(
        help="Training file: official nested SQuAD JSON, or flat jsonl/csv/parquet "
             "(id, question, context, answers{text, answer_start}).", rich_help_panel=DATA, show_default=False)] = None,
    validation_file: Annotated[Optional[str], typer.Option(
        help="Validation file, same formats.", rich_help_panel=DATA, show_default=False)] = None,
    version_2: Annotated[Optional[bool], typer.Option(
        "--version-2", help="SQuAD 2.0: questions may have no answer (predicted from [CLS]).",
        rich_help_panel=QA, show_default=False)] = None,
    doc_stride: Annotated[int, typer.Option(
        help="Tokens of overlap between consecutive windows of a long context.", rich_help_panel=QA)] = 128,
    max_query_length: Annotated[int, typer.Option(help="Cut questions to this many tokens.", rich_help_panel=QA)] = 64,
    n_best: Annotated[int, typer.Option(help="Start and end candidates per window.", rich_help_panel=QA)] = 20,
    max_answer_length: Annotated[int, typer.Option(help="Longest answer, in tokens.", rich_help_panel=QA)] = 30,
    null_score_diff_threshold: Annotated[float, typer.Option(
        help="v2: answer 'no answer' when null score - best span score exceeds this.", rich_help_panel=QA)] = 0.0,
    run: dict = None,
):
    """Fine-tune BertForQuestionAnswering on SQuAD v1.1 or v2.0 style data.

    The answer is the span i <= j that maximises start_i + end_j over all windows of the context.
    Writes predictions.json, nbest_predictions.json (and null_odds.json for v2) next to the model.
    Example: bertcli finetune squad --recipe squad --model bert-base-uncased --output-dir runs/squad
    """
    from bertcli.tasks.question_answering import QuestionAnsweringTask

    for name, value in (("--doc-stride", doc_stride), ("--max-query-length", max_query_length),
                        ("--n-best", n_best), ("--max-answer-length", max_answer_length)):
        if value is not None and value < 1:
            raise BertcliError(f"{name} must be at least 1, got {value}")
    data = {"train_file": train_file, "validation_file": validation_file}
    options = {"version_2": version_2, "doc_stride": doc_stride, "max_query_length": max_query_length,
               "n_best": n_best, "max_answer_length": max_answer_length,
               "null_score_diff_threshold": null_score_diff_threshold}
    train_task(QuestionAnsweringTask, run, data, options)
