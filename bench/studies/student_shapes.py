"""Which student shapes are fast enough: students of each shape, with random weights (speed does not depend on
them), timed as whole `bertcli predict` commands over the SST-2 dev sentences five times against the teacher,
side by side in one run, best of 2. A whole command spends a fixed start-up (torch's import) on every model, so a
student must be several times cheaper in compute than the teacher to be 4x faster as a command.

    python bench/studies/student_shapes.py   # after distillation.py has built bench/work/sst2-teacher
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/: common.py, offline_data.py

from common import BIN, STUDY_RESULTS, WORK, markdown, run_measured, write_results
from distillation import dev_five_times

SHAPES = {  # layers, hidden, heads, feed-forward
    "4 x 256 (mini)": (4, 256, 4, 1024),
    "4 x 192": (4, 192, 3, 768),
    "3 x 192": (3, 192, 3, 768),
    "2 x 256": (2, 256, 4, 1024),
    "4 x 128": (4, 128, 2, 512),
    "2 x 384": (2, 384, 12, 1536),
    "1 x 384": (1, 384, 12, 1536),
}


def student(teacher, name: str, shape: tuple) -> str:
    """A classifier of `shape` with the teacher's vocabulary, tokenizer and labels, written under WORK/shapes/."""
    from transformers import BertConfig, BertForSequenceClassification

    out = WORK / "shapes" / name.split(" (")[0].replace(" x ", "x")
    if not (out / "config.json").is_file():
        layers, hidden, heads, inner = shape
        config = BertConfig.from_pretrained(teacher)
        config.update(
            {
                "num_hidden_layers": layers,
                "hidden_size": hidden,
                "num_attention_heads": heads,
                "intermediate_size": inner,
            }
        )
        BertForSequenceClassification(config).save_pretrained(out)
        for file in ("tokenizer.json", "tokenizer_config.json", "run.yaml"):
            shutil.copy(teacher / file, out / file)
    return out


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="student_shapes", help="results file name under bench/studies/results/")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    teacher = WORK / "sst2-teacher"
    if not (teacher / "config.json").is_file():
        sys.exit("bench: bench/work/sst2-teacher is missing: run bench/studies/distillation.py first")
    inputs, _ = dev_five_times()
    models = {"teacher (6 x 384)": teacher, **{name: student(teacher, name, s) for name, s in SHAPES.items()}}
    command = [BIN / "bertcli", "predict", "--input-file", inputs, "--text-column", "sentence"]
    out = ["--output-file", WORK / "shapes" / "predict.jsonl"]
    seconds = {
        name: min(run_measured([*command, "--model", model, *out])["seconds"] for _ in range(2))
        for name, model in models.items()
    }
    base = seconds["teacher (6 x 384)"]
    rows = [[name, s, f"{base / s:.2f}x"] for name, s in seconds.items()]
    table = "Student shapes, random weights: whole `bertcli predict` over 4,360 sentences, best of 2\n\n"
    table += markdown(["shape", "seconds", "speed-up"], rows)
    write_results(args.name, {"seconds": seconds, "python": sys.version, "shapes": SHAPES}, table, folder=STUDY_RESULTS)
    print(json.dumps(seconds))


if __name__ == "__main__":
    main()
