"""Collect the benchmark tables of bench/results/*.md into bench/results/summary.md."""

import argparse

from common import RESULTS

ORDER = [
    "classification",
    "question_answering",
    "question_answering_2000",
    "pretraining",
    "predict",
    "embed",
    "serve",
    "distillation",
    "distillation_squad",
    "token_classification",
    "chinese",
    "startup",
    "gpu",
    "pretraining_gain_gpu",
    "pretraining_gain",
    "pretraining_gain_electra_lr5e-4",
    "pretraining_gain_3000steps",
    "mlm_context",
]


def parse_args(argv=None) -> argparse.Namespace:
    return argparse.ArgumentParser(description=__doc__).parse_args(argv)


def main(argv=None) -> None:
    parse_args(argv)
    parts = [(RESULTS / f"{name}.md").read_text().strip() for name in ORDER if (RESULTS / f"{name}.md").is_file()]
    (RESULTS / "summary.md").write_text("\n\n".join(parts) + "\n")
    print("\n\n".join(parts))


if __name__ == "__main__":
    main()
