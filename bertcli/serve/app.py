"""The HTTP JSON API of `bertcli serve` (FastAPI): the records `predict` writes, embeddings, health, the model.

    POST /predict  {"texts": [...], "text_pairs": [...]}  or  {"questions": [...], "contexts": [...]}
                   -> {"predictions": [{"text", "label", "score"}, ...]}      (the records `bertcli predict` writes)
    POST /embed    {"texts": [...]}  -> {"embeddings": [[...], ...]}
    GET  /health   -> {"status": "ok"}                       (never behind the API key: for load balancers)
    GET  /model    -> task, inputs, labels, max length, embedding pooling, batching, versions
    GET  /docs, /openapi.json                                  (FastAPI's)

A bad request gets a 4xx JSON body {"error": "...", "field": "..."} naming what is wrong, and the server goes on.
This module builds the app; the routes are in routes.py, what a request may hold in requests.py, and the worker
that batches requests across clients in batcher.py.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from bertcli.errors import BertcliError
from bertcli.serve.batcher import Batcher
from bertcli.serve.requests import ApiError, Limits
from bertcli.serve.routes import router

__all__ = ["Limits", "create_app", "model_info"]


def create_app(
    predictor,
    embedder,
    info: dict,
    limits: Limits,
    api_key: str | None = None,
    max_batch_size: int = 32,
    max_wait_ms: float = 5.0,
) -> FastAPI:
    """The app; `info` is what GET /model says about the model besides the predictor's own figures. The batchers'
    worker threads start with the server and stop once the requests in flight have their answers."""

    @asynccontextmanager
    async def lifespan(app):
        app.state.batchers["predict"] = Batcher(predictor.predict_chunk, max_batch_size, max_wait_ms)
        app.state.batchers["embed"] = Batcher(embedder.predict_chunk, max_batch_size, max_wait_ms)
        yield
        for batcher in app.state.batchers.values():
            batcher.close()

    app = FastAPI(title="bertcli", summary=f"{info.get('task')} model {info.get('model')}", lifespan=lifespan)
    app.state.predictor, app.state.info, app.state.limits, app.state.api_key = predictor, info, limits, api_key
    app.state.batchers = {}
    _add_error_handlers(app)
    app.middleware("http")(_body_limit)
    app.include_router(router)
    return app


def _error(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    """Every refusal as {"error", "field"}: the server's own, bertcli's input errors, and FastAPI's validation."""

    @app.exception_handler(ApiError)
    async def api_error(request, e: ApiError):
        return _error(e.status, e.message, e.field)

    @app.exception_handler(BertcliError)
    async def input_error(request, e: BertcliError):
        return _error(400, str(e))

    @app.exception_handler(RequestValidationError)
    async def invalid(request, e: RequestValidationError):
        first = e.errors()[0]
        location = [str(part) for part in first.get("loc", ()) if part != "body"]
        if first.get("type") == "json_invalid":
            return _error(400, f"the body is not valid JSON: {first.get('ctx', {}).get('error', first['msg'])}", "body")
        if first.get("type") == "extra_forbidden":
            return _error(422, f"unknown field '{location[-1]}'", ".".join(location))
        return _error(422, first["msg"], ".".join(location) or "body")


async def _body_limit(request: Request, call_next):
    """413 for a body over --max-body-bytes, before the route reads it. A body is read as JSON whatever its
    Content-Type says: `curl -d` sends JSON as a form unless told otherwise."""
    if request.method == "POST" and "json" not in request.headers.get("content-type", ""):
        headers = [(k, v) for k, v in request.scope["headers"] if k != b"content-type"]
        request.scope["headers"] = [*headers, (b"content-type", b"application/json")]
    limit = request.app.state.limits.max_body_bytes
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > limit:
        return _error(413, f"the body is {int(length)} bytes; at most {limit} are accepted", "body")
    if length is None and request.method == "POST":
        body = await request.body()  # chunked: read it (Starlette keeps it for the route) and measure
        if len(body) > limit:
            return _error(413, f"the body is over {limit} bytes", "body")
    return await call_next(request)


def model_info(model_dir: str, spec, predictor, embedder) -> dict:
    """What GET /model says: the model, its task and inputs, its labels, lengths, pooling, and the versions."""
    import torch

    from bertcli.config import package_versions
    from bertcli.tasks.registry import model_config

    return {
        "model": model_dir,
        "task": spec.name,
        "architecture": (model_config(model_dir).get("architectures") or [None])[0],
        "inputs": list(predictor.inputs) + list(predictor.optional_inputs),
        "labels": getattr(predictor, "labels", None),
        "max_length": predictor.max_length,
        "embedding": {"pooling": embedder.pooling, "normalize": embedder.normalize},
        "device": str(predictor.device),
        "plain_forward": not isinstance(predictor.model, torch.nn.Module),
        "versions": package_versions(),
    }
