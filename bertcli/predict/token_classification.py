"""Token classification: entities with character offsets for raw text, or a tag per word for pre-split words.

    {"text": "Angela Merkel visited Paris"}  -> {"text", "entities": [{"type": "PER", "start": 0, "end": 13,
                                                   "text": "Angela Merkel", "score": 0.99}, ...]}
    {"tokens": ["Angela", "Merkel", ...]}  -> {"tokens", "tags": ["B-PER", "I-PER", ...], "scores": [...]}

Words and windows are those of training (tasks/token_classification/words.py): a raw text's words are the
tokenizer's own (split at spaces and punctuation, each CJK character one word), each tagged from its first piece;
an entity spans its words' characters and scores the mean of their tags' probabilities. A model trained on plain
tags (parts of speech) gives `words` with their tags for raw text.
"""

from __future__ import annotations

from bertcli.predict.base import Predictor
from bertcli.tasks.token_classification import tags as tagging
from bertcli.tasks.token_classification.words import WordEncoder


class TokenClassificationPredictor(Predictor):
    plain_head = "token-classification"
    model_class = "AutoModelForTokenClassification"
    outputs = ("entities", "tags", "scores", "words")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        config = self.model.config
        self.labels = [config.id2label[i] for i in range(len(config.id2label))]
        self.entities = tagging.is_entity_tag_set(self.labels)
        backend = getattr(self.tokenizer, "backend", None) or self.tokenizer.backend_tokenizer
        self.words = WordEncoder(backend, self.max_length)

    @classmethod
    def columns(cls, given: dict, saved_run: dict) -> dict:
        """A text column (raw text), else a tokens column (a list of words: JSON inputs)."""
        saved = saved_run.get("data") or {}
        tokens = saved.get("tokens_column") or "tokens"
        return {"text": (given["text"],) if given.get("text") else ("text", tokens)}

    @classmethod
    def saved_options(cls, saved_run: dict) -> dict:
        """Windows as long as in training."""
        return {"max_length": (saved_run.get("train") or {}).get("max_seq_length")}

    def predict_chunk(self, records: list[dict]) -> list[dict]:
        pre_split = [isinstance(r.get("text"), list) for r in records]
        texts = iter(self.words.text_words([r.get("text") or "" for r, s in zip(records, pre_split) if not s]))
        sentences = iter(self.words.split_words([[str(w) for w in r["text"]] for r, s in zip(records, pre_split) if s]))
        pieces, spans = [], []  # per record: each word's pieces; for raw text, each word's characters
        for given in pre_split:
            word_pieces, word_spans = (next(sentences), None) if given else next(texts)
            pieces.append(word_pieces)
            spans.append(word_spans)
        results = []
        for record, word_spans, word_tags in zip(records, spans, self._tag(pieces)):
            if word_spans is None:
                rest = {k: v for k, v in record.items() if k != "text"}
                tags, scores = [t for t, _ in word_tags], [p for _, p in word_tags]
                results.append({**rest, "tokens": record["text"], "tags": tags, "scores": scores})
            else:
                results.append({**record, **self._from_text(record.get("text") or "", word_spans, word_tags)})
        return results

    def _tag(self, sentences: list[list[list[int]]]) -> list[list[tuple[str, float]]]:
        """(tag, probability) of every word of every sentence (given as its words' pieces), run in windows."""
        windows = [(i, window) for i, words in enumerate(sentences) for window in self.words.windows(words)]
        tagged = [[("O", 0.0)] * len(words) for words in sentences]  # a word with no pieces stays O
        for positions, outputs in self._run({"input_ids": [window.input_ids for _, window in windows]}):
            best, tag_ids = outputs.logits.float().softmax(-1).max(-1)
            best, tag_ids = best.tolist(), tag_ids.tolist()
            for row, k in enumerate(positions):
                sentence, window = windows[k]
                for position, word in enumerate(window.first_pieces()):
                    if word != -1:
                        tagged[sentence][word] = (self.labels[tag_ids[row][position]], best[row][position])
        return tagged

    def _from_text(self, text: str, spans: list[tuple[int, int]], word_tags: list[tuple[str, float]]) -> dict:
        if not self.entities:
            return {
                "words": [
                    {"word": text[start:end], "start": start, "end": end, "tag": tag, "score": score}
                    for (start, end), (tag, score) in zip(spans, word_tags)
                ]
            }
        found = []
        for entity in tagging.entities([tag for tag, _ in word_tags]):
            start, end = spans[entity.start][0], spans[entity.end - 1][1]
            scores = [score for _, score in word_tags[entity.start : entity.end]]
            score = sum(scores) / len(scores)
            found.append({"type": entity.type, "start": start, "end": end, "text": text[start:end], "score": score})
        return {"entities": found}
