"""Distillation for question answering: a 3-layer student of a MiniLM SQuAD teacher, against the teacher, over seeds.

The teacher is all-MiniLM-L6-v2 fine-tuned on the 3,807 questions of train-v1.1-first11articles.json (2 epochs,
384/128 windows); the students keep the teacher's layers 0, 2 and 4 and are distilled on the same questions (soft
start and end targets at T=2, alpha 0.5, hidden-state cosine), one run per seed. All are evaluated on the first
1,000 questions of dev-v1.1.json; their speed is that of whole `bertcli evaluate` commands over those questions,
teacher and students taking turns in one run, best of 2. Students may train longer than the teacher
(--student-epochs; distillation usually does, as DistilBERT and TinyBERT did). Stages are kept under bench/work/
and reused by a rerun.

    python bench/studies/distillation_squad.py [--seeds 42 43] [--epochs 2] [--student-epochs 3]
    # results in bench/studies/results/distillation_squad.*
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/: common.py, offline_data.py

from common import BIN, DATA, STUDY_RESULTS, WORK, markdown, minilm, run_measured, stage, write_results

SQUAD = [
    "--train-file",
    DATA / "squad" / "train-v1.1-first11articles.json",
    "--validation-file",
    DATA / "squad" / "dev-v1.1.json",
    "--max-eval-samples",
    "1000",
    "--max-seq-length",
    "384",
    "--doc-stride",
    "128",
    "--batch-size",
    "16",
    "--save-steps",
    "200",
    "--logging-steps",
    "50",
    "--no-report",
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43])
    parser.add_argument("--epochs", type=float, default=2.0, help="the teacher's epochs")
    parser.add_argument("--student-epochs", type=float, default=3.0)
    return parser.parse_args(argv)


def evaluate_seconds(models: dict, rounds: int = 2) -> dict:
    """Wall seconds of a whole `bertcli evaluate` on the first 1,000 dev questions, for each model: the best of
    `rounds`, the models taking turns so that the machine's drift touches each alike."""
    best = dict.fromkeys(models, float("inf"))
    for _ in range(rounds):
        for name, model in models.items():
            command = [BIN / "bertcli", "evaluate", "--model", model, "--max-eval-samples", "1000"]
            best[name] = min(best[name], run_measured(command)["seconds"])
    return best


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    teacher = stage(
        "squad-teacher",
        ["finetune", "squad", "--model", minilm(), *SQUAD, "--epochs", str(args.epochs), "--lr", "5e-5",
         "--warmup-ratio", "0.1"],
    )  # fmt: skip
    student_dirs = {seed: f"distill-squad-3layers-{seed}-{args.student_epochs:g}epochs" for seed in args.seeds}
    students = {
        seed: stage(
            name,
            [
                "distill",
                "squad",
                "--teacher",
                WORK / "squad-teacher",
                *SQUAD,
                "--epochs",
                str(args.student_epochs),
                "--student-layers",
                "0,2,4",
                "--lr",
                "1e-4",
                "--warmup-ratio",
                "0.1",
                "--seed",
                str(seed),
            ],
        )
        for seed, name in student_dirs.items()
    }
    seconds = evaluate_seconds({"teacher": WORK / "squad-teacher"} | {s: WORK / n for s, n in student_dirs.items()})
    mean_f1 = sum(s["f1"] for s in students.values()) / len(students)
    mean_em = sum(s["exact_match"] for s in students.values()) / len(students)

    def row(name, em, f1, key=None):
        speed = [seconds[key], f"{seconds['teacher'] / seconds[key]:.2f}x"] if key is not None else ["", ""]
        return [name, round(em, 2), round(f1, 2), f"{100 * f1 / teacher['f1']:.1f}%", *speed]

    rows = [row("teacher (MiniLM, 6 x 384)", teacher["exact_match"], teacher["f1"], "teacher")]
    rows += [row(f"3 layers, distilled, seed {seed}", s["exact_match"], s["f1"], seed) for seed, s in students.items()]
    rows.append(row("3 layers, mean", mean_em, mean_f1))
    table = (
        "Question answering distillation (SQuAD v1.1: 3,807 training questions, the first 1,000 dev questions; "
        f"teacher {args.epochs:g} epochs, students {args.student_epochs:g}; speed as whole `bertcli evaluate` "
        "commands on those questions, side by side, best of 2)\n\n"
    )
    table += markdown(["model", "EM", "F1", "F1 of the teacher's", "evaluate s", "speed-up"], rows)
    write_results(
        "distillation_squad",
        {"teacher": teacher, "students": students, "evaluate_seconds": seconds, "mean_f1": mean_f1,
         "retained_f1": mean_f1 / teacher["f1"]},
        table, folder=STUDY_RESULTS)  # fmt: skip


if __name__ == "__main__":
    main()
