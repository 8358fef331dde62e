"""Start-up: how long `bertcli` takes to refuse a bad value, against a whole one-step training run.

A mistake on the command line (`--lr -1`) should be refused at once, not after torch, transformers and datasets
have loaded. Both commands run on a tiny BERT made here (`init-model --size tiny`) and the bundled demo data;
each is timed as a whole process, median of `--repeats` alternating runs. Also timed: `bertcli --version`
(Python and the CLI alone) and `python -c "import torch"` (the floor of any command that computes).

    python bench/startup.py                      # results in bench/results/startup.{json,md}
    python bench/startup.py --name startup_before
"""

import argparse
import statistics
import subprocess
import sys
import time

from common import BIN, ENV, ROOT, WORK, markdown, write_results

DEMO = ROOT / "demo" / "data"


def timed(command: list, expect: int) -> float:
    start = time.perf_counter()
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, env=ENV, cwd=ROOT)
    seconds = time.perf_counter() - start
    if done.returncode != expect:
        raise RuntimeError(
            f"{' '.join(map(str, command))} exited {done.returncode}, not {expect}:\n{done.stderr[-2000:]}"
        )
    return seconds


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--name", default="startup", help="results file name under bench/results/")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    model = WORK / "startup-tiny"
    if not (model / "config.json").is_file():
        timed(
            [
                BIN / "bertcli",
                "init-model",
                model,
                "--size",
                "tiny",
                "--corpus",
                DEMO / "corpus.txt",
                "--vocab-size",
                "2000",
                "--overwrite-output-dir",
            ],
            0,
        )
    finetune = [
        BIN / "bertcli",
        "finetune",
        "cls",
        "--model",
        model,
        "--train-file",
        DEMO / "train.csv",
        "--validation-file",
        DEMO / "validation.csv",
        "--text-column",
        "sentence",
        "--max-eval-samples",
        "32",
        "--max-seq-length",
        "32",
    ]
    commands = {
        "refuse --lr -1": ([*finetune, "--output-dir", WORK / "startup-refused", "--lr", "-1"], 2),
        "one-step run": (
            [*finetune, "--output-dir", WORK / "startup-run", "--overwrite-output-dir", "--max-steps", "1"],
            0,
        ),
        "bertcli --version": ([BIN / "bertcli", "--version"], 0),
        "python -c 'import torch'": ([sys.executable, "-c", "import torch"], 0),
    }
    times = {name: [] for name in commands}
    timed(*commands["one-step run"])  # warm the data and tokenization caches
    for _ in range(args.repeats):  # alternating, so that a busy spell of the shared machine hits every command
        for name, (command, expect) in commands.items():
            times[name].append(timed(command, expect))
    median = {name: statistics.median(t) for name, t in times.items()}
    ratio = median["refuse --lr -1"] / median["one-step run"]
    rows = [[name, round(median[name], 2), f"{median[name] / median['one-step run']:.2f}x"] for name in commands]
    table = (
        f"Start-up (median of {args.repeats}): refusing a bad value takes {ratio:.2f}x the time of a whole "
        "one-step tiny run\n\n" + markdown(["command", "seconds", "of the one-step run"], rows)
    )
    write_results(args.name, {"median_s": median, "all_s": times, "refusal_vs_run": ratio}, table)


if __name__ == "__main__":
    main()
