"""Small learnable data sets the tests write: the label follows from words in the text."""

from __future__ import annotations

import csv
import random
from pathlib import Path

POSITIVE = ["good", "great", "excellent", "wonderful", "superb", "lovely"]
NEGATIVE = ["bad", "awful", "terrible", "boring", "dull", "poor"]
FILLER = ["the", "movie", "film", "plot", "acting", "story", "was", "is", "really", "quite", "very", "and",
          "a", "with", "of", "cast", "script", "ending", "music", "scenes", "it", "felt", "seemed", "overall"]


def _filler(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(FILLER) for _ in range(n)]


def sentiment(n: int, seed: int, label_names=("negative", "positive")) -> list[tuple[str, str]]:
    """(sentence, label): a few filler words around one positive or one negative word."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        words = _filler(rng, rng.randint(3, 12))
        words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label else NEGATIVE))
        rows.append((" ".join(words), label_names[label]))
    rng.shuffle(rows)
    return rows


def sentiment_pairs(n: int, seed: int) -> list[tuple[str, str, int]]:
    """(first, second, label): only the second sentence carries the sentiment word."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = i % 2
        first = " ".join(_filler(rng, rng.randint(2, 6)) + [rng.choice(POSITIVE + NEGATIVE)])
        second = _filler(rng, rng.randint(2, 6))
        second.insert(rng.randint(0, len(second)), rng.choice(POSITIVE if label else NEGATIVE))
        rows.append((first, " ".join(second), label))
    return rows


def score(n: int, seed: int) -> list[tuple[str, float]]:
    """(sentence, score): the score is the number of positive words minus the number of negative ones."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        pos, neg = rng.randint(0, 2), rng.randint(0, 2)
        words = _filler(rng, rng.randint(2, 6)) + rng.sample(POSITIVE, pos) + rng.sample(NEGATIVE, neg)
        rng.shuffle(words)
        rows.append((" ".join(words), float(pos - neg)))
    return rows


def write_csv(path: Path, rows, header) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path
