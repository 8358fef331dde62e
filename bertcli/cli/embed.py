"""`bertcli embed`: a vector per text from any BERT model, for use as features."""

from __future__ import annotations

from typing import Annotated, Literal, Optional

import typer

from bertcli.cli.generate import with_settings
from bertcli.config.runtime import RuntimeOptions

INPUT, VECTORS, RUNTIME = "Input", "Vectors", "Runtime"
RUNTIME_FLAGS = ("batch_size", "max_seq_length", "device", "dtype", "allow_pickle")


def _embed(
    texts: Annotated[
        Optional[list[str]],
        typer.Argument(
            help="Texts to embed. Without any, reads --input-file, or stdin when it is a pipe.", show_default=False
        ),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="A model directory or hub name (any BERT: a sentence-transformers model, one bertcli trained, ...).",
            show_default=False,
            rich_help_panel=INPUT,
        ),
    ] = ...,
    input_file: Annotated[
        Optional[str],
        typer.Option(
            help="txt (one text a line), csv, tsv, json or jsonl; '-' for stdin.",
            show_default=False,
            rich_help_panel=INPUT,
        ),
    ] = None,
    output_file: Annotated[
        Optional[str],
        typer.Option(
            help="Write .npy (float32 rows, in input order; ids in NAME.ids.txt), .parquet (id, text, embedding) or "
            ".jsonl.",
            show_default="JSON Lines on stdout",
            rich_help_panel=INPUT,
        ),
    ] = None,
    text_column: Annotated[str, typer.Option(help="Input column with the text.", rich_help_panel=INPUT)] = "text",
    text_pair_column: Annotated[
        Optional[str],
        typer.Option(help="Input column with a second text (segment B).", show_default=False, rich_help_panel=INPUT),
    ] = None,
    id_column: Annotated[
        str, typer.Option(help="Input column copied to the output as `id`.", rich_help_panel=INPUT)
    ] = "id",
    pooling: Annotated[
        Optional[Literal["cls", "mean", "max", "pooler"]],
        typer.Option(
            help="How tokens become one vector: [CLS], mean or max over the text's tokens, or BERT's pooler output.",
            show_default="the model's sentence-transformers pooling, else mean",
            rich_help_panel=VECTORS,
        ),
    ] = None,
    layers: Annotated[
        str,
        typer.Option(
            help="Hidden states to pool: -1 is the last layer, 0 the embeddings; several comma-separated "
            "(-4,-3,-2,-1).",
            rich_help_panel=VECTORS,
        ),
    ] = "-1",
    combine: Annotated[
        Literal["mean", "concat"],
        typer.Option(help="Several --layers: average them or concatenate them.", rich_help_panel=VECTORS),
    ] = "mean",
    normalize: Annotated[
        Optional[bool],
        typer.Option(
            "--normalize/--no-normalize",
            help="Scale every vector to unit length.",
            show_default="as the model's sentence-transformers config says, else no",
            rich_help_panel=VECTORS,
        ),
    ] = None,
    runtime: dict = None,
) -> None:
    """Embed texts with a BERT model: one vector per text, in input order, for use as features.

    The vector pools the hidden states of the chosen layers; a sentence-transformers model's own pooling,
    normalization and length are the defaults, so its vectors match SentenceTransformer.encode.

    \b
    Examples:
      bertcli embed --model sentence-transformers/all-MiniLM-L6-v2 "a gorgeous film" "dull and overlong"
      bertcli embed --model runs/sst2 --input-file reviews.csv --output-file vectors.npy --pooling cls
      bertcli embed --model DIR --input-file texts.txt --output-file v.parquet --layers -4,-3,-2,-1 --combine concat
    """
    from bertcli.predict.records import Fields, input_records
    from bertcli.predict.vectors import VectorWriter, parse_layers

    settings = RuntimeOptions(**runtime)
    settings.check()
    parse_layers(layers)  # bad values are refused before the model loads
    VectorWriter.check(output_file)
    fields = Fields({"text": text_column, "text_pair": text_pair_column}, id_column)
    records = input_records(texts, input_file, fields, "embed")

    from bertcli.predict.embed import Embedder

    embedder = Embedder(
        model,
        **settings.predictor_kwargs(),
        pooling=pooling,
        layers=layers,
        combine=combine,
        normalize=normalize,
    )
    writer = VectorWriter(output_file)
    try:
        writer.write_all(embedder.predict(records))
    finally:
        writer.close()
    embedder.warn_truncated()


embed = with_settings(_embed, runtime=((RuntimeOptions,), RUNTIME, RUNTIME_FLAGS))
