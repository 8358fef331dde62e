"""Serving: `bertcli serve` under a real HTTP load tool (`hey`, Debian's package), with batching across requests
against batch-size-1 serving (`--max-batch-size 1`) on the same load: 32 concurrent clients for 60 s, each
request one SST-2 dev sentence, on the MiniLM model fine-tuned on SST-2 (as bench/predict.py).

Each run reports requests/s, p50/p99 latency, the status codes (errors must be none), and the server's resident
memory sampled every second. A third run repeats the batched one with a volley beside the load: bad requests
(malformed JSON, wrong types, empty and oversize inputs, unknown fields) in turn with every dev sentence as good
requests; the good answers must equal `bertcli predict`'s labels for the same sentences, the bad ones be 4xx.

    python bench/serve.py [--seconds 60] [--clients 32]      # results in bench/results/serve.{json,md}
"""

import argparse
import csv
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from common import BIN, DATA, ENV, WORK, markdown, sst2_model, write_results


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=32)
    return parser.parse_args(argv)


def read_dev() -> list[str]:
    with open(DATA / "sst2" / "dev.tsv", encoding="utf-8", newline="") as f:
        return [row["sentence"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def hey_figures(output: str) -> dict:
    """requests/s, p50 and p99 (ms) and the status codes from hey's report."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = float(re.search(r"50%+ in ([\d.]+) secs", output).group(1)) * 1000
    p99 = float(re.search(r"99%+ in ([\d.]+) secs", output).group(1)) * 1000
    codes = {int(code): int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", output)}
    return {
        "requests_per_s": rate,
        "p50_ms": p50,
        "p99_ms": p99,
        "status_codes": codes,
        "hey_errors": "Error distribution" in output,
    }


BAD = [
    b'{"texts": ["fine"',
    b'{"texts": "fine"}',
    b'{"texts": [1]}',
    b'{"texts": []}',
    b'{"texts": ["  "]}',
    b'{"texts": ["fine"], "extra": 1}',
    b'{"questions": ["who"]}',
    json.dumps({"texts": ["x" * 30000]}).encode(),
]


def volley(url: str, dev: list[str], answers: dict) -> None:
    """Bad requests and the dev sentences as good ones, in turn, while the load runs."""
    bad_codes, good = [], {}
    for i in range(0, len(dev), 16):
        status, body = post(url + "/predict", BAD[(i // 16) % len(BAD)])
        bad_codes.append(status)
        status, body = post(url + "/predict", json.dumps({"texts": dev[i : i + 16]}).encode())
        good.update({p["text"]: p["label"] for p in body.get("predictions", [])} if status == 200 else {})
    answers.update(bad_codes=bad_codes, good=good)


def run(model: str, args, batch_size: int, dev: list[str] | None) -> dict:
    port = free_port()
    server = subprocess.Popen(
        [BIN / "bertcli", "serve", "--model", model, "--port", str(port), "--max-batch-size", str(batch_size)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=ENV,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            urllib.request.urlopen(url + "/health", timeout=1)
            break
        except OSError:
            if server.poll() is not None:
                raise RuntimeError(server.stderr.read()) from None
            time.sleep(0.3)
    body = json.dumps({"texts": ["a gorgeous , witty , seductive movie ."]})
    post(url + "/predict", body.encode())  # warm-up
    memory, stop = [], threading.Event()

    def sample():
        while not stop.wait(1.0):
            memory.append(rss_mb(server.pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    answers: dict = {}
    side = threading.Thread(target=volley, args=(url, dev, answers)) if dev else None
    if side:
        side.start()
    load = subprocess.run(
        [
            "hey",
            "-z",
            f"{args.seconds}s",
            "-c",
            str(args.clients),
            "-m",
            "POST",
            "-T",
            "application/json",
            "-d",
            body,
            url + "/predict",
        ],
        capture_output=True,
        text=True,
    )
    if side:
        side.join()
    stop.set()
    sampler.join()
    server.send_signal(signal.SIGTERM)
    exit_status = server.wait(timeout=60)
    result = {
        **hey_figures(load.stdout),
        "max_batch_size": batch_size,
        "exit_status": exit_status,
        "rss_mb_first_last_max": [memory[0], memory[-1], max(memory)] if memory else [],
        "rss_mb_samples": memory,
    }
    if dev:
        result["bad_request_codes"] = sorted(set(answers["bad_codes"]))
        result["good_answers"] = answers["good"]
    return result


def main(argv=None) -> None:
    args = parse_args(argv)
    if not shutil.which("hey"):
        sys.exit("bench/serve.py needs hey: apt-get install hey")
    WORK.mkdir(parents=True, exist_ok=True)
    model, dev = str(sst2_model()), read_dev()
    predicted = subprocess.run(
        [BIN / "bertcli", "predict", "--model", model, *dev], capture_output=True, text=True, env=ENV
    )
    expected = {json.loads(line)["text"]: json.loads(line)["label"] for line in predicted.stdout.splitlines()}
    batched = run(model, args, 32, None)
    single = run(model, args, 1, None)
    mixed = run(model, args, 32, dev)
    good = mixed.pop("good_answers")
    results = {
        "batched": batched,
        "batch_size_1": single,
        "batched_with_bad_requests": mixed,
        "seconds": args.seconds,
        "clients": args.clients,
        "good_answers": len(good),
        "good_answers_equal_predict": good == expected,
        "throughput_ratio": batched["requests_per_s"] / single["requests_per_s"],
    }
    rows = []
    for name, r in (("batched (32, 5 ms)", batched), ("batch size 1", single), ("batched, volley beside", mixed)):
        first, last, peak = r["rss_mb_first_last_max"]
        rows.append(
            [
                name,
                round(r["requests_per_s"], 1),
                round(r["p50_ms"], 1),
                round(r["p99_ms"], 1),
                json.dumps(r["status_codes"]),
                f"{first:.0f} / {last:.0f} / {peak:.0f}",
                r["exit_status"],
            ]
        )
    table = (
        f"Serving (MiniLM SST-2, hey: {args.clients} clients, {args.seconds} s, one sentence a request): "
        f"batching {results['throughput_ratio']:.2f}x the requests/s of batch-size-1 serving; during the load "
        f"{len(good)} dev sentences served with labels equal to predict's: {results['good_answers_equal_predict']};"
        f" bad requests answered {mixed['bad_request_codes']}\n\n"
    )
    table += markdown(
        [
            "server",
            "requests/s",
            "p50 ms",
            "p99 ms",
            "status codes",
            "RSS MB first / last / max",
            "exit status after SIGTERM",
        ],
        rows,
    )
    write_results("serve", results, table)


if __name__ == "__main__":
    main()
