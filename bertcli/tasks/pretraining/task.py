"""BERT pre-training from raw text: masked LM + next-sentence prediction (`bertcli pretrain`).

Data: documents (documents.py) -> tokenized sentences -> instances (instances.py), each step cached by datasets.
Masking happens at batch time (masking.py), so every epoch sees new masks; its random numbers are seeded from the
batch's examples, so the evaluation set is masked the same way every time and a resumed run as an uninterrupted one.
Model: BertForPreTraining (loss = MLM cross-entropy + NSP cross-entropy), or BertForMaskedLM with --objective mlm;
the task's forward runs the masked-LM head on the masked positions only. --objective electra: electra.py.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass

import numpy as np
import torch
from transformers.utils import ModelOutput

from bertcli.data import map_cached, take, tokenizer_fingerprint, train_and_eval
from bertcli.errors import BertcliError
from bertcli.modeling import load_pretrained
from bertcli.tasks.base import Models, Task, TaskData
from bertcli.tasks.pretraining.documents import load_documents
from bertcli.tasks.pretraining.instances import nsp_instances, packed_across_documents, packed_segments
from bertcli.tasks.pretraining.masking import Masker


class PretrainingTask(Task):
    sequence_pad_values = {**Task.sequence_pad_values, "word_continues": 0}

    def __init__(self, cfg, tokenizer, model_config, pad_to_multiple_of=None):
        super().__init__(cfg, tokenizer, model_config, pad_to_multiple_of)
        if tokenizer.mask_token_id is None:
            raise BertcliError(f"the tokenizer of {cfg.model} has no [MASK] token: it cannot be used for masked LM")
        o = cfg.options
        self.masker = Masker(tokenizer, o.mlm_probability, o.masking)

    # --- data ---------------------------------------------------------------------------------------
    def load_data(self, training: bool) -> TaskData:
        """Instances from the training documents and from held-out ones: a validation file, the hub data set's
        validation split, or whole training documents held out (so no evaluation pair shares a document with
        training; two at least with NSP, whose NotNext pairs need a second document)."""
        d, t = self.cfg.data, self.cfg.train

        def documents(split: str, limit: int | None):  # --max-*-samples count instances, not documents
            return load_documents(d, split, with_extra_sources=split == "train")

        least = 2 if self.cfg.options.nsp else 1
        train, evals = train_and_eval(d, documents, t.seed, training=training, least=least, unit="documents")
        return TaskData(
            train=take(self._instances(train, "train"), t.max_train_samples) if training else None,
            eval=take(self._instances(evals, "validation"), t.max_eval_samples) if evals is not None else None,
        )

    def _instances(self, documents, split: str):
        o, max_len, tokenizer = self.cfg.options, self.cfg.train.max_seq_length, self.tokenizer
        workers = max(1, o.preprocessing_workers)

        def tokenize(batch):
            flat = [s for sentences in batch["sentences"] for s in sentences]
            ids = segmented_ids(tokenizer, flat, o.word_segmenter)
            out, k = [], 0
            for sentences in batch["sentences"]:
                out.append([x for x in ids[k : k + len(sentences)] if x])
                k += len(sentences)
            return {"tokens": out}

        fingerprint = tokenizer_fingerprint(tokenizer)
        tokenized = map_cached(
            documents,
            tokenize,
            {"task": "pretrain-tokens-v1", "tokenizer": fingerprint, "segmenter": o.word_segmenter},
            desc=f"Tokenizing {split}",
            remove_columns=["sentences"],
            num_proc=workers,
        )
        tokenized = tokenized.filter(lambda batch: [bool(t) for t in batch["tokens"]], batched=True)
        if o.nsp and len(tokenized) < 2:
            raise BertcliError(
                f"next-sentence prediction needs at least 2 documents in the {split} data "
                "(blank lines separate documents), or pass --no-nsp"
            )
        cls, sep, seed = tokenizer.cls_token_id, tokenizer.sep_token_id, self.cfg.train.seed
        n_documents, nsp, short = len(tokenized), o.nsp, o.short_seq_prob

        def build(batch, indices):
            rows = {"input_ids": [], "token_type_ids": [], "length": []}
            if nsp:
                rows["next_sentence_label"] = []
            if o.word_segmenter:
                rows["word_continues"] = []
            if nsp:
                for tokens, index in zip(batch["tokens"], indices):
                    rng = random.Random(seed * 1_000_003 + index)  # the same instances whatever the batching
                    pairs = nsp_instances(
                        tokens, index, n_documents, lambda j: tokenized[j]["tokens"], max_len, short, rng
                    )
                    for a, b, label in pairs:
                        rows["input_ids"].append([cls, *a, sep, *b, sep])
                        rows["token_type_ids"].append([0] * (len(a) + 2) + [1] * (len(b) + 1))
                        rows["next_sentence_label"].append(label)
            else:  # single segments: within each document, or running on across this map batch's documents
                pieces = (
                    packed_across_documents(batch["tokens"], max_len, sep)
                    if o.pack_across_documents
                    else (piece for tokens in batch["tokens"] for piece in packed_segments(tokens, max_len))
                )
                for piece in pieces:
                    rows["input_ids"].append([cls, *piece, sep])
                    rows["token_type_ids"].append([0] * (len(piece) + 2))
            if o.word_segmenter:  # a segmented word's later tokens came as -(id + 1)
                rows["word_continues"] = [[int(t < 0) for t in ids] for ids in rows["input_ids"]]
                rows["input_ids"] = [[t if t >= 0 else -t - 1 for t in ids] for ids in rows["input_ids"]]
            rows["length"] = [len(ids) for ids in rows["input_ids"]]
            return rows

        settings = {
            "task": "pretrain-instances-v1",
            "tokenizer": fingerprint,
            "segmenter": o.word_segmenter,
            "max_length": max_len,
            "nsp": nsp,
            "short_seq_prob": short,
            "seed": seed,
            "across_documents": o.pack_across_documents,
        }
        return map_cached(
            tokenized,
            build,
            settings,
            desc=f"Building {split} instances",
            with_indices=True,
            remove_columns=["tokens"],
            num_proc=workers,
        )

    def collate(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = super().collate(features)
        batch["input_ids"], batch["labels"] = self.masker(
            batch["input_ids"], batch["attention_mask"], self.batch_generator(batch), batch.pop("word_continues", None)
        )
        return batch

    def batch_generator(self, batch, stream: int = 0) -> torch.Generator | None:
        """The random numbers of a batch's masks (stream 0) and samples (1), seeded from the examples it holds: the
        same batch is masked the same way (evaluations compare; a resumed run repeats the uninterrupted one), and
        another batch, or the same examples batched otherwise in another epoch, differently. Without the examples'
        positions (a batch collated outside training and evaluation): the global RNG."""
        if "index" not in batch:
            return None
        key = hash((self.cfg.train.seed, stream, *batch["index"].tolist())) % 2**63
        return torch.Generator().manual_seed(key)

    # --- model --------------------------------------------------------------------------------------
    def build_models(self, data: TaskData) -> Models:
        from transformers import AutoModelForMaskedLM, AutoModelForPreTraining

        auto = AutoModelForPreTraining if self.cfg.options.nsp else AutoModelForMaskedLM
        model, info = load_pretrained(auto, self.cfg.model, self.cfg.train.allow_pickle, output_loading_info=True)
        new = sorted({key.rsplit(".", 2)[0] for key in info["missing_keys"]})
        if new:
            print(f"Newly initialised (not in {self.cfg.model}): {', '.join(new)}")
        return Models(trained={"model": model})

    def forward(self, models, batch):
        """BertForPreTraining / BertForMaskedLM, with the masked-LM head run on the masked positions only.

        The vocabulary projection is the largest layer of a small BERT, and only ~15% of positions have a label:
        the loss is the same (cross-entropy averaged over the masked tokens, + NSP), for a fraction of the work.
        `prediction_logits` are (masked tokens, vocabulary), in the row-major order of `labels != -100`.
        """
        model, labels = models["model"], batch["labels"]
        encoded = model.bert(
            batch["input_ids"], attention_mask=batch["attention_mask"], token_type_ids=batch["token_type_ids"]
        )
        chosen = labels != -100
        prediction_logits = model.cls.predictions(encoded.last_hidden_state[chosen])
        loss = torch.nn.functional.cross_entropy(prediction_logits.float(), labels[chosen])
        seq_relationship_logits = None
        if "next_sentence_label" in batch:
            seq_relationship_logits = model.cls.seq_relationship(encoded.pooler_output)
            loss = loss + torch.nn.functional.cross_entropy(
                seq_relationship_logits.float(), batch["next_sentence_label"]
            )
        return MaskedPositionsOutput(
            loss=loss, prediction_logits=prediction_logits, seq_relationship_logits=seq_relationship_logits
        )

    # --- evaluation ---------------------------------------------------------------------------------
    def metric_names(self, data: TaskData) -> list[str]:
        return ["mlm_accuracy", "perplexity"] + (["nsp_accuracy"] if self.cfg.options.nsp else [])

    def eval_outputs(self, outputs, batch):
        # outputs.prediction_logits holds the masked positions only, in row-major order (see forward)
        labels = batch["labels"]
        chosen = labels != -100
        row = chosen.nonzero()[:, 0]
        targets = labels[chosen]
        logits = outputs.prediction_logits.float()
        token_loss = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
        correct = (logits.argmax(-1) == targets).float()
        per_example = torch.zeros(labels.shape[0], device=labels.device)
        kept = {
            "mlm_loss_sum": per_example.index_add(0, row, token_loss),
            "mlm_count": chosen.sum(1),
            "mlm_correct": per_example.index_add(0, row, correct),
        }
        if self.cfg.options.nsp:
            kept["nsp_correct"] = outputs.seq_relationship_logits.argmax(-1) == batch["next_sentence_label"]
        return kept

    def compute_metrics(self, outputs, data):
        count = max(int(outputs["mlm_count"].sum()), 1)
        mlm_loss = float(outputs["mlm_loss_sum"].sum()) / count
        metrics = {
            "mlm_accuracy": float(outputs["mlm_correct"].sum()) / count,
            "mlm_loss": mlm_loss,
            "perplexity": math.exp(min(mlm_loss, 50.0)),
        }
        if "nsp_correct" in outputs:
            metrics["nsp_accuracy"] = float(np.mean(outputs["nsp_correct"]))
        return metrics, None


@dataclass
class MaskedPositionsOutput(ModelOutput):
    loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None  # (masked tokens, vocabulary)
    seq_relationship_logits: torch.Tensor | None = None


def segmented_ids(tokenizer, sentences: list[str], segmenter: str | None) -> list[list[int]]:
    """Each sentence's token ids. With a word segmenter, a token that continues the segmenter's word (a Chinese
    word's second character, a word's "##" piece) comes as -(id + 1), so that whole-word masking keeps the word
    together through instance building."""
    plain = {"add_special_tokens": False, "return_attention_mask": False, "return_token_type_ids": False}
    if segmenter is None:
        return tokenizer(sentences, **plain)["input_ids"]
    import jieba

    jieba.setLogLevel(logging.WARNING)  # not its "Building prefix dict..." lines on every run
    words = [jieba.lcut(sentence) for sentence in sentences]
    encoded = tokenizer(words, is_split_into_words=True, **plain)
    out = []
    for i, ids in enumerate(encoded["input_ids"]):
        word_ids = encoded.word_ids(i)
        out.append([t if k == 0 or word_ids[k] != word_ids[k - 1] else -t - 1 for k, t in enumerate(ids)])
    return out
