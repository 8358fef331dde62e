"""Token classification: a tag for every word, from BertForTokenClassification: `bertcli finetune ner`.

Sentences come as words with their tags (conll.py for CoNLL text; tables and hub data sets hold a list of each a
row). Words are split into WordPiece pieces and cut into windows at word boundaries (words.py); a word's tag is
learnt on its first piece (every piece with --label-all-tokens) and read from its first piece. Evaluation puts the
windows' tags back together per sentence and scores whole sentences: entities as conlleval does (tags.py), or
every word's tag (plain tags, such as parts of speech).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from bertcli.batching import pack_batch, packed_attention_mask
from bertcli.data import load_split, map_cached, require_columns, take, tokenizer_fingerprint, train_and_eval
from bertcli.errors import BertcliError
from bertcli.modeling import load_pretrained
from bertcli.tasks.base import Models, Task, TaskData
from bertcli.tasks.token_classification import tags as tagging
from bertcli.tasks.token_classification.conll import CONLL_FORMATS, read_conll
from bertcli.tasks.token_classification.words import Window, WordEncoder

NO_TAG = "<none>"  # a word that the tokenizer turns into no pieces (a control character) is predicted as this


@dataclass
class TagInfo:
    names: list[str]  # id -> tag
    entities: bool  # scored as entities (else word by word)
    gold: list[list[str]] | None = None  # the evaluation sentences' tags
    windows: list[tuple[int, list[int]]] | None = None  # per evaluation feature: (sentence, first_pieces marks)


class TokenClassificationTask(Task):
    sequence_pad_values = {**Task.sequence_pad_values, "labels": -100}

    def load_data(self, training: bool) -> TaskData:
        d, t, o = self.cfg.data, self.cfg.train, self.cfg.options
        train, evals = train_and_eval(d, self._examples, t.seed, (t.max_train_samples, t.max_eval_samples), training)
        eval_tags = _tag_set(evals[d.tags_column]) if evals is not None else set()
        if training:
            names = tagging.sorted_tags(_tag_set(train[d.tags_column]) | eval_tags)
        else:  # the tags as the trained model has them
            config = self.model_config
            names = [config.id2label[i] for i in range(config.num_labels)]
            unknown = sorted(eval_tags - set(names))
            if unknown:
                raise BertcliError(
                    f"{d.source('validation')} has tags the model does not know: {', '.join(unknown[:5])}; "
                    f"its tags are {', '.join(names)}"
                )
        entities = o.tag_scheme == "entities" if o.tag_scheme else tagging.is_entity_tag_set(names)
        if entities and not tagging.is_entity_tag_set(names):
            raise BertcliError(
                f"--tag-scheme entities needs BIO/BIOES tags (B-PER, I-PER, O), but the data has "
                f"{', '.join(t for t in names if tagging.split_tag(t)[0] == 'O' and t != 'O')[:80]}: "
                "pass --tag-scheme plain"
            )
        info = TagInfo(names, entities)
        eval_features = None
        if evals is not None:
            eval_features = self._featurize(evals, info, "validation")
            info.gold = [list(tags) for tags in evals[d.tags_column]]
            info.windows = list(zip(eval_features["sentence"], eval_features["word_index"]))
            eval_features = eval_features.remove_columns(["sentence", "word_index"])
        train_features = None
        if training:
            train_features = self._featurize(train, info, "train").remove_columns(["sentence", "word_index"])
        scheme = "entities" if entities else "plain"
        return TaskData(train_features, eval_features, info, dataclasses.replace(o, tag_scheme=scheme))

    def _examples(self, split: str, limit: int | None):
        """Sentences as {tokens: [str], tags: [str]} (the columns as named), tags as names."""
        d = self.cfg.data
        local = d.train_file if split == "train" else d.validation_file
        if local and Path(local).suffix.lower() in CONLL_FORMATS:
            dataset = read_conll(local, d.tokens_column, d.tags_column)
        else:
            dataset = load_split(d, split)
        dataset = take(dataset, limit)
        source = d.source(split)
        require_columns(dataset, {"--tokens-column": d.tokens_column, "--tags-column": d.tags_column}, source)
        inner = getattr(dataset.features[d.tags_column], "feature", None)
        class_names = getattr(inner, "names", None)  # a hub data set's tags as class ids (conll2003's ner_tags)

        def as_names(batch):
            tokens = [_as_list(v, d.tokens_column, source) for v in batch[d.tokens_column]]
            tags = [_as_list(v, d.tags_column, source) for v in batch[d.tags_column]]
            if class_names:
                tags = [[class_names[int(t)] for t in row] for row in tags]
            for words, row in zip(tokens, tags):
                if len(words) != len(row):
                    raise BertcliError(
                        f"{source}: a sentence has {len(words)} tokens but {len(row)} tags ({' '.join(words[:8])} "
                        "...): give every token one tag"
                    )
            return {
                d.tokens_column: [[str(w) for w in row] for row in tokens],
                d.tags_column: [[str(t) for t in row] for row in tags],
            }

        settings = {"task": "ner-read-v1", "columns": [d.tokens_column, d.tags_column], "class_names": class_names}
        dataset = map_cached(dataset, as_names, settings, f"Reading {split}", remove_columns=dataset.column_names)
        return dataset.filter(lambda batch: [bool(w) for w in batch[d.tokens_column]], batched=True)

    def _featurize(self, dataset, info: TagInfo, split: str):
        d, o, max_length = self.cfg.data, self.cfg.options, self.cfg.train.max_seq_length
        encoder = WordEncoder(self.tokenizer.backend_tokenizer, max_length)
        to_id = {name: i for i, name in enumerate(info.names)}
        all_pieces = o.label_all_tokens and split == "train"
        inside = [to_id[tagging.inside_tag(name, to_id)] for name in info.names]  # id -> its later pieces' id

        def featurize(batch, indices):
            rows = {k: [] for k in ("input_ids", "token_type_ids", "labels", "length", "sentence", "word_index")}
            pieces = encoder.split_words(batch[d.tokens_column])
            for sentence, words, tags in zip(indices, pieces, batch[d.tags_column]):
                for window in encoder.windows(words):
                    rows["input_ids"].append(window.input_ids)
                    rows["token_type_ids"].append([0] * len(window.input_ids))
                    rows["labels"].append(piece_labels(window, [to_id[t] for t in tags], inside, all_pieces))
                    rows["length"].append(len(window.input_ids))
                    rows["sentence"].append(sentence)
                    rows["word_index"].append(window.first_pieces())
            return rows

        settings = {
            "task": "ner-v1",
            "tokenizer": tokenizer_fingerprint(self.tokenizer),
            "max_length": max_length,
            "columns": [d.tokens_column, d.tags_column],
            "tags": info.names,
            "all_pieces": all_pieces,
        }
        return map_cached(
            dataset,
            featurize,
            settings,
            desc=f"Tokenizing {split}",
            with_indices=True,
            remove_columns=dataset.column_names,
        )

    def build_models(self, data: TaskData) -> Models:
        from transformers import AutoModelForTokenClassification

        names = data.info.names
        model = load_pretrained(
            AutoModelForTokenClassification,
            self.cfg.model,
            self.cfg.train.allow_pickle,
            num_labels=len(names),
            id2label=dict(enumerate(names)),
            label2id={n: i for i, n in enumerate(names)},
            ignore_mismatched_sizes=True,
        )
        return Models(trained={"model": model})

    # --- training batches: packed -------------------------------------------------------------------
    @property
    def packs_training_batches(self) -> bool:
        return self.cfg.options.pack_sentences

    def collate_training(self, features):
        if not self.packs_training_batches:
            return self.collate(features)
        return pack_batch(features, self.pad_values, self.cfg.train.max_seq_length, self.pad_to_multiple_of)

    def forward(self, models, batch):
        model = models["model"]
        if "sequence_ids" in batch:  # a packed batch: each sentence attends only to itself
            batch = dict(batch)
            sequence_ids = batch.pop("sequence_ids")
            try:
                mask = packed_attention_mask(sequence_ids, model.config._attn_implementation, model.dtype)
            except ValueError as e:  # an attention kernel that takes no 4-D mask
                raise BertcliError(f"{e}: pass --no-pack-sentences") from e
            batch["attention_mask"] = mask
        return model(**batch)

    # --- evaluation ---------------------------------------------------------------------------------
    def metric_names(self, data: TaskData) -> list[str]:
        return ["f1", "precision", "recall", "accuracy"] if data.info.entities else ["accuracy"]

    def eval_outputs(self, outputs, batch):
        width = self.cfg.train.max_seq_length  # every batch to the same width, so batches concatenate
        predicted = outputs.logits.argmax(-1)
        return {"predicted": torch.nn.functional.pad(predicted, (0, width - predicted.shape[1]), value=-1)}

    def predicted_tags(self, predicted: np.ndarray, info: TagInfo) -> list[list[str]]:
        """Each evaluation sentence's predicted tags, put together from its windows."""
        missing = "O" if info.entities else NO_TAG
        sentences = [[missing] * len(gold) for gold in info.gold]
        for row, (sentence, firsts) in zip(predicted, info.windows):
            for position, word in enumerate(firsts):
                if word != -1:
                    sentences[sentence][word] = info.names[row[position]]
        return sentences

    def compute_metrics(self, outputs, data):
        info: TagInfo = data.info
        predicted = self.predicted_tags(outputs["predicted"], info)
        if info.entities:
            overall, _ = tagging.entity_scores(info.gold, predicted)
            return overall, predicted
        pairs = [(g, p) for gold, guess in zip(info.gold, predicted) for g, p in zip(gold, guess)]
        return {"accuracy": sum(g == p for g, p in pairs) / max(len(pairs), 1)}, predicted

    def report(self, outputs, data, predictions):
        """Precision, recall, F1 and support per entity type (per tag for plain tags)."""
        info: TagInfo = data.info
        if info.entities:
            return {"per_class": tagging.entity_scores(info.gold, predictions)[1]}
        pairs = [(g, p) for gold, guess in zip(info.gold, predictions) for g, p in zip(gold, guess)]
        true, guessed = Counter(g for g, _ in pairs), Counter(p for _, p in pairs)
        right = Counter(g for g, p in pairs if g == p)
        return {
            "per_class": {
                tag: {**tagging.prf(right[tag], guessed[tag], true[tag]), "support": true[tag]} for tag in sorted(true)
            }
        }


def piece_labels(window: Window, word_labels: list[int], inside: list[int], all_pieces: bool) -> list[int]:
    """The label of every position of a window: its word's label on a word's first piece; on its later pieces
    -100 (not learnt), or with `all_pieces` the label's inside form (`inside[label]`: B-X's I-X); -100 on [CLS]
    and [SEP]."""
    labels = []
    for word, first in zip(window.word_ids, window.first_pieces()):
        if first != -1:
            labels.append(word_labels[word])
        elif all_pieces and word != -1:
            labels.append(inside[word_labels[word]])
        else:
            labels.append(-100)
    return labels


def _tag_set(rows) -> set[str]:
    return {tag for row in rows for tag in row}


def _as_list(value, column: str, source: str) -> list:
    """A row's list of words or tags: a list, or (csv files) a JSON list or space-separated text."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError as e:
                raise BertcliError(f"{source}: column '{column}' holds invalid JSON ({e.msg}): {text[:60]}") from e
        return text.split()
    if value is None:
        return []
    return list(value)
