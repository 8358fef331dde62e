"""Pre-training: bertcli pretrain against an HF Trainer (BertForPreTraining + DataCollatorForLanguageModeling)
from the same random `mini` BERT (tokenizer trained on WikiText-2), the same instances, sequence length 128,
batch 32, the same number of steps. Both models are then scored by the same evaluation (bertcli evaluate:
the same held-out text, the same masks).

    python bench/pretraining.py [--steps 150]
"""

import argparse
import json
import sys

from common import BIN, DATA, REFERENCES, WORK, markdown, mini_model, run_measured, write_results


def evaluate(model, held_out) -> dict:
    out = WORK / f"{model.name}-eval.json"
    run_measured(
        [
            BIN / "bertcli",
            "evaluate",
            "--model",
            model,
            "--validation-file",
            held_out,
            "--max-eval-samples",
            "600",
            "--max-seq-length",
            "128",
            "--output-file",
            out,
        ]
    )
    return json.loads(out.read_text())


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=150)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    corpus, held_out = DATA / "wikitext2" / "wiki.valid.tokens", DATA / "wikitext2" / "wiki.test.tokens"
    init = mini_model(WORK / "pretrain-mini-init", [corpus, held_out], 8000)
    common = [
        "--max-steps",
        args.steps,
        "--batch-size",
        "32",
        "--lr",
        "5e-4",
        "--warmup-ratio",
        "0.05",
        "--max-seq-length",
        "128",
    ]
    reference_out = WORK / "pretrain-reference"
    log = WORK / "pretrain-reference.log"
    measured = run_measured(
        [
            sys.executable,
            REFERENCES / "reference_pretrain.py",
            "--model",
            init,
            "--train-file",
            corpus,
            "--output-dir",
            reference_out,
            *common,
        ],
        log=log,
    )
    reference = {**json.loads(log.read_text().strip().splitlines()[-1]), **measured}
    ours_out = WORK / "pretrain-bertcli"
    measured = run_measured(
        [
            BIN / "bertcli",
            "pretrain",
            "--model",
            init,
            "--train-file",
            corpus,
            "--validation-file",
            held_out,
            "--max-eval-samples",
            "600",
            "--output-dir",
            ours_out,
            "--overwrite-output-dir",
            "--save-steps",
            "0",
            "--weight-decay",
            "0.01",
            "--eval-steps",
            str(args.steps + 1),
            *common,
        ],  # like the reference: no evaluation in training
        log=WORK / "pretrain-bertcli.log",
    )
    ours = {**json.loads((ours_out / "metrics.json").read_text()), **measured}
    # tokens/s of the reference: its samples/s times the mean (unpadded) length of the same instances
    mean_length = ours["train_tokens_per_second"] / ours["train_samples_per_second"]
    reference["train_tokens_per_second"] = reference["train_samples_per_second"] * mean_length
    reference["evaluation"], ours["evaluation"] = evaluate(reference_out, held_out), evaluate(ours_out, held_out)

    results = {"reference": reference, "bertcli": ours, "steps": args.steps}
    r, o = reference, ours
    rows = [
        [
            "train tokens/s",
            round(r["train_tokens_per_second"]),
            round(o["train_tokens_per_second"]),
            round(o["train_tokens_per_second"] / r["train_tokens_per_second"], 2),
        ],
        [
            "MLM accuracy (held out)",
            round(r["evaluation"]["mlm_accuracy"], 4),
            round(o["evaluation"]["mlm_accuracy"], 4),
            "",
        ],
        [
            "NSP accuracy (held out)",
            round(r["evaluation"]["nsp_accuracy"], 4),
            round(o["evaluation"]["nsp_accuracy"], 4),
            "",
        ],
        ["peak MB", r["peak_mb"], o["peak_mb"], round(o["peak_mb"] / r["peak_mb"], 2)],
    ]
    table = markdown(
        [
            f"pre-training (mini BERT from scratch, WikiText-2, {args.steps} steps x 32 x 128)",
            "HF Trainer",
            "bertcli",
            "ratio",
        ],
        rows,
    )
    write_results("pretraining", results, table)


if __name__ == "__main__":
    main()
