"""Embeddings: `bertcli embed` against sentence-transformers' `encode` (the library the MiniLM package ships with),
same model (all-MiniLM-L6-v2), same sentences (SST-2 dev, 872, and the same repeated 5 times), batch size 32.
Checks that every vector agrees (cosine), and measures sentences/s of each and the ratio:
  - in one process, best of 3 alternating rounds: `Embedder.predict` (bertcli's default `--dtype auto`, and
    float32) against `SentenceTransformer.encode`;
  - as whole commands: `bertcli embed --input-file ... --output-file x.npy` against `st_embed.py` (the same with
    sentence-transformers), start-up and writing included.

    python bench/embed.py            # results in bench/results/embed.{json,md}
"""

import argparse
import sys
import time

import numpy as np
from common import BIN, DATA, REFERENCES, WORK, markdown, minilm, run_measured, sst2_dev_sentences, write_results

REPEATS, ROUNDS, BATCH = 5, 3, 32


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def in_process(model: str, texts: list[str]) -> dict:
    from sentence_transformers import SentenceTransformer

    from bertcli.predict.embed import Embedder

    reference = SentenceTransformer(model, device="cpu")
    sides = {"auto": Embedder(model, batch_size=BATCH), "float32": Embedder(model, batch_size=BATCH, dtype="float32")}
    reference.encode(texts[:64], batch_size=BATCH)
    for side in sides.values():
        list(side.predict({"text": t} for t in texts[:64]))  # warm-up
    times = {name: [] for name in ["sentence_transformers", *sides]}
    vectors = {}
    for _ in range(ROUNDS):  # alternating, so that a busy spell of the shared machine hits every side
        start = time.perf_counter()
        vectors["sentence_transformers"] = reference.encode(texts, batch_size=BATCH)
        times["sentence_transformers"].append(time.perf_counter() - start)
        for name, side in sides.items():
            start = time.perf_counter()
            vectors[name] = np.array([r["embedding"] for r in side.predict({"text": t} for t in texts)])
            times[name].append(time.perf_counter() - start)
    result = {"n": len(texts), "rounds": ROUNDS, "batch_size": BATCH}
    for name in times:
        result[f"{name}_per_s"] = len(texts) / min(times[name])
    for name in sides:
        result[f"{name}_min_cosine"] = float(cosine(vectors["sentence_transformers"], vectors[name]).min())
    return result


def whole_commands(model: str, path, n: int) -> dict:
    ours_out, reference_out = WORK / "embed-bertcli.npy", WORK / "embed-st.npy"
    ours = run_measured(
        [
            BIN / "bertcli",
            "embed",
            "--model",
            model,
            "--input-file",
            path,
            "--text-column",
            "sentence",
            "--output-file",
            ours_out,
            "--batch-size",
            BATCH,
        ]
    )
    reference = run_measured(
        [
            sys.executable,
            REFERENCES / "st_embed.py",
            "--model",
            model,
            "--input-file",
            path,
            "--output-file",
            reference_out,
            "--batch-size",
            str(BATCH),
        ]
    )
    a, b = np.load(reference_out), np.load(ours_out)
    return {
        "n": n,
        "sentence_transformers_per_s": n / reference["seconds"],
        "bertcli_per_s": n / ours["seconds"],
        "sentence_transformers_peak_mb": reference["peak_mb"],
        "bertcli_peak_mb": ours["peak_mb"],
        "min_cosine": float(cosine(a, b).min()),
        "rows": [len(a), len(b)],
    }


def parse_args(argv=None) -> argparse.Namespace:
    return argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)


def main(argv=None) -> None:
    parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    model, texts = minilm(), sst2_dev_sentences()
    repeated = WORK / "dev-x5.tsv"
    repeated.write_text("sentence\tlabel\n" + "".join(f"{t}\t0\n" for t in texts * REPEATS), encoding="utf-8")
    results = {
        "in_process_872": in_process(model, texts),
        "in_process_4360": in_process(model, texts * REPEATS),
        "command_872": whole_commands(model, DATA / "sst2" / "dev.tsv", len(texts)),
        "command_4360": whole_commands(model, repeated, len(texts) * REPEATS),
    }
    rows = []
    for name, r in results.items():
        st = r["sentence_transformers_per_s"]
        if name.startswith("in_process"):
            rows.append(
                [
                    name,
                    r["n"],
                    round(st, 1),
                    round(r["auto_per_s"], 1),
                    round(r["auto_per_s"] / st, 2),
                    round(r["float32_per_s"] / st, 2),
                    f"{r['auto_min_cosine']:.6f}",
                    f"{r['float32_min_cosine']:.7f}",
                    "",
                ]
            )
        else:
            rows.append(
                [
                    name,
                    r["n"],
                    round(st, 1),
                    round(r["bertcli_per_s"], 1),
                    round(r["bertcli_per_s"] / st, 2),
                    "",
                    f"{r['min_cosine']:.6f}",
                    "",
                    f"{r['sentence_transformers_peak_mb']:.0f} / {r['bertcli_peak_mb']:.0f}",
                ]
            )
    header = [
        "embeddings (MiniLM, SST-2 dev, batch 32)",
        "sentences",
        "sentence-transformers /s",
        "bertcli /s",
        "ratio",
        "ratio float32",
        "min cosine",
        "min cosine float32",
        "peak MB (st / bertcli)",
    ]
    write_results("embed", results, markdown(header, rows))


if __name__ == "__main__":
    main()
