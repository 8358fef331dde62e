"""`bertcli init-model`: a new WordPiece tokenizer and a randomly initialised BERT."""

from pathlib import Path
from typing import Annotated, Literal

import typer

from bertcli.errors import BertcliError
from bertcli.modeling import BERT_INITIALIZER_RANGE


def init_model(
    out: Annotated[Path, typer.Argument(help="Directory to write the model and tokenizer to.", show_default=False)],
    corpus: Annotated[
        list[Path],
        typer.Option(
            "--corpus", help="Text file(s) to train the tokenizer on (repeat the flag for several).", show_default=False
        ),
    ],
    size: Annotated[
        Literal["tiny", "mini", "small", "medium", "base", "large"],
        typer.Option(
            help="Model size: tiny 2x128, mini 4x256, small 4x512, medium 8x512, base 12x768, large 24x1024 "
            "(layers x hidden)."
        ),
    ] = "base",
    vocab_size: Annotated[int, typer.Option(help="Largest WordPiece vocabulary to learn.")] = 30522,
    lowercase: Annotated[bool, typer.Option("--lowercase/--cased", help="Lower-case and strip accents.")] = True,
    seed: Annotated[int, typer.Option(help="Random seed for the initial weights.")] = 42,
    position_init: Annotated[
        Literal["random", "sinusoidal"],
        typer.Option(
            help="Position embeddings: random (BERT's), or the sine/cosine table (still learned), with which "
            "masked LM from scratch starts using word order sooner."
        ),
    ] = "random",
    initializer_range: Annotated[
        float,
        typer.Option(
            help="Standard deviation of the initial weights (BERT's 0.02; the config keeps it, so heads added "
            "later, such as ELECTRA's, start at the same scale)."
        ),
    ] = BERT_INITIALIZER_RANGE,
    overwrite_output_dir: Annotated[bool, typer.Option(help="Replace OUT if it already holds files.")] = False,
) -> None:
    """Train a WordPiece tokenizer on a corpus and write a randomly initialised BERT (BertForPreTraining).

    The directory loads anywhere as --model OUT: pretrain it, or fine-tune it directly.
    """
    from bertcli.modeling import init_model as create
    from bertcli.modeling import quiet_transformers

    if vocab_size < 100:
        raise BertcliError(f"--vocab-size must be at least 100, got {vocab_size}")
    if not 0 < initializer_range <= 1:
        raise BertcliError(
            f"--initializer-range must be in (0, 1], got {initializer_range}: BERT uses {BERT_INITIALIZER_RANGE}"
        )
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite_output_dir:
        raise BertcliError(f"{out} already exists and is not empty: pass --overwrite-output-dir or choose another OUT")
    quiet_transformers()
    info = create(out, size, [str(c) for c in corpus], vocab_size, lowercase, seed, position_init, initializer_range)
    typer.echo(
        f"Wrote a {info['size']} BERT ({info['parameters'] / 1e6:.1f}M parameters, "
        f"vocabulary {info['vocab_size']}) to {out}"
    )
