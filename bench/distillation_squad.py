"""Distillation for question answering: a 3-layer student of a MiniLM SQuAD teacher, against the teacher, over seeds.

The teacher is all-MiniLM-L6-v2 fine-tuned on the 3,807 questions of train-v1.1-first11articles.json (2 epochs,
384/128 windows); the students keep the teacher's layers 0, 2 and 4 and are distilled on the same questions (soft
start and end targets at T=2, alpha 0.5, hidden-state cosine), one run per seed. All are evaluated on the first
1,000 questions of dev-v1.1.json. Students may train longer than the teacher (--student-epochs; distillation
usually does, as DistilBERT and TinyBERT did). Stages are kept under bench/work/ and reused by a rerun.

    python bench/distillation_squad.py [--seeds 42 43] [--epochs 2] [--student-epochs 3]
    # results in bench/results/distillation_squad.*
"""

import argparse

from common import DATA, WORK, markdown, minilm, stage, write_results

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


def main(argv=None) -> None:
    args = parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    teacher = stage(
        "squad-teacher",
        ["finetune", "squad", "--model", minilm(), *SQUAD, "--epochs", str(args.epochs), "--lr", "5e-5",
         "--warmup-ratio", "0.1"],
    )  # fmt: skip
    students = {
        seed: stage(
            f"distill-squad-3layers-{seed}-{args.student_epochs:g}epochs",
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
        for seed in args.seeds
    }
    mean_f1 = sum(s["f1"] for s in students.values()) / len(students)
    mean_em = sum(s["exact_match"] for s in students.values()) / len(students)
    rows = [
        [
            "teacher (MiniLM, 6 x 384)",
            round(teacher["exact_match"], 2),
            round(teacher["f1"], 2),
            "100%",
            round(teacher["eval_samples_per_second"], 1),
        ]
    ]
    rows += [
        [
            f"3 layers, distilled, seed {seed}",
            round(s["exact_match"], 2),
            round(s["f1"], 2),
            f"{100 * s['f1'] / teacher['f1']:.1f}%",
            round(s["eval_samples_per_second"], 1),
        ]
        for seed, s in students.items()
    ]
    rows.append(["3 layers, mean", round(mean_em, 2), round(mean_f1, 2), f"{100 * mean_f1 / teacher['f1']:.1f}%", ""])
    table = (
        "Question answering distillation (SQuAD v1.1: 3,807 training questions, the first 1,000 dev questions; "
        f"teacher {args.epochs:g} epochs, students {args.student_epochs:g})\n\n"
    )
    table += markdown(["model", "EM", "F1", "F1 of the teacher's", "eval windows/s"], rows)
    write_results(
        "distillation_squad",
        {"teacher": teacher, "students": students, "mean_f1": mean_f1, "retained_f1": mean_f1 / teacher["f1"]},
        table,
    )


if __name__ == "__main__":
    main()
