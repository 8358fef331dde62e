"""Inference: bertcli's predictor against `transformers.pipeline` (batch size 32) on the SST-2 dev sentences
(872, and the same repeated 5 times), with the same fine-tuned MiniLM model. Checks that both give identical
labels; prints sentences/s of each and the ratio, measured two ways:
  - in one process: the library call `ClassificationPredictor.predict` against `pipeline(...)`, best of 3
    alternating rounds each;
  - as whole commands a user runs: `bertcli predict --input-file ... --output-file ...` against
    `python bench/references/pipeline_predict.py ...` (start-up, model loading and writing included).

    python bench/predict.py            # results in bench/results/predict.{json,md}
"""

import argparse
import csv
import json
import sys
import time

from common import BIN, DATA, REFERENCES, WORK, markdown, run_measured, sst2_model, write_results

REPEATS = 5
ROUNDS = 3  # in-process timings: the best of 3 rounds for each side


def read_dev() -> list[str]:
    with open(DATA / "sst2" / "dev.tsv", encoding="utf-8", newline="") as f:
        return [row["sentence"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def in_process(model: str, texts: list[str]) -> dict:
    from transformers import pipeline

    from bertcli.predict.classification import ClassificationPredictor

    reference = pipeline("text-classification", model=model, batch_size=32, device=-1)
    ours = ClassificationPredictor(model)  # default batch size, as `bertcli predict`
    reference(texts[:64]), list(ours.predict({"text": t} for t in texts[:64]))  # warm-up
    reference_s, ours_s = [], []
    for _ in range(ROUNDS):  # alternating, so that a busy spell of the shared machine hits both sides
        start = time.perf_counter()
        expected = reference(texts)
        reference_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        got = list(ours.predict({"text": t} for t in texts))
        ours_s.append(time.perf_counter() - start)
    return {
        "n": len(texts),
        "pipeline_per_s": len(texts) / min(reference_s),
        "bertcli_per_s": len(texts) / min(ours_s),
        "rounds": ROUNDS,
        "identical_labels": [e["label"] for e in expected] == [g["label"] for g in got],
    }


def whole_commands(model, path, n: int) -> dict:
    ours_out, reference_out = WORK / "predict-bertcli.jsonl", WORK / "predict-pipeline.jsonl"
    ours = run_measured([BIN / "bertcli", "predict", "--model", model, "--input-file", path, "--output-file", ours_out])
    reference = run_measured(
        [
            sys.executable,
            REFERENCES / "pipeline_predict.py",
            "--model",
            model,
            "--input-file",
            path,
            "--output-file",
            reference_out,
        ]
    )
    labels = [[json.loads(line)["label"] for line in p.read_text().splitlines()] for p in (ours_out, reference_out)]
    return {
        "n": n,
        "pipeline_per_s": n / reference["seconds"],
        "bertcli_per_s": n / ours["seconds"],
        "pipeline_peak_mb": reference["peak_mb"],
        "bertcli_peak_mb": ours["peak_mb"],
        "identical_labels": labels[0] == labels[1] and len(labels[0]) == n,
    }


def parse_args(argv=None) -> argparse.Namespace:
    return argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)


def main(argv=None) -> None:
    parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    model = str(sst2_model())
    texts = read_dev()
    repeated = WORK / "dev-x5.tsv"
    with open(repeated, "w", encoding="utf-8") as f:
        f.write("sentence\tlabel\n" + "".join(f"{t}\t0\n" for t in texts * REPEATS))
    results = {
        "in_process_872": in_process(model, texts),
        "in_process_4360": in_process(model, texts * REPEATS),
        "command_872": whole_commands(model, DATA / "sst2" / "dev.tsv", len(texts)),
        "command_4360": whole_commands(model, repeated, len(texts) * REPEATS),
    }
    rows = []
    for name, r in results.items():
        r["ratio"] = r["bertcli_per_s"] / r["pipeline_per_s"]
        rows.append(
            [
                name,
                r["n"],
                round(r["pipeline_per_s"], 1),
                round(r["bertcli_per_s"], 1),
                round(r["ratio"], 2),
                r["identical_labels"],
                r.get("pipeline_peak_mb", ""),
                r.get("bertcli_peak_mb", ""),
            ]
        )
    table = markdown(
        [
            "inference (MiniLM, SST-2 dev)",
            "sentences",
            "pipeline /s",
            "bertcli /s",
            "ratio",
            "identical labels",
            "pipeline peak MB",
            "bertcli peak MB",
        ],
        rows,
    )
    write_results("predict", results, table)


if __name__ == "__main__":
    main()
