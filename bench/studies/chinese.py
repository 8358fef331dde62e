"""Chinese: does pre-training a character-level mini BERT on the Chinese text available offline make it better,
and does whole-word masking over jieba's words beat masking single characters at the same budget?

Corpus: the MSRA NER training sentences (never its test sentences) and the training half of the review fragments
(bench/offline_data.py), documents of 8 sentences. A `mini` BERT (4 layers of 256) with a vocabulary built here
(every character a token), then masked-LM pre-training (no NSP) two ways at the same steps, batch and seed:
  - character masking (Google's Chinese BERT);
  - whole-word masking over jieba's words (`--whole-word-masking --word-segmenter jieba`, Chinese-BERT-wwm).
Each of the two, and the random initial model, fine-tuned:
  - on MSRA NER (a sample of the training sentences; the 5,000 test sentences scored), entity F1, mean of 2 seeds;
  - as a sentiment classifier on the review fragments (deduplicated, split so no fragment is in both halves;
    1 epoch).
Stages are kept under bench/work/zh-* and reused by a rerun.

    python bench/studies/chinese.py [--pretrain-steps 800] [--ner-train 8000]   # bench/studies/results/chinese.*
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/: common.py, offline_data.py

from common import STUDY_RESULTS, WORK, markdown, stage, write_results
from offline_data import msra_files, reviews, write_jsonl, zh_corpus, zh_mini_init


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrain-steps", type=int, default=800, help="masked-LM steps of batch 32 (each way)")
    parser.add_argument("--ner-train", type=int, default=8000, help="MSRA training sentences for fine-tuning")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    return parser.parse_args(argv)


def pretrained(masking: str, steps: int) -> str:
    """The mini BERT after `steps` of masked-LM pre-training, with character or jieba whole-word masking."""
    name = f"zh-pretrain-{masking}-{steps}"
    extra = ["--whole-word-masking", "--word-segmenter", "jieba"] if masking == "wwm" else []
    stage(
        name,
        [
            "pretrain",
            "--model",
            zh_mini_init(),
            "--train-file",
            zh_corpus(),
            "--no-nsp",
            *extra,
            "--max-steps",
            str(steps),
            "--batch-size",
            "32",
            "--max-seq-length",
            "128",
            "--lr",
            "5e-4",
            "--warmup-ratio",
            "0.05",
            "--validation-split-percentage",
            "1",
            "--save-steps",
            "200",
            "--logging-steps",
            "50",
            "--no-report",
        ],
    )
    return str(WORK / name)


def review_files() -> tuple[str, str]:
    train, test = WORK / "zh-reviews-train.jsonl", WORK / "zh-reviews-test.jsonl"
    if not test.is_file():
        rows = reviews()
        write_jsonl(train, rows[0])
        write_jsonl(test, rows[1])
    return str(train), str(test)


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    models = {
        "random init": zh_mini_init(),
        "pre-trained, character masking": pretrained("char", args.pretrain_steps),
        "pre-trained, jieba whole-word masking": pretrained("wwm", args.pretrain_steps),
    }
    ner_train, ner_test = msra_files(args.ner_train)
    cls_train, cls_test = review_files()
    results = {}
    for name, model in models.items():
        tag = model.rsplit("/", 1)[-1]
        ner = [
            stage(
                f"zh-ner-{tag}-seed{seed}",
                [
                    "finetune",
                    "ner",
                    "--model",
                    model,
                    "--train-file",
                    ner_train,
                    "--validation-file",
                    ner_test,
                    "--epochs",
                    "2",
                    "--batch-size",
                    "32",
                    "--lr",
                    "3e-4",
                    "--max-seq-length",
                    "128",
                    "--seed",
                    str(seed),
                    "--save-steps",
                    "0",
                    "--no-report",
                ],
            )
            for seed in args.seeds
        ]
        sentiment = stage(
            f"zh-sentiment-{tag}",
            [
                "finetune",
                "cls",
                "--model",
                model,
                "--train-file",
                cls_train,
                "--validation-file",
                cls_test,
                "--text-column",
                "text",
                "--epochs",
                "1",
                "--batch-size",
                "32",
                "--lr",
                "3e-4",
                "--max-seq-length",
                "128",
                "--save-steps",
                "0",
                "--no-report",
            ],
        )
        results[name] = {
            "ner_f1": [m["f1"] for m in ner],
            "ner_f1_mean": statistics.mean(m["f1"] for m in ner),
            "sentiment_accuracy": sentiment["accuracy"],
        }
        if name != "random init":
            log = WORK / f"zh-pretrain-{'wwm' if 'jieba' in name else 'char'}-{args.pretrain_steps}" / "metrics.json"
            results[name]["pretrain"] = json.loads(log.read_text())
    rows = [
        [
            name,
            f"{r['ner_f1_mean']:.4f}",
            " / ".join(f"{f:.4f}" for f in r["ner_f1"]),
            f"{r['sentiment_accuracy']:.4f}",
        ]
        for name, r in results.items()
    ]
    sizes = f"{args.pretrain_steps} steps x 32 x 128 tokens; NER: {args.ner_train} MSRA sentences, 2 epochs"
    table = f"Chinese mini BERT (4 x 256, character vocabulary): pre-training {sizes}\n\n"
    table += markdown(["initial model", "MSRA NER test F1 (mean)", "per seed", "review sentiment accuracy"], rows)
    write_results(
        "chinese", {"models": results, "args": vars(args), "python": sys.version}, table, folder=STUDY_RESULTS
    )


if __name__ == "__main__":
    main()
