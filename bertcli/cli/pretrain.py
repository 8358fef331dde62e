"""`bertcli pretrain`: BertForPreTraining (masked LM + next-sentence prediction) from raw text."""

from typing import Annotated, Optional

import typer

from bertcli.cli.common import train_task, training_command
from bertcli.errors import BertcliError

DATA, MLM = "Data", "Pre-training"


@training_command
def pretrain(
    train_file: Annotated[Optional[str], typer.Option(
        help="Text: one sentence (or paragraph) a line, a blank line between documents; or csv/jsonl/parquet "
             "with one document a row (--text-column).", show_default=False)] = None,
    validation_file: Annotated[Optional[str], typer.Option(
        help="Held-out text, same formats.", show_default="a share of the training documents")] = None,
    text_column: Annotated[str, typer.Option(help="Column with the text, for tables and hub data sets.")] = "text",
    mlm_probability: Annotated[float, typer.Option(help="Share of tokens chosen for masked-LM prediction.")] = 0.15,
    nsp: Annotated[bool, typer.Option(
        "--nsp/--no-nsp", help="Next-sentence prediction (BertForPreTraining); --no-nsp: MLM only on "
                               "full-length segments (BertForMaskedLM).")] = True,
    whole_word_masking: Annotated[bool, typer.Option(
        help="Mask all WordPiece pieces of a chosen word together.")] = False,
    short_seq_prob: Annotated[float, typer.Option(help="Share of instances shorter than --max-seq-length.")] = 0.1,
    validation_percentage: Annotated[float, typer.Option(
        help="Documents held out for evaluation when no validation data is given.")] = 5.0,
    preprocessing_workers: Annotated[int, typer.Option(help="Processes for tokenizing and building instances.")] = 1,
    run: dict = None,
):
    """Pre-train BERT: masked LM (15% of tokens: 80% [MASK], 10% random, 10% unchanged) and next-sentence
    prediction (50% true next, 50% random) on raw text.

    From scratch on a model made by `bertcli init-model`, or continuing any BERT checkpoint.
    Example: bertcli pretrain --model runs/mini --train-file corpus.txt --output-dir runs/mini-pretrained
    """
    from bertcli.tasks.pretraining import PretrainingTask

    if preprocessing_workers is not None and preprocessing_workers < 1:
        raise BertcliError(f"--preprocessing-workers must be at least 1, got {preprocessing_workers}")
    data = {"train_file": train_file, "validation_file": validation_file, "text_column": text_column}
    options = {"mlm_probability": mlm_probability, "nsp": nsp, "whole_word_masking": whole_word_masking,
               "short_seq_prob": short_seq_prob, "validation_percentage": validation_percentage,
               "preprocessing_workers": preprocessing_workers}
    train_task(PretrainingTask, run, data, options)
