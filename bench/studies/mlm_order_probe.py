"""Which pre-training recipe makes a small BERT from scratch read word order soonest? A two-minute stand-in for the
hour-long IMDB runs of pretraining_gain.py, which stay on the unigram plateau (they learn which words go together,
not their order: mlm_context.py).

The corpus is made so that only order helps: 120 made-up words (three syllables each, so WordPiece splits them
into pieces), a fixed random successor for each, sentences that follow the successor chain from a random word.
A masked piece is then certain from its neighbours, and nearly a guess from the sentence's bag of words (the
chain's words all co-occur). Each recipe pre-trains the same random `mini` BERT (`bertcli init-model`, 4 x 256)
with `bertcli pretrain --objective mlm` for --steps steps of 32 x 64 tokens; the table has its held-out masked-LM
accuracy every --eval-every steps.

    python bench/studies/mlm_order_probe.py            # about 10 minutes on 2 CPU cores
"""

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/: common.py, offline_data.py

from common import STUDY_RESULTS, WORK, eval_curve, markdown, mini_model, stage, write_results

RECIPES = {  # name: (init-model --position-init, bertcli pretrain flags)
    "lr 5e-4, dropout 0.1": ("random", ["--lr", "5e-4"]),
    "lr 1e-3, dropout 0.1": ("random", ["--lr", "1e-3"]),
    "lr 1e-3, dropout 0": ("random", ["--lr", "1e-3", "--dropout", "0"]),
    "lr 1e-3, dropout 0, sinusoidal positions": ("sinusoidal", ["--lr", "1e-3", "--dropout", "0"]),
}
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "bo", "du", "fe", "gi", "ha", "ju"]


def chain_corpus(documents: int, seed: int, words: int = 120) -> str:
    """Documents (a blank line between them) of sentences that walk one fixed successor chain over made-up words."""
    vocabulary = sorted({"".join(random.Random(i).choices(SYLLABLES, k=3)) for i in range(4 * words)})[:words]
    order = vocabulary[:]
    random.Random(0).shuffle(order)  # the chain is the same for every seed: train and held-out text share it
    successor = {word: order[(i + 1) % len(order)] for i, word in enumerate(order)}
    rng = random.Random(seed)

    def sentence() -> str:
        word, out = rng.choice(vocabulary), []
        for _ in range(rng.randint(7, 13)):
            out.append(word)
            word = successor[word]
        return " ".join(out) + " ."

    return "\n\n".join("\n".join(sentence() for _ in range(rng.randint(5, 10))) for _ in range(documents)) + "\n"


def chain_files() -> tuple[Path, Path, Path]:
    """(the probes' work folder, its training text, its held-out text): the chain corpus written there."""
    work = WORK / "order"
    work.mkdir(parents=True, exist_ok=True)
    train, held_out = work / "train.txt", work / "held-out.txt"
    train.write_text(chain_corpus(430, seed=1), encoding="utf-8")
    held_out.write_text(chain_corpus(30, seed=2), encoding="utf-8")
    return work, train, held_out


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(RECIPES))
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    work, train, held_out = chain_files()
    rows, results = [], {"args": vars(args), "recipes": {}}
    for name in args.recipes:
        positions, flags = RECIPES[name]
        init = mini_model(work / f"mini-{positions}", [train], 400, positions)
        slug = name.replace(", ", "-").replace(" ", "")
        stage(
            f"order/{slug}-{args.steps}",
            ["pretrain", "--model", init, "--train-file", train, "--validation-file", held_out, "--objective", "mlm",
             "--max-seq-length", "64", "--batch-size", "32", "--warmup-ratio", "0.06", "--max-steps", args.steps,
             "--eval-steps", args.eval_every, "--save-steps", "0", "--no-report", *flags],
        )  # fmt: skip
        curve = eval_curve(work / f"{slug}-{args.steps}", "eval_mlm_accuracy")
        results["recipes"][name] = curve
        rows.append([name, *(f"{curve[s]:.3f}" for s in sorted(curve))])
    steps = sorted(next(iter(results["recipes"].values())))
    table = markdown(["recipe", *(f"step {s}" for s in steps)], rows)
    table += "\n\nHeld-out masked-LM accuracy (BERT's 80/10/10 masks) of a `mini` BERT on the successor-chain corpus."
    write_results("mlm_order_probe", results, table + "\n", folder=STUDY_RESULTS)


if __name__ == "__main__":
    main()
