"""Classification: bertcli finetune cls against the run_glue.py recipe (HF Trainer), default padding to 128
and with dynamic padding, on MiniLM and SST-2 (the first N training rows, the full dev set), same
hyper-parameters: 1 epoch, batch 32, lr 5e-5, max length 128, no warm-up, no weight decay.

    python bench/classification.py [--train-rows 2000]      # results in bench/results/classification.*
"""

import argparse
import json
import sys

from common import BIN, DATA, REFERENCES, WORK, markdown, minilm, run_measured, write_results


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-rows", type=int, default=2000)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    model, train, dev = minilm(), DATA / "sst2" / "train.tsv", DATA / "sst2" / "dev.tsv"
    common = ["--epochs", "1", "--batch-size", "32", "--lr", "5e-5", "--max-seq-length", "128"]
    results = {}
    for name, extra in (("reference_pad128", []), ("reference_dynamic", ["--dynamic-padding"])):
        log = WORK / f"cls-{name}.log"
        measured = run_measured(
            [
                sys.executable,
                REFERENCES / "reference_glue.py",
                "--model",
                model,
                "--train-file",
                train,
                "--validation-file",
                dev,
                "--output-dir",
                WORK / f"cls-{name}",
                "--max-train-samples",
                args.train_rows,
                *common,
                *extra,
            ],
            log=log,
        )
        results[name] = {**json.loads(log.read_text().strip().splitlines()[-1]), **measured}
    out = WORK / "cls-bertcli"
    measured = run_measured(
        [
            BIN / "bertcli",
            "finetune",
            "cls",
            "--model",
            model,
            "--recipe",
            "sst2",
            "--train-file",
            train,
            "--validation-file",
            dev,
            "--max-train-samples",
            args.train_rows,
            *common,
            "--warmup-ratio",
            "0",
            "--weight-decay",
            "0",
            "--output-dir",
            out,
            "--overwrite-output-dir",
            "--save-steps",
            "0",
        ],
        log=WORK / "cls-bertcli.log",
    )
    results["bertcli"] = {**json.loads((out / "metrics.json").read_text()), **measured}

    ours = results["bertcli"]
    rows = []
    for name in ("reference_pad128", "reference_dynamic"):
        ref = results[name]
        rows.append(
            [
                name.replace("reference_", "run_glue.py "),
                round(ref["train_samples_per_second"], 1),
                round(ours["train_samples_per_second"], 1),
                round(ours["train_samples_per_second"] / ref["train_samples_per_second"], 2),
                round(ref["accuracy"], 4),
                round(ours["accuracy"], 4),
                ref["peak_mb"],
                ours["peak_mb"],
            ]
        )
    results["train_rows"] = args.train_rows
    table = markdown(
        [
            "classification (MiniLM, SST-2, %d rows)" % args.train_rows,
            "reference samples/s",
            "bertcli samples/s",
            "ratio",
            "reference accuracy",
            "bertcli accuracy",
            "reference peak MB",
            "bertcli peak MB",
        ],
        rows,
    )
    write_results("classification", results, table)


if __name__ == "__main__":
    main()
