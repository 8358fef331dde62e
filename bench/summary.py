"""The one table of current results: each paired benchmark's last run, read from bench/results/NAME.json, written to
bench/results/summary.md. A benchmark that has not run (no json) is left out; the studies (bench/studies/) are not
pairs and have their own write-up.

    python bench/summary.py
"""

import argparse
import json
import statistics

from common import RESULTS, markdown

HEADER = [
    "benchmark",
    "bertcli against",
    "speed, bertcli / reference",
    "quality, reference / bertcli",
    "peak memory, bertcli / reference",
    "run",
]


def x(ratio: float) -> str:
    return f"**{ratio:.2f}x**"


def classification(r: dict) -> list[list]:
    ours = r["bertcli"]
    return [
        [
            f"classification.py ({r['train_rows']:,} SST-2 rows)",
            against,
            x(ours["train_samples_per_second"] / ref["train_samples_per_second"]) + " train samples/s",
            f"accuracy {ref['accuracy']:.4f} / {ours['accuracy']:.4f}",
            f"{ours['peak_mb'] / ref['peak_mb']:.2f}x",
        ]
        for against, ref in (
            ("run_glue.py, padding to 128", r["reference_pad128"]),
            ("run_glue.py, dynamic padding", r["reference_dynamic"]),
        )
    ]


def question_answering(r: dict) -> list[list]:
    runs = r["runs"]

    def mean(side: str, key: str) -> float:
        return statistics.mean(run[side][key] for run in runs)

    def peak(side: str) -> float:
        return max(run[side]["peak_mb"] for run in runs)

    speed = [
        mean("bertcli", f"{k}_samples_per_second") / mean("reference", f"{k}_samples_per_second")
        for k in ("train", "eval")
    ]
    return [
        [
            f"question_answering.py ({r['train_questions']:,} / {r['eval_questions']:,} SQuAD questions, "
            f"{len(runs)} seeds)",
            "run_qa.py",
            f"{x(speed[0])} train, {speed[1]:.2f}x eval samples/s",
            f"EM {mean('reference', 'exact_match'):.2f} / {mean('bertcli', 'exact_match'):.2f}, "
            f"F1 {mean('reference', 'f1'):.2f} / {mean('bertcli', 'f1'):.2f}",
            f"{peak('bertcli') / peak('reference'):.2f}x",
        ]
    ]


def pretraining(r: dict) -> list[list]:
    ref, ours = r["reference"], r["bertcli"]
    return [
        [
            f"pretraining.py (mini BERT, {r['steps']} steps)",
            "HF Trainer + BertForPreTraining",
            x(ours["train_tokens_per_second"] / ref["train_tokens_per_second"]) + " tokens/s",
            f"MLM accuracy {ref['evaluation']['mlm_accuracy']:.4f} / {ours['evaluation']['mlm_accuracy']:.4f}",
            f"{ours['peak_mb'] / ref['peak_mb']:.2f}x",
        ]
    ]


def predict(r: dict) -> list[list]:
    rows = []
    for kind, against in (("in_process", "pipeline (batch 32), in process"), ("command", "pipeline_predict.py")):
        parts = [r[f"{kind}_{n}"] for n in (872, 4360)]
        labels = "identical labels" if all(p["identical_labels"] for p in parts) else "**labels differ**"
        memory = ", ".join(
            f"{p['bertcli_peak_mb'] / p['pipeline_peak_mb']:.2f}x" for p in parts if "bertcli_peak_mb" in p
        )
        speed = ", ".join(f"{x(p['bertcli_per_s'] / p['pipeline_per_s'])} ({p['n']:,})" for p in parts)
        rows.append([f"predict.py ({kind.replace('_', ' ')})", against, speed + " sentences/s", labels, memory or "-"])
    return rows


def embed(r: dict) -> list[list]:
    rows = []
    for kind, against in (("in_process", "sentence-transformers encode"), ("command", "st_embed.py")):
        parts = [r[f"{kind}_{n}"] for n in (872, 4360)]
        speed = ", ".join(
            f"{x(p.get('auto_per_s', p.get('bertcli_per_s')) / p['sentence_transformers_per_s'])} ({p['n']:,})"
            for p in parts
        )
        if kind == "in_process":
            speed += "; float32 " + ", ".join(
                f"{p['float32_per_s'] / p['sentence_transformers_per_s']:.2f}x" for p in parts
            )
        cosine = min(p.get("auto_min_cosine", p.get("min_cosine")) for p in parts)
        memory = ", ".join(
            f"{p['bertcli_peak_mb'] / p['sentence_transformers_peak_mb']:.2f}x" for p in parts if "bertcli_peak_mb" in p
        )
        rows.append(
            [
                f"embed.py ({kind.replace('_', ' ')})",
                against,
                speed + " sentences/s",
                f"min cosine {cosine:.6f}",
                memory or "-",
            ]
        )
    return rows


def serve(r: dict) -> list[list]:
    batched, single = r["batched"], r["batch_size_1"]
    rss = [batched["rss_mb_first_last_max"][i] for i in (0, 2)]
    return [
        [
            f"serve.py (hey, {r['clients']} clients, {r['seconds']} s)",
            "the same server at --max-batch-size 1",
            f"{x(r['throughput_ratio'])} requests/s ({batched['requests_per_s']:.0f} / {single['requests_per_s']:.0f})",
            ("labels equal predict's" if r["good_answers_equal_predict"] else "**labels differ from predict's**")
            + f"; p50 {single['p50_ms']:.0f} / {batched['p50_ms']:.0f} ms",
            f"RSS {rss[0]:.0f} MB at the start, {rss[1]:.0f} at most",
        ]
    ]


def startup(r: dict) -> list[list]:
    refuse = r["median_s"]["refuse --lr -1"]
    return [
        [
            "startup.py (refusing --lr -1)",
            "a whole one-step run",
            f"{refuse:.2f} s, {r['refusal_vs_run']:.2f}x of the run's time",
            "-",
            "-",
        ]
    ]


def token_classification(r: dict) -> list[list]:
    rows = []
    for name, metric, label in (("pos", "accuracy", "Brown POS, MiniLM"), ("msra", "F1", "MSRA NER, char mini BERT")):
        ref, ours = r[name]["reference"], r[name]["bertcli"]
        rows.append(
            [
                f"token_classification.py ({label})",
                "run_ner.py",
                x(r[name]["speedup"]) + " training speed (time over the same sentences)",
                f"{metric} {ref[metric.lower()]:.4f} / {ours[metric.lower()]:.4f}",
                f"{ours['peak_mb'] / ref['peak_mb']:.2f}x",
            ]
        )
    return rows


def gpu(r: dict) -> list[list]:
    eager, compiled, trainer = r["bertcli"], r["bertcli --compile"], r["HF Trainer"]
    return [
        [
            f"gpu.py (BERT-base pre-training, bf16, {r['args']['steps']} steps)",
            "HF Trainer (reference_pretrain.py --bf16)",
            x(eager["train_samples_per_second"] / trainer["train_samples_per_second"]) + " sequences/s, whole run; "
            f"--compile steady {compiled['steady_sequences_per_second']:,.0f} sequences/s, MFU {compiled['mfu']:.1%}",
            "-",
            f"peak GPU {eager['peak_gpu_memory_mb']:,} MB",
        ]
    ]


PAIRED = {  # results name -> its rows; in the order of bench/README.md
    "classification": classification,
    "question_answering": question_answering,
    "question_answering_2000": question_answering,
    "pretraining": pretraining,
    "predict": predict,
    "embed": embed,
    "serve": serve,
    "startup": startup,
    "token_classification": token_classification,
    "gpu": gpu,
}


def run_of(r: dict) -> str:
    machine = r.get("machine", {})
    where = (
        machine.get("device", "?") if machine.get("device") != "cpu" else f"CPU, {machine.get('cpu_threads')} threads"
    )
    return f"{r.get('date', '?')[:10]}, {where}"


def parse_args(argv=None) -> argparse.Namespace:
    return argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)


def main(argv=None) -> None:
    parse_args(argv)
    rows = []
    for name, rows_of in PAIRED.items():
        path = RESULTS / f"{name}.json"
        if path.is_file():
            r = json.loads(path.read_text())
            rows += [[*row, run_of(r)] for row in rows_of(r)]
    text = (
        "# Benchmark results\n\nEach paired benchmark's last run (`python bench/summary.py` writes this from "
        "`bench/results/*.json`;\nthe figures of each run are in its own `NAME.json` and `NAME.md`). Ratios are "
        "bertcli over the reference:\nabove 1 is faster, below 1 uses less memory.\n\n" + markdown(HEADER, rows) + "\n"
    )
    (RESULTS / "summary.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
