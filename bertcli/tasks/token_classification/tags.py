"""Tags and entities: which scheme a tag set follows, entities decoded from tags, and their scores.

Entity tags carry a prefix and a type, `B-PER`: BIO (B begins, I inside), BIOES (E ends, S a single-word entity),
and its aliases BMES (M inside: MSRA's) and BILOU (L last, U unit); `O` is outside. Tags without such prefixes
(parts of speech: NN, VBD) are plain: every word is scored on its own.

Entities are decoded as CoNLL's conlleval script (and seqeval's default mode) decode them, so that malformed
sequences (an I- with no B-, a type change inside an entity, an E- that does not close anything) give the same
entities: a chunk ends where the tag says so or the type changes, and starts where the tag says so or the type
changes. The scores are conlleval's: precision and recall of whole entities (type and both ends right), their F1,
and the share of words whose tag is right.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

PREFIXES = {"B": "B", "I": "I", "M": "I", "E": "E", "L": "E", "S": "S", "U": "S"}  # BMES / BILOU as BIOES


class Entity(NamedTuple):
    type: str
    start: int  # the first word
    end: int  # one past the last word


def split_tag(tag: str) -> tuple[str, str]:
    """(prefix in B, I, E, S or O; type): "B-PER" -> ("B", "PER"), "O" -> ("O", "")."""
    if tag == "O" or len(tag) < 3 or tag[1] not in "-_" or tag[0] not in PREFIXES:
        return "O", ""
    return PREFIXES[tag[0]], tag[2:]


def is_entity_tag_set(tags) -> bool:
    """Whether the tags are entity tags (prefixed, with O): else they are plain tags such as parts of speech."""
    tags = set(tags)
    prefixed = {t for t in tags if len(t) > 2 and t[0] in PREFIXES and t[1] in "-_"}
    return bool(prefixed) and tags <= prefixed | {"O"}


def scheme_name(tags) -> str:
    """ "BIO", "BIOES" or "plain", for messages and run.yaml."""
    if not is_entity_tag_set(tags):
        return "plain"
    return "BIOES" if any(split_tag(t)[0] in "ES" for t in tags) else "BIO"


def _ends(prev: str, prev_type: str, tag: str, type_: str) -> bool:
    """Whether an entity open at the previous word ends before this one."""
    return prev in "ES" or (prev in "BI" and tag in "BSO") or (prev != "O" and prev_type != type_)


def _starts(prev: str, prev_type: str, tag: str, type_: str) -> bool:
    """Whether an entity starts at this word."""
    return tag in "BS" or (tag in "IE" and prev in "ESO") or (tag != "O" and prev_type != type_)


def entities(tags: list[str]) -> list[Entity]:
    """The entities of one sentence's tags, as conlleval reads them."""
    found: list[Entity] = []
    prev, prev_type, start = "O", "", None
    for i, tag in enumerate([*tags, "O"]):  # a final O closes the last entity
        prefix, type_ = split_tag(tag)
        if start is not None and _ends(prev, prev_type, prefix, type_):
            found.append(Entity(prev_type, start, i))
            start = None
        if _starts(prev, prev_type, prefix, type_) and prefix != "O":
            start = i
        prev, prev_type = prefix, type_
    return found


def entity_scores(gold: list[list[str]], predicted: list[list[str]]) -> tuple[dict[str, float], dict[str, dict]]:
    """(precision, recall, f1 and accuracy over all sentences; the same per entity type with its support)."""
    true, guessed, right = Counter(), Counter(), Counter()
    words = correct_words = 0
    for gold_tags, predicted_tags in zip(gold, predicted, strict=True):
        g, p = set(entities(gold_tags)), set(entities(predicted_tags))
        true.update(e.type for e in g)
        guessed.update(e.type for e in p)
        right.update(e.type for e in g & p)
        words += len(gold_tags)
        correct_words += sum(a == b for a, b in zip(gold_tags, predicted_tags))
    overall = prf(sum(right.values()), sum(guessed.values()), sum(true.values()))
    overall["accuracy"] = correct_words / max(words, 1)
    per_type = {t: {**prf(right[t], guessed[t], true[t]), "support": true[t]} for t in sorted(set(true) | set(guessed))}
    return overall, per_type


def prf(right: int, guessed: int, true: int) -> dict[str, float]:
    precision = right / guessed if guessed else 0.0
    recall = right / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def sorted_tags(tags) -> list[str]:
    """A tag set in a stable, readable order: O first, then by entity type and prefix (B, I, E, S); plain tags
    alphabetically."""
    order = "BIES"
    if not is_entity_tag_set(tags):
        return sorted(tags)

    def key(tag):
        prefix, type_ = split_tag(tag)
        return (tag != "O", type_, order.index(prefix) if prefix in order else 0, tag)

    return sorted(tags, key=key)


def inside_tag(tag: str, tag_set) -> str:
    """The tag of a word's later WordPiece pieces with --label-all-tokens: B-X's inside form (I-X, or M-X in
    BMES) where the tag set has one, else the word's own tag."""
    if tag[:2] not in ("B-", "B_"):
        return tag
    for inside in ("I", "M"):
        candidate = inside + tag[1:]
        if candidate in tag_set:
            return candidate
    return tag
