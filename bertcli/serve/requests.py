"""What a request may hold: the bodies of POST /predict and /embed, the limits on their size, and the checks that
turn a body into the records a predictor takes, or into an ApiError naming the field that is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from pydantic import BaseModel, ConfigDict


@dataclass
class Limits:
    max_texts: int = 256  # texts (or questions) per request
    max_chars: int = 20_000  # characters per text
    max_body_bytes: int = 4 << 20  # bytes per request body


class ApiError(Exception):
    """A request the server refuses: answered as {"error": message, "field": field} with `status`."""

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


# A predictor's input field -> the request field that holds a list of them.
REQUEST_FIELDS = {"text": "texts", "text_pair": "text_pairs", "question": "questions", "context": "contexts"}


def check_texts(limits: Limits, name: str, texts: list[str]) -> None:
    if not texts:
        raise ApiError(422, f"'{name}' is empty: send at least one", name)
    if len(texts) > limits.max_texts:
        raise ApiError(413, f"'{name}' holds {len(texts)} items; at most {limits.max_texts} a request", name)
    for i, text in enumerate(texts):
        if not text.strip():
            raise ApiError(422, f"{name}[{i}] is empty", f"{name}.{i}")
        if len(text) > limits.max_chars:
            raise ApiError(413, f"{name}[{i}] has {len(text)} characters; at most {limits.max_chars}", f"{name}.{i}")


def predict_records(body: PredictRequest, predictor, task: str, limits: Limits) -> list[dict]:
    """The records of a /predict body for `predictor`: the fields it takes, each a list of one length."""
    given = {k: v for k, v in body.model_dump().items() if v is not None}
    wanted = [REQUEST_FIELDS[name] for name in predictor.inputs]
    allowed = wanted + [REQUEST_FIELDS[name] for name in predictor.optional_inputs]
    for name in given:
        if name not in allowed:
            raise ApiError(422, f"this {task} model takes {' and '.join(wanted)}, not '{name}'", name)
    for name in wanted:
        if name not in given:
            raise ApiError(422, f"'{name}' is missing: this model takes {' and '.join(wanted)}", name)
    for name, texts in given.items():
        check_texts(limits, name, texts)
    count = len(given[wanted[0]])
    for name, texts in given.items():
        if len(texts) != count:
            raise ApiError(422, f"'{name}' has {len(texts)} items, '{wanted[0]}' {count}: give one each", name)
    field_of = {v: k for k, v in REQUEST_FIELDS.items()}
    return [{field_of[name]: given[name][i] for name in given} for i in range(count)]
