"""The HTTP JSON API of `bertcli serve` (FastAPI): the records `predict` writes, embeddings, health, the model.

    POST /predict  {"texts": [...], "text_pairs": [...]}  or  {"questions": [...], "contexts": [...]}
                   -> {"predictions": [{"text", "label", "score"}, ...]}      (the records `bertcli predict` writes)
    POST /embed    {"texts": [...]}  -> {"embeddings": [[...], ...]}
    GET  /health   -> {"status": "ok"}                       (never behind the API key: for load balancers)
    GET  /model    -> task, inputs, labels, max length, embedding pooling, batching, versions
    GET  /docs, /openapi.json                                  (FastAPI's)

A bad request gets a 4xx JSON body {"error": "...", "field": "..."} naming what is wrong, and the server goes on.
Requests are batched across clients (batcher.py).
"""

from __future__ import annotations

import asyncio
import hmac
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Optional

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from bertcli.errors import BertcliError
from bertcli.serve.batcher import Batcher


@dataclass
class Limits:
    max_texts: int = 256  # texts (or questions) per request
    max_chars: int = 20_000  # characters per text
    max_body_bytes: int = 4 << 20  # bytes per request body


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: Optional[list[str]] = None
    text_pairs: Optional[list[str]] = None
    questions: Optional[list[str]] = None
    contexts: Optional[list[str]] = None


class EmbedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    texts: list[str]


def _error(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


def create_app(
    predictor,
    embedder,
    info: dict,
    limits: Limits,
    api_key: str | None = None,
    max_batch_size: int = 32,
    max_wait_ms: float = 5.0,
) -> FastAPI:
    """The app; `info` is what GET /model says about the model besides the predictor's own figures."""
    batchers: dict[str, Batcher] = {}

    @asynccontextmanager
    async def lifespan(app):
        batchers["predict"] = Batcher(predictor.predict_chunk, max_batch_size, max_wait_ms)
        batchers["embed"] = Batcher(embedder.predict_chunk, max_batch_size, max_wait_ms)
        yield
        for batcher in batchers.values():  # in-flight requests have their answers by now: stop the workers
            batcher.close()

    app = FastAPI(title="bertcli", summary=f"{info.get('task')} model {info.get('model')}", lifespan=lifespan)

    def authorized(request: Request) -> None:
        if api_key is None:
            return
        given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.strip().encode(), api_key.encode()):
            raise ApiError(401, "missing or wrong API key: send it as `Authorization: Bearer KEY` or `X-API-Key`")

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

    @app.middleware("http")
    async def body_limit(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limits.max_body_bytes:
            return _error(413, f"the body is {int(length)} bytes; at most {limits.max_body_bytes} are accepted", "body")
        if length is None and request.method == "POST":
            body = await request.body()  # chunked: read it (Starlette keeps it for the route) and measure
            if len(body) > limits.max_body_bytes:
                return _error(413, f"the body is over {limits.max_body_bytes} bytes", "body")
        return await call_next(request)

    def check_texts(name: str, texts: list[str]) -> None:
        if not texts:
            raise ApiError(422, f"'{name}' is empty: send at least one", name)
        if len(texts) > limits.max_texts:
            raise ApiError(413, f"'{name}' holds {len(texts)} items; at most {limits.max_texts} a request", name)
        for i, text in enumerate(texts):
            if not text.strip():
                raise ApiError(422, f"{name}[{i}] is empty", f"{name}.{i}")
            if len(text) > limits.max_chars:
                raise ApiError(
                    413, f"{name}[{i}] has {len(text)} characters; at most {limits.max_chars}", f"{name}.{i}"
                )

    async def answer(batcher: str, records: list[dict]) -> list[dict]:
        return await asyncio.wrap_future(batchers[batcher].submit(records))

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/model", dependencies=[Depends(authorized)])
    async def model() -> dict:
        return {**info, "batches_run": {name: b.batches for name, b in batchers.items()}}

    @app.post("/predict", dependencies=[Depends(authorized)])
    async def predict(body: PredictRequest) -> dict:
        given = {k: v for k, v in body.model_dump().items() if v is not None}
        inputs = {"text": "texts", "text_pair": "text_pairs", "question": "questions", "context": "contexts"}
        wanted = [inputs[name] for name in predictor.inputs]
        allowed = wanted + [inputs[name] for name in predictor.optional_inputs]
        for name in given:
            if name not in allowed:
                raise ApiError(422, f"this {info.get('task')} model takes {' and '.join(wanted)}, not '{name}'", name)
        for name in wanted:
            if name not in given:
                raise ApiError(422, f"'{name}' is missing: this model takes {' and '.join(wanted)}", name)
        for name, texts in given.items():
            check_texts(name, texts)
        count = len(given[wanted[0]])
        for name, texts in given.items():
            if len(texts) != count:
                raise ApiError(422, f"'{name}' has {len(texts)} items, '{wanted[0]}' {count}: give one each", name)
        field_of = {v: k for k, v in inputs.items()}
        records = [{field_of[name]: given[name][i] for name in given} for i in range(count)]
        return {"predictions": await answer("predict", records)}

    @app.post("/embed", dependencies=[Depends(authorized)])
    async def embed(body: EmbedRequest) -> dict:
        check_texts("texts", body.texts)
        results = await answer("embed", [{"text": t} for t in body.texts])
        return {"embeddings": [r["embedding"] for r in results]}

    app.state.batchers = batchers
    return app


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
