"""BERT pre-training from raw text: masked LM + next-sentence prediction (`bertcli pretrain`).

Data: documents -> tokenized sentences -> instances (pretraining_data.py), each step cached by datasets.
Masking happens at batch time (masking.py), so every epoch sees new masks; the evaluation set is masked the
same way every time (a generator seeded from the examples' positions), so evaluations compare.
Model: BertForPreTraining (loss = MLM cross-entropy + NSP cross-entropy), or BertForMaskedLM with --no-nsp.
"""

from __future__ import annotations

import math
import random
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers.utils import ModelOutput

from bertcli.data import load_file, load_split, map_cached, require_columns, tokenizer_fingerprint
from bertcli.errors import BertcliError
from bertcli.masking import Masker
from bertcli.modeling import load_pretrained
from bertcli.pretraining_data import (file_signature, nsp_instances, packed_segments, split_sentences,
                                      text_file_documents)
from bertcli.tasks.base import Task

TABLE_FORMATS = (".csv", ".tsv", ".json", ".jsonl", ".parquet")  # one document a row, in --text-column


@dataclass
class PretrainingOptions:
    mlm_probability: float = 0.15  # share of tokens chosen for masked-LM prediction
    nsp: bool = True  # next-sentence prediction (BertForPreTraining); False: MLM only (BertForMaskedLM)
    whole_word_masking: bool = False  # choose whole words, all their WordPiece pieces together
    short_seq_prob: float = 0.1  # share of instances with a shorter, random target length
    validation_percentage: float = 5.0  # documents held out for evaluation when no validation data is given
    preprocessing_workers: int = 1  # processes for tokenizing and building instances
    # Hub data: rows are lines of one text stream (WikiText) rather than one document each; a stream with no
    # document boundaries of its own (BookCorpus sentences) is cut every `lines_per_document` lines.
    line_by_line: bool = False
    lines_per_document: int | None = None
    # More hub sources, concatenated after `data.dataset`: [{dataset, config, text_column, line_by_line, ...}]
    extra_sources: list[dict] | None = None


class PretrainingTask(Task):
    name = "pretrain"
    options_class = PretrainingOptions
    defaults = {"train": {"max_seq_length": 128, "lr": 1e-4, "epochs": 1.0, "batch_size": 32, "warmup_ratio": 0.01}}

    def __init__(self, cfg, tokenizer, model_config):
        super().__init__(cfg, tokenizer, model_config)
        o = cfg.options
        if not 0 < o.mlm_probability < 1:
            raise BertcliError(f"--mlm-probability must be between 0 and 1, got {o.mlm_probability}")
        if not 0 <= o.short_seq_prob <= 1:
            raise BertcliError(f"--short-seq-prob must be between 0 and 1, got {o.short_seq_prob}")
        if tokenizer.mask_token_id is None:
            raise BertcliError(f"the tokenizer of {cfg.model} has no [MASK] token: it cannot be used for masked LM")
        self.masker = Masker(tokenizer, o.mlm_probability, o.whole_word_masking)

    # --- data ---------------------------------------------------------------------------------------
    def load_datasets(self):
        d, o = self.cfg.data, self.cfg.options
        train = self._documents("train")
        # a hub split of its own (not the training split again), or a file; else documents are held out
        has_validation = bool(d.validation_file or (d.dataset and not d.train_file and d.validation_split != d.train_split))
        if has_validation:
            evals = self._documents("validation")
        else:  # hold out whole documents, so no evaluation pair shares a document with training
            n_eval = max(1, int(len(train) * o.validation_percentage / 100))
            if len(train) - n_eval < 2:
                raise BertcliError(f"{d.train_file} holds {len(train)} documents: too few to hold some out; "
                                   "pass --validation-file or use a larger corpus (blank lines separate documents)")
            evals, train = train.select(range(len(train) - n_eval, len(train))), train.select(range(len(train) - n_eval))
        train_instances = self._instances(train, "train")
        eval_instances = self._instances(evals, "validation")
        t = self.cfg.train
        if t.max_train_samples:
            train_instances = train_instances.select(range(min(t.max_train_samples, len(train_instances))))
        if t.max_eval_samples:
            eval_instances = eval_instances.select(range(min(t.max_eval_samples, len(eval_instances))))
        return train_instances, eval_instances

    def load_eval_dataset(self):
        instances = self._instances(self._documents("validation"), "validation")
        n = self.cfg.train.max_eval_samples
        return instances.select(range(min(n, len(instances)))) if n else instances

    def _documents(self, split: str):
        """A dataset with one row per document: {"sentences": [...]}."""
        import datasets

        d = self.cfg.data
        path = d.train_file if split == "train" else d.validation_file
        if path and Path(path).suffix.lower() not in TABLE_FORMATS:  # plain text: .txt, WikiText's .tokens, ...
            documents = datasets.Dataset.from_generator(
                _text_documents, gen_kwargs={"path": path, "signature": file_signature(path)})
        elif path:
            documents = _table_documents(load_file(path), d.text_column, path)
        else:
            o = self.cfg.options
            sources = [{"dataset": d.dataset, "config": d.dataset_config, "text_column": d.text_column,
                        "line_by_line": o.line_by_line, "lines_per_document": o.lines_per_document}]
            sources += (o.extra_sources or []) if split == "train" else []
            split_name = d.train_split if split == "train" else d.validation_split
            documents = datasets.concatenate_datasets([_hub_documents(source, split_name) for source in sources])
        if len(documents) == 0:
            raise BertcliError(f"{path or d.dataset} holds no text")
        return documents

    def _instances(self, documents, split: str):
        o, max_len, tokenizer = self.cfg.options, self.cfg.train.max_seq_length, self.tokenizer
        workers = max(1, o.preprocessing_workers)

        def tokenize(batch):
            flat = [s for sentences in batch["sentences"] for s in sentences]
            ids = tokenizer(flat, add_special_tokens=False, return_attention_mask=False,
                            return_token_type_ids=False)["input_ids"]
            out, k = [], 0
            for sentences in batch["sentences"]:
                out.append([x for x in ids[k:k + len(sentences)] if x])
                k += len(sentences)
            return {"tokens": out}

        fingerprint = tokenizer_fingerprint(tokenizer)
        tokenized = map_cached(documents, tokenize, {"task": "pretrain-tokens-v1", "tokenizer": fingerprint},
                               desc=f"Tokenizing {split}", remove_columns=["sentences"], num_proc=workers)
        tokenized = tokenized.filter(lambda batch: [bool(t) for t in batch["tokens"]], batched=True)
        if o.nsp and len(tokenized) < 2:
            raise BertcliError(f"next-sentence prediction needs at least 2 documents in the {split} data "
                               "(blank lines separate documents), or pass --no-nsp")
        cls, sep, seed = tokenizer.cls_token_id, tokenizer.sep_token_id, self.cfg.train.seed
        n_documents, nsp, short = len(tokenized), o.nsp, o.short_seq_prob

        def build(batch, indices):
            rows = {"input_ids": [], "token_type_ids": [], "length": []}
            if nsp:
                rows["next_sentence_label"] = []
            for tokens, index in zip(batch["tokens"], indices):
                rng = random.Random(seed * 1_000_003 + index)  # the same instances whatever the batching
                if nsp:
                    pairs = nsp_instances(tokens, index, n_documents, lambda j: tokenized[j]["tokens"], max_len, short, rng)
                    for a, b, label in pairs:
                        rows["input_ids"].append([cls, *a, sep, *b, sep])
                        rows["token_type_ids"].append([0] * (len(a) + 2) + [1] * (len(b) + 1))
                        rows["next_sentence_label"].append(label)
                else:
                    for piece in packed_segments(tokens, max_len):
                        rows["input_ids"].append([cls, *piece, sep])
                        rows["token_type_ids"].append([0] * (len(piece) + 2))
            rows["length"] = [len(ids) for ids in rows["input_ids"]]
            return rows

        settings = {"task": "pretrain-instances-v1", "tokenizer": fingerprint, "max_length": max_len, "nsp": nsp,
                    "short_seq_prob": short, "seed": seed}
        return map_cached(tokenized, build, settings, desc=f"Building {split} instances", with_indices=True,
                          remove_columns=["tokens"], num_proc=workers)

    def collate(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = super().collate(features)
        generator = None
        if "index" in batch:  # evaluation: the same masks every time
            generator = torch.Generator().manual_seed(self.cfg.train.seed + int(batch["index"][0]))
        batch["input_ids"], batch["labels"] = self.masker(batch["input_ids"], batch["attention_mask"], generator)
        return batch

    # --- model --------------------------------------------------------------------------------------
    def build_model(self):
        from transformers import AutoModelForMaskedLM, AutoModelForPreTraining

        auto = AutoModelForPreTraining if self.cfg.options.nsp else AutoModelForMaskedLM
        model, info = load_pretrained(auto, self.cfg.model, self.cfg.train.allow_pickle, output_loading_info=True)
        new = sorted({key.rsplit(".", 2)[0] for key in info["missing_keys"]})
        if new:
            print(f"Newly initialised (not in {self.cfg.model}): {', '.join(new)}")
        model.forward = types.MethodType(_masked_positions_forward, model)
        return model

    # --- evaluation ---------------------------------------------------------------------------------
    @property
    def metric_names(self) -> list[str]:
        return ["mlm_accuracy", "perplexity"] + (["nsp_accuracy"] if self.cfg.options.nsp else [])

    def eval_outputs(self, outputs, batch):
        # outputs.prediction_logits holds the masked positions only, in row-major order (see below)
        labels = batch["labels"]
        chosen = labels != -100
        row = chosen.nonzero()[:, 0]
        targets = labels[chosen]
        logits = outputs.prediction_logits.float()
        token_loss = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
        correct = (logits.argmax(-1) == targets).float()
        per_example = torch.zeros(labels.shape[0], device=labels.device)
        kept = {"mlm_loss_sum": per_example.index_add(0, row, token_loss), "mlm_count": chosen.sum(1),
                "mlm_correct": per_example.index_add(0, row, correct)}
        if self.cfg.options.nsp:
            kept["nsp_correct"] = outputs.seq_relationship_logits.argmax(-1) == batch["next_sentence_label"]
        return kept

    def compute_metrics(self, outputs):
        count = max(int(outputs["mlm_count"].sum()), 1)
        mlm_loss = float(outputs["mlm_loss_sum"].sum()) / count
        metrics = {"mlm_accuracy": float(outputs["mlm_correct"].sum()) / count, "mlm_loss": mlm_loss,
                   "perplexity": math.exp(min(mlm_loss, 50.0))}
        if "nsp_correct" in outputs:
            metrics["nsp_accuracy"] = float(np.mean(outputs["nsp_correct"]))
        return metrics


def _masked_positions_forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None,
                              next_sentence_label=None, **kwargs):
    """BertForPreTraining / BertForMaskedLM forward that runs the masked-LM head on the masked positions only.

    The vocabulary projection is the largest layer of a small BERT, and only ~15% of positions have a label:
    the loss is the same (cross-entropy averaged over the masked tokens, + NSP), for a fraction of the work.
    `prediction_logits` are (masked tokens, vocabulary), in the row-major order of `labels != -100`.
    Installed on the model instance (bertcli's training and evaluation call it); the saved model is the
    ordinary transformers class.
    """
    encoded = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, **kwargs)
    chosen = labels != -100
    prediction_logits = self.cls.predictions(encoded.last_hidden_state[chosen])
    loss = torch.nn.functional.cross_entropy(prediction_logits.float(), labels[chosen])
    seq_relationship_logits = None
    if next_sentence_label is not None:
        seq_relationship_logits = self.cls.seq_relationship(encoded.pooler_output)
        loss = loss + torch.nn.functional.cross_entropy(seq_relationship_logits.float(), next_sentence_label)
    return MaskedPositionsOutput(loss=loss, prediction_logits=prediction_logits,
                                 seq_relationship_logits=seq_relationship_logits)


@dataclass
class MaskedPositionsOutput(ModelOutput):
    loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None  # (masked tokens, vocabulary)
    seq_relationship_logits: torch.Tensor | None = None


def _text_documents(path: str, signature: str):
    """Generator for datasets.Dataset.from_generator; `signature` is only there to key the cache."""
    yield from text_file_documents(path)


def _table_documents(table, column: str, source: str):
    """One document a row of `column`."""
    require_columns(table, {"--text-column": column}, source)
    documents = table.map(lambda batch: {"sentences": [_row_sentences(t) for t in batch[column]]},
                          batched=True, remove_columns=table.column_names, desc="Reading documents")
    return documents.filter(lambda batch: [bool(s) for s in batch["sentences"]], batched=True)


def _hub_documents(source: dict, split: str):
    import datasets

    from bertcli.config import DataConfig

    name, column = source["dataset"], source.get("text_column", "text")
    if not source.get("line_by_line"):
        table = load_split(DataConfig(dataset=name, dataset_config=source.get("config"), train_split=split), "train")
        return _table_documents(table, column, f"{name} ({split})")
    kwargs = {"name": name, "config": source.get("config"), "split": split, "column": column,
              "lines_per_document": source.get("lines_per_document")}
    return datasets.Dataset.from_generator(_line_stream_documents, gen_kwargs=kwargs)


def _line_stream_documents(name, config, split, column, lines_per_document):
    """Documents of a hub data set whose rows are lines (split at headings / blank lines, or every N lines)."""
    from itertools import islice

    from bertcli.config import DataConfig
    from bertcli.pretraining_data import documents_from_lines

    table = load_split(DataConfig(dataset=name, dataset_config=config, train_split=split), "train")
    lines = (row[column] or "" for row in table)
    if lines_per_document:
        while block := list(islice(lines, lines_per_document)):
            sentences = [s for line in block if line.strip() for s in split_sentences(line.strip())]
            if sentences:
                yield {"sentences": sentences}
    else:
        for sentences in documents_from_lines(lines):
            yield {"sentences": sentences}


def _row_sentences(text) -> list[str]:
    """One table row is one document: its lines, long lines split into sentences."""
    if not text:
        return []
    return [s for line in str(text).splitlines() if line.strip() for s in split_sentences(line.strip())]
