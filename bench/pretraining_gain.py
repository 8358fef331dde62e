"""Does pre-training pay? A `mini` BERT pre-trained from scratch on WikiText-2, then fine-tuned on SST-2,
against the same model fine-tuned from random initialisation, over several seeds.

Steps: a WordPiece tokenizer and a random `mini` BERT (`bertcli init-model`, 8,000 pieces) from the WikiText-2
text in ../shared/data (valid + test files: the train file is not there); `bertcli pretrain` (MLM + NSP) on
it; `bertcli finetune cls` on the first 8,000 SST-2 training rows from both starting points, evaluated on the
872 dev sentences; and linear probes (logistic regression on frozen [CLS] and mean-pooled features, the same
8,000 rows) that show what the encoder knows before fine-tuning.

    python bench/pretraining_gain.py                       # the CPU run of the notes: 1,500 steps, ~45 min
    python bench/pretraining_gain.py --steps 30000 --batch-size 256 --seq-length 128 \
        --pretrain-flags "--mixed-precision bf16"                                        # a GPU-sized run
"""

import argparse
import csv
import json
import shlex
import statistics
from concurrent.futures import ThreadPoolExecutor

from common import BIN, DATA, WORK, markdown, run_measured, wikitext2_text, write_results


def finetune(model, out, seed: int, rows: int) -> float:
    run_measured(
        [
            BIN / "bertcli",
            "finetune",
            "cls",
            "--recipe",
            "sst2",
            "--model",
            model,
            "--train-file",
            DATA / "sst2" / "train.tsv",
            "--validation-file",
            DATA / "sst2" / "dev.tsv",
            "--max-train-samples",
            rows,
            "--epochs",
            "3",
            "--batch-size",
            "32",
            "--lr",
            "1e-4",
            "--warmup-ratio",
            "0.1",
            "--max-seq-length",
            "64",
            "--save-steps",
            "0",
            "--seed",
            seed,
            "--output-dir",
            out,
            "--overwrite-output-dir",
        ],
        log=out.with_suffix(".log"),
    )
    return json.loads((out / "metrics.json").read_text())["accuracy"]


def read_sst2(name: str, rows: int | None = None) -> tuple[list[str], list[int]]:
    with open(DATA / "sst2" / name, encoding="utf-8", newline="") as f:
        table = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[:rows]
    return [r["sentence"] for r in table], [int(r["label"]) for r in table]


def probes(model_dir, rows: int) -> dict:
    """Dev accuracy of logistic regressions on the encoder's frozen [CLS] and mean-pooled last hidden states."""
    import torch
    import transformers
    from transformers import AutoTokenizer, BertModel

    transformers.logging.set_verbosity_error()  # no load report for the heads BertModel leaves out
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer, encoder = (
        AutoTokenizer.from_pretrained(model_dir),
        BertModel.from_pretrained(model_dir).eval().to(device),
    )

    def features(texts):
        cls, mean = [], []
        with torch.inference_mode():
            for i in range(0, len(texts), 128):
                batch = tokenizer(
                    texts[i : i + 128], padding=True, truncation=True, max_length=128, return_tensors="pt"
                ).to(device)
                hidden = encoder(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).float()
                cls.append(hidden[:, 0].cpu())
                mean.append(((hidden * mask).sum(1) / mask.sum(1)).cpu())
        return {"cls": torch.cat(cls), "mean": torch.cat(mean)}

    (train_x, train_y), (dev_x, dev_y) = read_sst2("train.tsv", rows), read_sst2("dev.tsv")
    train, dev = features(train_x), features(dev_x)
    return {
        kind: logistic_probe(train[kind], torch.tensor(train_y), dev[kind], torch.tensor(dev_y))
        for kind in ("cls", "mean")
    }


def logistic_probe(x, y, x_dev, y_dev) -> float:
    """Dev accuracy of an L2-regularised logistic regression (L-BFGS) on standardised features."""
    import torch

    mean, std = x.mean(0), x.std(0) + 1e-6
    x, x_dev = (x - mean) / std, (x_dev - mean) / std
    weight = torch.zeros(x.shape[1], 2, requires_grad=True)
    bias = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=500)

    def loss():
        optimizer.zero_grad()
        value = torch.nn.functional.cross_entropy(x @ weight + bias, y) + 1e-3 * weight.square().sum()
        value.backward()
        return value

    optimizer.step(loss)
    return ((x_dev @ weight + bias).argmax(1) == y_dev).float().mean().item()


def pretrain(init, corpus, out, args) -> dict:
    measured = run_measured(
        [
            BIN / "bertcli",
            "pretrain",
            "--model",
            init,
            "--train-file",
            corpus,
            "--output-dir",
            out,
            "--max-steps",
            args.steps,
            "--batch-size",
            args.batch_size,
            "--lr",
            args.lr,
            "--warmup-ratio",
            "0.06",
            "--max-seq-length",
            args.seq_length,
            "--eval-steps",
            args.steps,
            "--save-steps",
            "0",
            "--overwrite-output-dir",
            *shlex.split(args.pretrain_flags),
        ],
        log=out.with_suffix(".log"),
    )
    return {**measured, **json.loads((out / "metrics.json").read_text())}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seq-length", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--rows", type=int, default=8000, help="SST-2 training rows for fine-tuning and probes")
    parser.add_argument(
        "--pretrain-flags", default="", help='more flags for bertcli pretrain: "--mixed-precision bf16"'
    )
    parser.add_argument(
        "--with-sst2-text",
        action="store_true",
        help="also pre-train a model on WikiText-2 plus the SST-2 training sentences (unlabelled)",
    )
    parser.add_argument(
        "--parallel", type=int, default=1, help="fine-tuning runs at a time (a GPU has room for several)"
    )
    parser.add_argument("--name", default="pretraining_gain", help="results file name in bench/results/")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    work = WORK / "gain"
    work.mkdir(parents=True, exist_ok=True)
    wikitext = wikitext2_text()
    corpus = work / "wikitext2.txt"
    corpus.write_text(wikitext, encoding="utf-8")
    init, pretrained = work / "mini-init", work / "mini-pretrained"
    run_measured(
        [
            BIN / "bertcli",
            "init-model",
            init,
            "--size",
            "mini",
            "--corpus",
            corpus,
            "--vocab-size",
            "8000",
            "--overwrite-output-dir",
        ]
    )
    starts = {"random init": init, "pre-trained": pretrained}
    results = {"args": vars(args), "pretraining": {"pre-trained": pretrain(init, corpus, pretrained, args)}}
    if args.with_sst2_text:
        # Each training sentence its own document (a WikiText-style heading line starts one), dev sentences left out
        sentences = read_sst2("train.tsv")[0]
        mixed = work / "wikitext2-sst2.txt"
        mixed.write_text(wikitext + "".join(f" = review = \n {s}\n" for s in sentences), encoding="utf-8")
        starts["pre-trained + SST-2 text"] = work / "mini-pretrained-sst2"
        results["pretraining"]["pre-trained + SST-2 text"] = pretrain(
            init, mixed, starts["pre-trained + SST-2 text"], args
        )
    with ThreadPoolExecutor(args.parallel) as pool:
        runs = {
            (name, seed): pool.submit(finetune, start, work / f"sst2-{start.name}-s{seed}", seed, args.rows)
            for name, start in starts.items()
            for seed in args.seeds
        }
        accuracies = {key: run.result() for key, run in runs.items()}
    for name, start in starts.items():
        scores = [accuracies[name, seed] for seed in args.seeds]
        results[name] = {"accuracies": scores, "mean": statistics.mean(scores), "probes": probes(start, args.rows)}
    table = markdown(
        ["starting point", "SST-2 dev accuracy per seed", "mean", "probe [CLS]", "probe mean-pooled"],
        [
            [
                name,
                " / ".join(f"{a:.3f}" for a in results[name]["accuracies"]),
                round(results[name]["mean"], 3),
                round(results[name]["probes"]["cls"], 3),
                round(results[name]["probes"]["mean"], 3),
            ]
            for name in starts
        ],
    )
    for name, p in results["pretraining"].items():
        gpu = f", peak GPU {p['peak_gpu_memory_mb']} MB" if "peak_gpu_memory_mb" in p else ""
        table += (
            f"\n\n{name}: {args.steps} steps x {args.batch_size} x {args.seq_length} tokens, "
            f"{p['train_tokens_per_second']} tokens/s, held-out MLM accuracy {p['mlm_accuracy']:.3f}, "
            f"NSP accuracy {p['nsp_accuracy']:.3f}, peak {p['peak_mb']:.0f} MB{gpu}, {p['seconds']:.0f} s"
        )
    write_results(args.name, results, table + "\n")


if __name__ == "__main__":
    main()
