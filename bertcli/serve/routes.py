"""The routes of `bertcli serve`. Each reads what it serves from `request.app.state` (set by app.create_app): the
predictor, the batchers that run it, what GET /model says, the limits and the API key."""

from __future__ import annotations

import asyncio
import hmac

from fastapi import APIRouter, Depends, Request

from bertcli.serve.requests import ApiError, EmbedRequest, PredictRequest, check_texts, predict_records


def authorized(request: Request) -> None:
    api_key = request.app.state.api_key
    if api_key is None:
        return
    given = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
    if not hmac.compare_digest(given.strip().encode(), api_key.encode()):
        raise ApiError(401, "missing or wrong API key: send it as `Authorization: Bearer KEY` or `X-API-Key`")


router = APIRouter()
protected = APIRouter(dependencies=[Depends(authorized)])


async def _answer(request: Request, batcher: str, records: list[dict]) -> list[dict]:
    """The batcher's results for `records`, batched with other requests' on its worker thread."""
    return await asyncio.wrap_future(request.app.state.batchers[batcher].submit(records))


@router.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@protected.get("/model")
async def model(request: Request) -> dict:
    state = request.app.state
    return {**state.info, "batches_run": {name: b.batches for name, b in state.batchers.items()}}


@protected.post("/predict")
async def predict(body: PredictRequest, request: Request) -> dict:
    state = request.app.state
    records = predict_records(body, state.predictor, state.info.get("task"), state.limits)
    return {"predictions": await _answer(request, "predict", records)}


@protected.post("/embed")
async def embed(body: EmbedRequest, request: Request) -> dict:
    check_texts(request.app.state.limits, "texts", body.texts)
    results = await _answer(request, "embed", [{"text": t} for t in body.texts])
    return {"embeddings": [r["embedding"] for r in results]}


router.include_router(protected)
