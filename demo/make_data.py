"""Write the demo's small, bundled data set: movie-review sentences with a sentiment label.

The sentences come from templates, so the data can ship with the project under its own licence and the
demo runs offline. Deterministic: running it again writes the same files.

    python demo/make_data.py        # writes demo/data/{train,validation}.csv, corpus.txt and pretrain.txt
"""

import csv
import random
from pathlib import Path

POSITIVE = [
    "good",
    "great",
    "excellent",
    "wonderful",
    "superb",
    "delightful",
    "brilliant",
    "charming",
    "moving",
    "funny",
    "gripping",
    "beautiful",
    "clever",
    "memorable",
    "fresh",
    "touching",
]
NEGATIVE = [
    "bad",
    "awful",
    "terrible",
    "boring",
    "dull",
    "poor",
    "dreadful",
    "tedious",
    "clumsy",
    "bland",
    "forgettable",
    "messy",
    "lifeless",
    "predictable",
    "weak",
    "annoying",
]
SUBJECTS = [
    "the movie",
    "the film",
    "the plot",
    "the acting",
    "the story",
    "the script",
    "the ending",
    "the soundtrack",
    "the cast",
    "the dialogue",
    "this picture",
    "the direction",
    "the pacing",
    "the lead performance",
    "the second half",
    "the opening scene",
    "the cinematography",
]
VERBS = ["was", "is", "felt", "seemed", "turned out", "looked", "remains", "proved"]
ADVERBS = ["", "", "really", "very", "quite", "truly", "rather", "surprisingly", "genuinely", "utterly"]
TAILS = [
    "",
    "",
    "",
    "from start to finish",
    "for most of its running time",
    "in every scene",
    "despite the hype",
    "as the critics said",
    "even on a second viewing",
    "for a summer release",
]
TEMPLATES = [
    "{subject} {verb} {adverb} {word} {tail}",
    "i thought {subject} {verb} {adverb} {word}",
    "honestly , {subject} {verb} {adverb} {word} {tail}",
    "{subject} {verb} {adverb} {word} , and {subject2} {verb2} {neutral}",
    "all in all a {adverb} {word} film {tail}",
    "what a {word} way to spend two hours",
]
NEUTRAL = ["long", "in english", "shot in canada", "about family", "based on a novel", "two hours long"]


NEGATED = [  # the sentiment word says the opposite of the label: a model must read "not" to get these right
    "{subject} {verb} not {adverb} {word} {tail}",
    "i would not call {subject} {word}",
    "{subject} was never {word} {tail}",
]


def sentence(rng: random.Random, positive: bool) -> str:
    negated = rng.random() < 0.25
    template = rng.choice(NEGATED if negated else TEMPLATES)
    positive_word = positive != negated
    text = template.format(
        subject=rng.choice(SUBJECTS),
        subject2=rng.choice(SUBJECTS),
        verb=rng.choice(VERBS),
        verb2=rng.choice(VERBS),
        adverb=rng.choice(ADVERBS),
        tail=rng.choice(TAILS),
        word=rng.choice(POSITIVE if positive_word else NEGATIVE),
        neutral=rng.choice(NEUTRAL),
    )
    return " ".join(text.split()) + " ."


def main(out: Path = Path(__file__).parent / "data", n_train: int = 2000, n_validation: int = 400) -> None:
    rng = random.Random(1234)
    out.mkdir(parents=True, exist_ok=True)
    rows = {}
    for split, n in (("train", n_train), ("validation", n_validation)):
        labels = [i % 2 for i in range(n)]
        rng.shuffle(labels)
        rows[split] = [(sentence(rng, bool(label)), "positive" if label else "negative") for label in labels]
        with open(out / f"{split}.csv", "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["sentence", "label"])
            writer.writerows(rows[split])
    # The tokenizer corpus: every training sentence, one a line.
    (out / "corpus.txt").write_text("".join(text + "\n" for text, _ in rows["train"]), encoding="utf-8")
    # The pre-training corpus: "reviews" of 4 to 10 sentences of one sentiment, a blank line between them.
    documents, sentences = [], [sentence(rng, positive=i % 2 == 0) for i in range(4000)]
    by_sentiment = [sentences[0::2], sentences[1::2]]
    for side in by_sentiment:
        while side:
            size = rng.randint(4, 10)
            documents.append("\n".join(side[:size]))
            del side[:size]
    rng.shuffle(documents)
    (out / "pretrain.txt").write_text("\n\n".join(documents) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
