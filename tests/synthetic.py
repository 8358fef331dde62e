"""Small learnable data sets the tests write: the label follows from words in the text."""

from __future__ import annotations

import csv
import random
from pathlib import Path

POSITIVE = ["good", "great", "excellent", "wonderful", "superb", "lovely"]
NEGATIVE = ["bad", "awful", "terrible", "boring", "dull", "poor"]
FILLER = [
    "the",
    "movie",
    "film",
    "plot",
    "acting",
    "story",
    "was",
    "is",
    "really",
    "quite",
    "very",
    "and",
    "a",
    "with",
    "of",
    "cast",
    "script",
    "ending",
    "music",
    "scenes",
    "it",
    "felt",
    "seemed",
    "overall",
]


# Reviews for a classifier of the sentiment task, with the labels it should give them.
MIXED = [  # lengths from 2 to ~40 tokens, so length sorting reorders them
    "the acting was really wonderful",
    "awful",
    "overall it felt quite dull and the music and the cast and the script and the ending and the scenes "
    "and the story seemed very poor",
    "superb",
    "the plot was boring",
    "a lovely film with a great cast",
]
MIXED_LABELS = ["positive", "negative", "negative", "positive", "negative", "positive"]


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


def multi_label(n: int, seed: int) -> list[dict]:
    """{"sentence", "labels"}: a positive word, a negative word, both or neither, and the labels saying which."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        labels = [["negative"], ["positive"], ["negative", "positive"], []][i % 4]
        words = _filler(rng, rng.randint(3, 10))
        for label in labels:
            words.insert(rng.randint(0, len(words)), rng.choice(POSITIVE if label == "positive" else NEGATIVE))
        rows.append({"sentence": " ".join(words), "labels": labels})
    rng.shuffle(rows)
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


NAMES = ["anna", "boris", "clara", "dmitri", "elena", "felix", "greta", "hugo", "irene", "jonas", "karla", "lukas"]
CITIES = ["paris", "oslo", "lima", "cairo", "delhi", "tokyo", "quito", "rome", "seoul", "dakar", "hanoi", "perth"]


def qa(n: int, seed: int, unanswerable: float = 0.0) -> list[dict]:
    """SQuAD-style records: filler sentences (some naming other people, "boris went home once") around one
    fact "NAME lives in CITY"; the question asks where NAME lives. Long contexts span several windows at a
    short --max-seq-length. With `unanswerable`, that share of contexts states no fact: 'no answer'."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        person = rng.choice(NAMES)
        city = rng.choice(CITIES)
        parts = [" ".join(_filler(rng, rng.randint(2, 8))) + " ." for _ in range(rng.randint(1, 6))]
        parts += [
            f"the film was shot in {rng.choice(['summer', 'winter', 'spring'])} .",
            f"{rng.choice(NAMES)} went home once .",
        ]
        answerable = rng.random() >= unanswerable
        if answerable:
            parts.append(f"{person} lives in {city} .")
        rng.shuffle(parts)
        context = " ".join(parts)
        answers = {"text": [], "answer_start": []}
        if answerable:
            answers = {
                "text": [city],
                "answer_start": [context.index(f"{person} lives in ") + len(f"{person} lives in ")],
            }
        rows.append(
            {"id": f"q{seed}-{i}", "question": f"where does {person} live ?", "context": context, "answers": answers}
        )
    return rows


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    import json

    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_squad_json(path: Path, rows: list[dict], version: str = "1.1") -> Path:
    """The official nested form: one article, one paragraph per record."""
    import json

    paragraphs = [
        {
            "context": r["context"],
            "qas": [
                {
                    "id": r["id"],
                    "question": r["question"],
                    "answers": [
                        {"text": t, "answer_start": s}
                        for t, s in zip(r["answers"]["text"], r["answers"]["answer_start"])
                    ],
                    **({"is_impossible": not r["answers"]["text"]} if version != "1.1" else {}),
                }
            ],
        }
        for r in rows
    ]
    path.write_text(json.dumps({"version": version, "data": [{"title": "synthetic", "paragraphs": paragraphs}]}))
    return path


TOPICS = [
    ["ship", "sail", "harbour", "captain", "wave", "anchor", "deck", "crew", "storm", "port"],
    ["oven", "bread", "flour", "baker", "dough", "crust", "yeast", "loaf", "butter", "sugar"],
    ["planet", "orbit", "star", "comet", "rocket", "moon", "galaxy", "launch", "crater", "telescope"],
    ["violin", "piano", "melody", "choir", "concert", "rhythm", "chord", "singer", "drum", "opera"],
]


def corpus(n_documents: int, seed: int) -> str:
    """Documents (a blank line between them) of sentences about one topic each: masked words are guessable
    from the topic of their sentence, and a true next sentence shares the topic of the one before."""
    rng = random.Random(seed)
    documents = []
    for d in range(n_documents):
        topic = TOPICS[d % len(TOPICS)]
        sentences = []
        for _ in range(rng.randint(8, 14)):
            words = [rng.choice(topic) for _ in range(rng.randint(3, 6))] + _filler(rng, rng.randint(1, 3))
            rng.shuffle(words)
            sentences.append(" ".join(words) + " .")
        documents.append("\n".join(sentences))
    return "\n\n".join(documents) + "\n"


PEOPLE = [["john", "smith"], ["mary", "jones"], ["anna"], ["peter", "van", "dyke"], ["li", "wei"]]
PLACES = [["paris"], ["new", "york"], ["berlin"], ["rio", "de", "janeiro"], ["kyoto"]]
COMPANIES = [["acme", "corp"], ["globex"], ["initech"], ["umbrella", "group"]]
ENTITY_WORDS = {"PER": PEOPLE, "LOC": PLACES, "ORG": COMPANIES}


def ner(n: int, seed: int, scheme: str = "BIO") -> list[dict]:
    """{"tokens", "tags"}: filler words around one to three entities drawn from small lists of names, tagged in
    BIO or BIOES; an entity word is recognisable by itself, so a tiny model learns the task."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        tokens, tags = _filler(rng, rng.randint(1, 4)), []
        tags = ["O"] * len(tokens)
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(sorted(ENTITY_WORDS))
            words = rng.choice(ENTITY_WORDS[kind])
            if scheme == "BIOES" and len(words) == 1:
                entity_tags = [f"S-{kind}"]
            elif scheme == "BIOES":
                entity_tags = [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 2) + [f"E-{kind}"]
            else:
                entity_tags = [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
            filler = _filler(rng, rng.randint(1, 3))
            tokens += words + filler
            tags += entity_tags + ["O"] * len(filler)
        rows.append({"tokens": tokens, "tags": tags})
    return rows


def write_conll(path: Path, rows: list[dict], docstart: bool = True) -> Path:
    """CoNLL-2003's layout: `token POS chunk TAG` lines (dummy POS and chunk), blank lines between sentences."""
    lines = ["-DOCSTART- -X- -X- O", ""] if docstart else []
    for row in rows:
        lines += [f"{token} NN I-NP {tag}" for token, tag in zip(row["tokens"], row["tags"])] + [""]
    path.write_text("\n".join(lines) + "\n")
    return path
