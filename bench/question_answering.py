"""Question answering: bertcli finetune squad against the run_qa.py recipe (HF Trainer, padding to 384), on
MiniLM, the first N questions of the SQuAD v1.1 train subset and the first M dev questions, same
hyper-parameters: 1 epoch, batch 16, lr 5e-5, 384/128, no warm-up, no weight decay.

    python bench/question_answering.py [--train-questions 300 --eval-questions 200]
"""

import argparse
import json
import sys

from common import BIN, DATA, WORK, markdown, minilm, run_measured, write_results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-questions", type=int, default=300)
    parser.add_argument("--eval-questions", type=int, default=200)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    model = minilm()
    train, dev = DATA / "squad" / "train-v1.1-first11articles.json", DATA / "squad" / "dev-v1.1.json"
    common = ["--max-train-samples", args.train_questions, "--max-eval-samples", args.eval_questions,
              "--epochs", "1", "--batch-size", "16", "--lr", "5e-5", "--max-seq-length", "384", "--doc-stride", "128"]
    log = WORK / "qa-reference.log"
    measured = run_measured([sys.executable, WORK.parent / "reference_qa.py", "--model", model, "--train-file", train,
                             "--validation-file", dev, "--output-dir", WORK / "qa-reference", *common], log=log)
    reference = {**json.loads(log.read_text().strip().splitlines()[-1]), **measured}
    out = WORK / "qa-bertcli"
    measured = run_measured([BIN / "bertcli", "finetune", "squad", "--model", model, "--train-file", train,
                             "--validation-file", dev, *common, "--warmup-ratio", "0", "--weight-decay", "0",
                             "--output-dir", out, "--overwrite-output-dir", "--save-steps", "0"],
                            log=WORK / "qa-bertcli.log")
    ours = {**json.loads((out / "metrics.json").read_text()), **measured}
    results = {"reference": reference, "bertcli": ours, "train_questions": args.train_questions,
               "eval_questions": args.eval_questions}
    rows = [["train samples/s (features)", round(reference["train_samples_per_second"], 2),
             round(ours["train_samples_per_second"], 2),
             round(ours["train_samples_per_second"] / reference["train_samples_per_second"], 2)],
            ["eval samples/s (features)", round(reference["eval_samples_per_second"], 1),
             round(ours["eval_samples_per_second"], 1),
             round(ours["eval_samples_per_second"] / reference["eval_samples_per_second"], 2)],
            ["exact match", round(reference["exact_match"], 2), round(ours["exact_match"], 2), ""],
            ["F1", round(reference["f1"], 2), round(ours["f1"], 2), ""],
            ["peak MB", reference["peak_mb"], ours["peak_mb"], round(ours["peak_mb"] / reference["peak_mb"], 2)]]
    table = markdown([f"question answering (MiniLM, SQuAD v1.1, {args.train_questions} train / "
                      f"{args.eval_questions} dev questions)", "run_qa.py", "bertcli", "ratio"], rows)
    write_results("question_answering", results, table)


if __name__ == "__main__":
    main()
