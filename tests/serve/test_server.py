"""`bertcli serve` as a real process on a real port: the answers `predict` gives, a 4xx JSON error naming the
field for each kind of bad request (and the server still answering), batching across concurrent requests, the API
key, and a SIGTERM that lets the request in flight finish and exits 0."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.helpers import jsonl, run_bertcli, start_bertcli

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(model, *args):
    port = free_port()
    process = start_bertcli(
        "serve", "--model", model, "--port", port, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, process.communicate()[1]
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            break
        except OSError:
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.2)
    try:
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


def call(url: str, path: str, body=None, headers=None, raw: bytes | None = None) -> tuple[int, dict]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(
        url + path, data=data, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


TEXTS = ["a great film", "dull and awful", "the acting was wonderful", "a poor and boring plot", "it was fine"]


def test_serves_the_labels_predict_gives_and_embeddings(classifier):
    predicted = run_bertcli("predict", "--model", classifier, *TEXTS)
    expected = jsonl(predicted.stdout)
    with server(classifier) as (url, _):
        status, body = call(url, "/predict", {"texts": TEXTS})
        assert status == 200 and [p["label"] for p in body["predictions"]] == [e["label"] for e in expected]
        assert [p["text"] for p in body["predictions"]] == TEXTS
        for content_type in ("application/x-www-form-urlencoded", "text/plain"):  # curl -d's, and another
            assert call(url, "/predict", {"texts": TEXTS}, {"Content-Type": content_type}) == (200, body)
        status, body = call(url, "/embed", {"texts": TEXTS[:2]})
        assert status == 200 and len(body["embeddings"]) == 2 and len(body["embeddings"][0]) == 128
        status, info = call(url, "/model")
        assert status == 200 and info["task"] == "cls" and info["labels"] == ["negative", "positive"]
        assert call(url, "/health") == (200, {"status": "ok"})


BAD = [
    (b'{"texts": ["a fine film"', 400, "body", "not valid JSON"),
    ({"texts": "a fine film"}, 422, "texts", "valid list"),
    ({"texts": [1, 2]}, 422, "texts.0", "valid string"),
    ({"texts": []}, 422, "texts", "is empty"),
    ({"texts": ["fine", "   "]}, 422, "texts.1", "texts[1] is empty"),
    ({"texts": ["fine"], "labels": ["x"]}, 422, "labels", "unknown field 'labels'"),
    ({"questions": ["who?"], "contexts": ["me"]}, 422, "questions", "takes texts, not 'questions'"),
    ({"texts": ["a", "b"], "text_pairs": ["c"]}, 422, "text_pairs", "give one each"),
    ({"texts": ["word"] * 9}, 413, "texts", "at most 8 a request"),
    ({"texts": ["x" * 101]}, 413, "texts.0", "at most 100"),
    ({"texts": ["y" * 90] * 8}, 413, "body", "at most 600 are accepted"),
]


def test_bad_requests_get_a_json_error_naming_the_field_and_the_server_goes_on(classifier):
    with server(classifier, "--max-texts", "8", "--max-chars", "100", "--max-body-bytes", "600") as (url, _):
        _, good = call(url, "/predict", {"texts": TEXTS})
        for body, status, field, message in BAD:
            raw = body if isinstance(body, bytes) else None
            got_status, got = call(url, "/predict", None if raw else body, raw=raw)
            assert (got_status, got["field"]) == (status, field) and message in got["error"], (body, got)
        assert call(url, "/predict", {"texts": TEXTS}) == (200, good)  # unchanged by all of that


def test_concurrent_requests_share_forward_passes(classifier):
    def volley(url, n=24):
        answers = [None] * n
        threads = [
            threading.Thread(
                target=lambda i=i: answers.__setitem__(i, call(url, "/predict", {"texts": [TEXTS[i % 5]]}))
            )
            for i in range(n)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(
            status == 200 and body["predictions"][0]["text"] == TEXTS[i % 5] for i, (status, body) in enumerate(answers)
        )
        return call(url, "/model")[1]["batches_run"]["predict"]

    with server(classifier, "--max-wait-ms", "50") as (url, _):
        assert volley(url) < 24  # several requests to a forward pass
    with server(classifier, "--max-batch-size", "1") as (url, _):
        assert volley(url) == 24  # one each


def test_an_api_key_guards_every_route_but_health(classifier, monkeypatch):
    with server(classifier, "--api-key", "s3cret") as (url, _):
        assert call(url, "/health")[0] == 200
        status, body = call(url, "/predict", {"texts": ["fine"]})
        assert status == 401 and "API key" in body["error"]
        assert call(url, "/model", headers={"X-API-Key": "wrong"})[0] == 401
        assert call(url, "/predict", {"texts": ["fine"]}, headers={"Authorization": "Bearer s3cret"})[0] == 200
        assert call(url, "/model", headers={"X-API-Key": "s3cret"})[0] == 200


def test_listening_beyond_loopback_warns(classifier):
    port = free_port()
    process = start_bertcli(
        "serve",
        "--model",
        classifier,
        "--host",
        "0.0.0.0",
        "--port",
        port,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = process.stderr.readline()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert line.startswith("bertcli: warning: serving on 0.0.0.0") and "--api-key" in line


def test_sigterm_answers_the_request_in_flight_then_exits_0(classifier):
    with server(classifier, "--max-texts", "3000", "--max-body-bytes", str(1 << 23)) as (url, process):
        result = {}
        many = {"texts": [f"{TEXTS[i % 5]} number {i} " + "and so on " * 60 for i in range(3000)]}

        def ask():
            result["answer"] = call(url, "/predict", many)
            result["answered"] = time.monotonic()

        request = threading.Thread(target=ask)
        request.start()
        time.sleep(1.0)  # the request is being answered
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        request.join(timeout=300)
        assert process.wait(timeout=60) == 0
    status, body = result["answer"]
    assert status == 200 and len(body["predictions"]) == 3000
    assert result["answered"] > signalled  # it was in flight when the signal came
