"""bertcli on a GPU: BERT-base pre-training at sequence length 128 in bf16 (sequences/s and model-FLOPs
utilisation), side by side with the HF Trainer reference, and BERT-base fine-tuning throughput on SST-2.

MFU = sequences/s x (6*N*s + 12*L*s^2*d) / peak, N the model's parameters (embeddings included), s = 128,
L layers, d hidden size; peak the GPU's dense bf16 rate from its datasheet (--peak-tflops; 989 for an H100 or
H200 SXM). An 8192^3 bf16 matrix product is timed too, as the rate this card reaches in practice.
Speeds are steady-state: the median of the logged 10-step windows after the first three (start-up, compiling).
The model is random (`init-model --size base`, a tokenizer trained on WikiText-2): speed does not depend on
the weights.

    python bench/gpu.py [--steps 150] [--batch-size 256] [--peak-tflops 989] [--skip-reference]
"""

import argparse
import json
import statistics
import sys

from common import BIN, DATA, REFERENCES, WORK, markdown, run_measured, wikitext2_text, write_results


def steady_rate(out_dir, skip: int = 3) -> float:
    windows = [json.loads(line) for line in (out_dir / "log.jsonl").read_text().splitlines()]
    rates = [w["samples_per_second"] for w in windows if "samples_per_second" in w]
    return statistics.median(rates[skip:] or rates)


def matmul_tflops() -> float:
    import torch

    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(10):
        a @ b
    end.record()
    torch.cuda.synchronize()
    return 10 * 2 * 8192**3 / (start.elapsed_time(end) / 1000) / 1e12


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak (H100/H200 SXM: 989)")
    parser.add_argument("--finetune-rows", type=int, default=20000)
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--skip-compile", action="store_true")
    parser.add_argument("--size", default="base", help="init-model size; a smaller one runs on the CPU (a smoke test)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch

    if not torch.cuda.is_available() and args.size == "base":
        sys.exit("bench/gpu.py needs a GPU (or --size tiny for a smoke test on the CPU)")
    work = WORK / "gpu"
    work.mkdir(parents=True, exist_ok=True)
    # Pre-training reads the text eight times over, about one pass of 150 x 256 instances (few epoch ends)
    text = wikitext2_text()
    corpus, once = work / "wikitext2x8.txt", work / "wikitext2.txt"
    corpus.write_text(text * 8, encoding="utf-8")
    once.write_text(text, encoding="utf-8")
    base = work / "base-init"
    run_measured(
        [
            BIN / "bertcli",
            "init-model",
            base,
            "--size",
            args.size,
            "--corpus",
            once,
            "--vocab-size",
            "30522",
            "--overwrite-output-dir",
        ],
        log=work / "init.log",
    )
    config = json.loads((base / "config.json").read_text())
    from transformers import BertForPreTraining

    n_params = sum(p.numel() for p in BertForPreTraining.from_pretrained(base).parameters())  # tied decoder once
    seq, layers, hidden = 128, config["num_hidden_layers"], config["hidden_size"]
    flops_per_sequence = 6 * n_params * seq + 12 * layers * seq**2 * hidden
    results = {
        "args": vars(args),
        "n_params": n_params,
        "flops_per_sequence": flops_per_sequence,
        "matmul_tflops": round(matmul_tflops(), 1) if torch.cuda.is_available() else None,
    }

    def mfu(rate: float) -> float:
        return rate * flops_per_sequence / (args.peak_tflops * 1e12)

    common = [
        "--max-steps",
        args.steps,
        "--batch-size",
        args.batch_size,
        "--max-seq-length",
        seq,
        "--lr",
        "1e-4",
        "--warmup-ratio",
        "0.05",
    ]
    runs = [("bertcli", []), *([] if args.skip_compile else [("bertcli --compile", ["--compile"])])]
    for name, flags in runs:
        out = work / ("pretrain-" + name.replace(" --", "-"))
        measured = run_measured(
            [
                BIN / "bertcli",
                "pretrain",
                "--model",
                base,
                "--train-file",
                corpus,
                "--output-dir",
                out,
                "--overwrite-output-dir",
                "--save-steps",
                "0",
                "--mixed-precision",
                "bf16",
                "--short-seq-prob",
                "0",
                "--no-group-by-length",
                "--logging-steps",
                "10",
                "--eval-steps",
                args.steps,
                "--max-eval-samples",
                "1024",
                "--preprocessing-workers",
                "8",
                *common,
                *flags,
            ],
            log=out.with_suffix(".log"),
        )
        metrics = json.loads((out / "metrics.json").read_text())
        rate = steady_rate(out)
        results[name] = {**measured, **metrics, "steady_sequences_per_second": rate, "mfu": mfu(rate)}
        print(name, json.dumps(results[name]), flush=True)
    if not args.skip_reference:
        out = work / "pretrain-reference"
        log = out.with_suffix(".log")
        measured = run_measured(
            [
                sys.executable,
                REFERENCES / "reference_pretrain.py",
                "--model",
                base,
                "--train-file",
                corpus,
                "--output-dir",
                out,
                "--bf16",
                "--short-seq-prob",
                "0",
                *common,
            ],
            log=log,
        )
        reference = {**json.loads(log.read_text().strip().splitlines()[-1]), **measured}
        reference["mfu_whole_run"] = mfu(reference["train_samples_per_second"])
        results["HF Trainer"] = reference
        print("reference", json.dumps(reference), flush=True)

    out = work / "finetune-sst2"
    measured = run_measured(
        [
            BIN / "bertcli",
            "finetune",
            "cls",
            "--recipe",
            "sst2",
            "--model",
            base,
            "--train-file",
            DATA / "sst2" / "train.tsv",
            "--validation-file",
            DATA / "sst2" / "dev.tsv",
            "--max-train-samples",
            args.finetune_rows,
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--max-seq-length",
            "128",
            "--mixed-precision",
            "bf16",
            "--save-steps",
            "0",
            "--logging-steps",
            "10",
            "--output-dir",
            out,
            "--overwrite-output-dir",
        ],
        log=out.with_suffix(".log"),
    )
    metrics = json.loads((out / "metrics.json").read_text())
    results["finetune"] = {**measured, **metrics, "steady_samples_per_second": steady_rate(out)}
    print("finetune", json.dumps(results["finetune"]), flush=True)

    rows = []
    for name in [n for n, _ in runs] + ([] if args.skip_reference else ["HF Trainer"]):
        r = results[name]
        rows.append(
            [
                f"pre-training, {name}",
                r["train_samples_per_second"],
                r.get("steady_sequences_per_second", ""),
                f"{r['mfu']:.1%}" if "mfu" in r else "",
                r.get("peak_gpu_memory_mb", ""),
            ]
        )
    f = results["finetune"]
    rows.append(
        [
            "fine-tuning SST-2 (dynamic padding, batch 32)",
            f["train_samples_per_second"],
            f["steady_samples_per_second"],
            "",
            f.get("peak_gpu_memory_mb", ""),
        ]
    )
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
    table = markdown(
        [
            f"BERT-{args.size} ({n_params / 1e6:.1f}M), bf16, {device}",
            "sequences/s (whole run)",
            "sequences/s (steady)",
            "MFU (steady)",
            "peak GPU MB",
        ],
        rows,
    )
    table += (
        f"\n\nPre-training: batch {args.batch_size} x {seq} tokens, {args.steps} steps; MFU over a "
        f"{args.peak_tflops:g} TFLOP/s dense bf16 peak; an 8192^3 bf16 matrix product ran at "
        f"{results['matmul_tflops']} TFLOP/s here. Fine-tuning: {args.finetune_rows} SST-2 rows, 1 epoch.\n"
    )
    write_results("gpu", results, table)


if __name__ == "__main__":
    main()
