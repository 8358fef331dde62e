"""Question answering: bertcli finetune squad against the run_qa.py recipe (HF Trainer, padding to 384), on
MiniLM, the first N questions of the SQuAD v1.1 train subset and the first M dev questions, same
hyper-parameters: 1 epoch, batch 16, lr 5e-5, 384/128, no warm-up, no weight decay.

    python bench/question_answering.py [--train-questions 300 --eval-questions 200] [--seeds 42 43 44] [--name N]
"""

import argparse
import json
import statistics
import sys

from common import BIN, DATA, REFERENCES, WORK, markdown, minilm, run_measured, write_results


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-questions", type=int, default=300)
    parser.add_argument("--eval-questions", type=int, default=200)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[42],
        help="one run of each side per seed; EM/F1 at this size move by points between seeds",
    )
    parser.add_argument("--name", default="question_answering", help="results file name in bench/results/")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    model = minilm()
    train, dev = DATA / "squad" / "train-v1.1-first11articles.json", DATA / "squad" / "dev-v1.1.json"
    common = [
        "--max-train-samples",
        args.train_questions,
        "--max-eval-samples",
        args.eval_questions,
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--lr",
        "5e-5",
        "--max-seq-length",
        "384",
        "--doc-stride",
        "128",
    ]
    runs = []
    for seed in args.seeds:
        log = WORK / "qa-reference.log"
        measured = run_measured(
            [
                sys.executable,
                REFERENCES / "reference_qa.py",
                "--model",
                model,
                "--train-file",
                train,
                "--validation-file",
                dev,
                "--output-dir",
                WORK / "qa-reference",
                *common,
                "--seed",
                seed,
            ],
            log=log,
        )
        reference = {**json.loads(log.read_text().strip().splitlines()[-1]), **measured}
        out = WORK / "qa-bertcli"
        measured = run_measured(
            [
                BIN / "bertcli",
                "finetune",
                "squad",
                "--model",
                model,
                "--train-file",
                train,
                "--validation-file",
                dev,
                *common,
                "--warmup-ratio",
                "0",
                "--weight-decay",
                "0",
                "--seed",
                seed,
                "--output-dir",
                out,
                "--overwrite-output-dir",
                "--save-steps",
                "0",
            ],
            log=WORK / "qa-bertcli.log",
        )
        runs.append(
            {
                "seed": seed,
                "reference": reference,
                "bertcli": {**json.loads((out / "metrics.json").read_text()), **measured},
            }
        )
    results = {"runs": runs, "train_questions": args.train_questions, "eval_questions": args.eval_questions}

    def mean(side: str, key: str) -> float:
        return statistics.mean(run[side][key] for run in runs)

    def per_seed(side: str, key: str) -> str:
        return " / ".join(f"{run[side][key]:.1f}" for run in runs)

    rows = [
        [
            "train samples/s (features)",
            round(mean("reference", "train_samples_per_second"), 2),
            round(mean("bertcli", "train_samples_per_second"), 2),
            round(mean("bertcli", "train_samples_per_second") / mean("reference", "train_samples_per_second"), 2),
        ],
        [
            "eval samples/s (features)",
            round(mean("reference", "eval_samples_per_second"), 1),
            round(mean("bertcli", "eval_samples_per_second"), 1),
            round(mean("bertcli", "eval_samples_per_second") / mean("reference", "eval_samples_per_second"), 2),
        ],
        ["exact match", round(mean("reference", "exact_match"), 2), round(mean("bertcli", "exact_match"), 2), ""],
        ["F1", round(mean("reference", "f1"), 2), round(mean("bertcli", "f1"), 2), ""],
        [
            "peak MB",
            max(run["reference"]["peak_mb"] for run in runs),
            max(run["bertcli"]["peak_mb"] for run in runs),
            round(max(run["bertcli"]["peak_mb"] for run in runs) / max(run["reference"]["peak_mb"] for run in runs), 2),
        ],
    ]
    if len(runs) > 1:
        rows += [
            [
                f"EM per seed ({', '.join(map(str, args.seeds))})",
                per_seed("reference", "exact_match"),
                per_seed("bertcli", "exact_match"),
                "",
            ],
            ["F1 per seed", per_seed("reference", "f1"), per_seed("bertcli", "f1"), ""],
        ]
    seeds = f", mean of seeds {', '.join(map(str, args.seeds))}" if len(runs) > 1 else ""
    table = markdown(
        [
            f"question answering (MiniLM, SQuAD v1.1, {args.train_questions} train / "
            f"{args.eval_questions} dev questions{seeds})",
            "run_qa.py",
            "bertcli",
            "ratio",
        ],
        rows,
    )
    write_results(args.name, results, table)


if __name__ == "__main__":
    main()
