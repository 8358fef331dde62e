"""The reference for token classification: Hugging Face's run_ner.py recipe, written as a user would.

HF Trainer, AutoModelForTokenClassification, words tokenized with is_split_into_words and truncated to
--max-seq-length, the label on each word's first sub-token (-100 on the rest: run_ner's default,
label_all_tokens=False), DataCollatorForTokenClassification (dynamic padding, run_ner's default), the label list
sorted as run_ner's get_label_list sorts it. Metrics as run_ner's compute_metrics: seqeval's entity precision,
recall, F1 and its token accuracy (seqeval directly: evaluate.load("seqeval") fetches a script from the hub).
Prints one JSON line: train samples/s (the Trainer's own figure), precision, recall, f1, accuracy.

    python bench/references/reference_ner.py --model M --train-file train.jsonl --validation-file dev.jsonl \
        --output-dir O
"""

import argparse
import json

import numpy as np
from datasets import load_dataset
from seqeval.metrics import accuracy_score, f1_score, precision_score, recall_score
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    Trainer,
    TrainingArguments,
    set_seed,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--validation-file", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    raw = load_dataset("json", data_files={"train": args.train_file, "validation": args.validation_file})
    label_list = sorted({tag for tags in raw["train"]["tags"] for tag in tags})
    label_to_id = {label: i for i, label in enumerate(label_list)}
    tokenizer = AutoTokenizer.from_pretrained(args.model)

    def tokenize_and_align_labels(examples):
        encoded = tokenizer(
            examples["tokens"], padding=False, truncation=True, max_length=args.max_seq_length, is_split_into_words=True
        )
        labels = []
        for i, tags in enumerate(examples["tags"]):
            previous, ids = None, []
            for word in encoded.word_ids(batch_index=i):
                ids.append(-100 if word is None or word == previous else label_to_id[tags[word]])
                previous = word
            labels.append(ids)
        encoded["labels"] = labels
        return encoded

    data = raw.map(tokenize_and_align_labels, batched=True, remove_columns=raw["train"].column_names)
    set_seed(args.seed)
    model = AutoModelForTokenClassification.from_pretrained(
        args.model,
        num_labels=len(label_list),
        id2label=dict(enumerate(label_list)),
        label2id=label_to_id,
    )
    training_args = TrainingArguments(
        output_dir=args.output_dir,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=8,
        learning_rate=args.lr,
        num_train_epochs=args.epochs,
        save_strategy="no",
        report_to=[],
        seed=args.seed,
        logging_steps=50,
    )

    def compute_metrics(prediction):
        predicted = np.argmax(prediction.predictions, axis=2)
        pairs = [
            [(label_list[p], label_list[g]) for p, g in zip(ps, gs) if g != -100]
            for ps, gs in zip(predicted, prediction.label_ids)
        ]
        y_pred = [[p for p, _ in row] for row in pairs]
        y_true = [[g for _, g in row] for row in pairs]
        return {
            "precision": precision_score(y_true, y_pred),
            "recall": recall_score(y_true, y_pred),
            "f1": f1_score(y_true, y_pred),
            "accuracy": accuracy_score(y_true, y_pred),
        }

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=data["train"],
        eval_dataset=data["validation"],
        data_collator=DataCollatorForTokenClassification(tokenizer),
        compute_metrics=compute_metrics,
    )
    train = trainer.train().metrics
    evaluation = trainer.evaluate()
    print(
        json.dumps(
            {
                "train_samples_per_second": train["train_samples_per_second"],
                "train_runtime_s": train["train_runtime"],
                **{k: evaluation[f"eval_{k}"] for k in ("precision", "recall", "f1", "accuracy")},
                "eval_samples_per_second": evaluation["eval_samples_per_second"],
            }
        )
    )


if __name__ == "__main__":
    main()
