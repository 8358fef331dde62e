"""Token classification: bertcli finetune ner against the run_ner.py recipe (HF Trainer,
bench/references/reference_ner.py), same model, data and hyper-parameters (no warm-up, no weight decay, linear
decay, seed 42), side by side:
  - parts of speech: MiniLM on the Brown corpus (a sample of its training files' sentences; a sample of the
    test files', every tenth file), tags without Brown's title/headline marks; token accuracy;
  - named entities: the char-level mini BERT pre-trained by bench/studies/chinese.py (character masking; random init
    when that has not run) on MSRA NER (a sample of training sentences, the 5,000 test sentences); entity F1.
Training speed is compared as the whole training time over the same sentences (bertcli cuts a sentence longer
than --max-seq-length into windows where run_ner.py cuts it off, so their sample counts can differ);
peak memory is the process's largest resident set.

    python bench/token_classification.py [--pos-train 12000] [--ner-train 8000]   # bench/results/token_classification.*
"""

import argparse
import json
import sys

from common import BIN, REFERENCES, WORK, markdown, minilm, run_measured, write_results
from offline_data import brown, msra_files, sample, write_jsonl, zh_mini_init


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pos-train", type=int, default=12000, help="Brown training sentences")
    parser.add_argument("--pos-test", type=int, default=2000, help="Brown test sentences")
    parser.add_argument("--ner-train", type=int, default=8000, help="MSRA training sentences")
    return parser.parse_args(argv)


def side_by_side(name: str, model: str, train: str, test: str, hp: dict) -> dict:
    common = [x for k, v in hp.items() for x in (f"--{k.replace('_', '-')}", str(v))]
    log = WORK / f"ner-{name}-reference.log"
    measured = run_measured(
        [
            sys.executable,
            REFERENCES / "reference_ner.py",
            "--model",
            model,
            "--train-file",
            train,
            "--validation-file",
            test,
            "--output-dir",
            WORK / f"ner-{name}-reference",
            *common,
        ],
        log=log,
    )
    reference = {**json.loads(log.read_text().strip().splitlines()[-1]), **measured}
    out = WORK / f"ner-{name}-bertcli"
    measured = run_measured(
        [
            BIN / "bertcli",
            "finetune",
            "ner",
            "--model",
            model,
            "--train-file",
            train,
            "--validation-file",
            test,
            *common,
            "--warmup-ratio",
            "0",
            "--weight-decay",
            "0",
            "--save-steps",
            "0",
            "--no-report",
            "--output-dir",
            out,
            "--overwrite-output-dir",
        ],
        log=WORK / f"ner-{name}-bertcli.log",
    )
    ours = {**json.loads((out / "metrics.json").read_text()), **measured}
    return {"reference": reference, "bertcli": ours, "speedup": reference["train_runtime_s"] / ours["train_runtime_s"]}


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    brown_train, brown_test = brown()
    train_rows = sample(brown_train, args.pos_train)
    known = {tag for row in train_rows for tag in row["tags"]}  # run_ner.py fails on a test tag it never trained
    test_rows = sample([r for r in brown_test if set(r["tags"]) <= known], args.pos_test)
    pos_train = write_jsonl(WORK / "pos-train.jsonl", train_rows)
    pos_test = write_jsonl(WORK / "pos-test.jsonl", test_rows)
    hp = {"epochs": 1, "batch_size": 32, "lr": 5e-5, "max_seq_length": 128}
    results = {"pos": side_by_side("pos", minilm(), pos_train, pos_test, hp)}

    char_model = WORK / "zh-pretrain-char-800"  # bench/studies/chinese.py's default budget
    model = str(char_model) if (char_model / "model.safetensors").is_file() else zh_mini_init()
    ner_train, ner_test = msra_files(args.ner_train)
    hp = {"epochs": 2, "batch_size": 32, "lr": 3e-4, "max_seq_length": 128}
    results["msra"] = {**side_by_side("msra", model, ner_train, ner_test, hp), "model": model}

    rows = []
    for name, metric, label in (
        ("pos", "accuracy", f"Brown POS, MiniLM ({args.pos_train} sentences, 1 epoch)"),
        ("msra", "f1", f"MSRA NER, char mini BERT ({args.ner_train} sentences, 2 epochs)"),
    ):
        r = results[name]
        ref, ours = r["reference"], r["bertcli"]
        rows.append(
            [
                label,
                f"{metric} {ref[metric]:.4f}",
                f"{metric} {ours[metric]:.4f}",
                f"{100 * (ours[metric] - ref[metric]):+.2f} pt",
                round(ref["train_runtime_s"], 1),
                round(ours["train_runtime_s"], 1),
                f"{r['speedup']:.2f}x",
                round(ref["peak_mb"]),
                round(ours["peak_mb"]),
            ]
        )
    results["args"] = vars(args)
    table = markdown(
        [
            "task",
            "run_ner.py",
            "bertcli",
            "difference",
            "run_ner.py training s",
            "bertcli training s",
            "speed-up",
            "run_ner.py peak MB",
            "bertcli peak MB",
        ],
        rows,
    )
    write_results("token_classification", results, table)


if __name__ == "__main__":
    main()
