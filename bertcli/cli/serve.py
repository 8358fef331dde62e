"""`bertcli serve`: a trained model behind an HTTP JSON API (FastAPI on uvicorn)."""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Annotated, Optional

import typer

from bertcli.cli.generate import with_settings
from bertcli.config.runtime import RuntimeOptions
from bertcli.errors import BertcliError

SERVER, LIMITS, RUNTIME = "Server", "Limits", "Runtime"


def _serve(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="A trained output directory (or any BERT model directory).",
            show_default=False,
            rich_help_panel=SERVER,
        ),
    ] = ...,
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on; anything but loopback warns, and wants an API key.", rich_help_panel=SERVER
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", rich_help_panel=SERVER)] = 8000,
    api_key: Annotated[
        Optional[str],
        typer.Option(
            help="Required of every request but GET /health, as `Authorization: Bearer KEY` or `X-API-Key: KEY`.",
            envvar="BERTCLI_API_KEY",
            show_default="$BERTCLI_API_KEY, else none",
            rich_help_panel=SERVER,
        ),
    ] = None,
    max_batch_size: Annotated[
        int,
        typer.Option(
            help="Texts per forward pass, gathered across concurrent requests (1: no batching across requests).",
            rich_help_panel=SERVER,
        ),
    ] = 32,
    max_wait_ms: Annotated[
        float,
        typer.Option(help="How long the first request of a batch waits for others to join it.", rich_help_panel=SERVER),
    ] = 5.0,
    max_texts: Annotated[int, typer.Option(help="Texts (or questions) per request.", rich_help_panel=LIMITS)] = 256,
    max_chars: Annotated[int, typer.Option(help="Characters per text.", rich_help_panel=LIMITS)] = 20_000,
    max_body_bytes: Annotated[int, typer.Option(help="Bytes per request body.", rich_help_panel=LIMITS)] = 4 << 20,
    runtime: dict = None,
) -> None:
    """Serve a model over HTTP: POST /predict (the records `bertcli predict` writes), POST /embed, GET /health,
    GET /model; OpenAPI at /docs. Concurrent requests are batched together.

    SIGTERM (or Ctrl-C) stops taking connections, answers the requests in flight, and exits.

    \b
    Examples:
      bertcli serve --model runs/sst2
      curl -s localhost:8000/predict -H 'Content-Type: application/json' -d '{"texts": ["a gorgeous film"]}'
      BERTCLI_API_KEY=secret bertcli serve --model runs/sst2 --host 0.0.0.0
    """
    for name, value in (
        ("--max-batch-size", max_batch_size),
        ("--max-texts", max_texts),
        ("--max-chars", max_chars),
        ("--max-body-bytes", max_body_bytes),
    ):
        if value < 1:
            raise BertcliError(f"{name} must be at least 1, got {value}")
    settings = RuntimeOptions(**runtime)
    settings.check()
    if max_wait_ms < 0:
        raise BertcliError(f"--max-wait-ms must be zero or positive, got {max_wait_ms}")
    if not _loopback(host):
        print(
            f"bertcli: warning: serving on {host}: any machine that reaches it can use the model"
            + ("" if api_key else "; set --api-key (or BERTCLI_API_KEY) to require a key"),
            file=sys.stderr,
        )
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the batcher's thread tokenizes
    try:
        import uvicorn

        from bertcli.serve.app import Limits, create_app, model_info
        from bertcli.serve.server import GracefulServer
    except ImportError as e:
        raise BertcliError(
            f"bertcli serve needs FastAPI and uvicorn ({e.name} is missing): pip install 'bertcli[serve]'"
        ) from e
    from bertcli.predict.base import load_predictor
    from bertcli.predict.embed import Embedder
    from bertcli.tasks import registry

    spec = registry.for_model(model)
    options = {**settings.predictor_kwargs(), "batch_size": max_batch_size}
    predictor = load_predictor(model, **options)
    embedder = Embedder(model, **options)
    limits = Limits(max_texts=max_texts, max_chars=max_chars, max_body_bytes=max_body_bytes)
    app = create_app(
        predictor, embedder, model_info(model, spec, predictor, embedder), limits, api_key, max_batch_size, max_wait_ms
    )
    server = GracefulServer(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    print(
        f"Serving {model} ({spec.name}) on http://{host}:{port} (API docs at /docs); SIGTERM or Ctrl-C stops",
        flush=True,
    )
    server.run()
    if not server.started:
        raise BertcliError(f"could not listen on {host}:{port} (is the port in use?): choose another --port")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


serve = with_settings(_serve, runtime=((RuntimeOptions,), RUNTIME, ("device", "dtype", "quantize", "allow_pickle")))
