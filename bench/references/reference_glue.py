"""The reference for classification: Hugging Face's run_glue.py recipe, written as a user would.

HF Trainer, AutoModelForSequenceClassification, tokenization with `padding="max_length"` (run_glue's default,
pad_to_max_length=True) or, with --dynamic-padding, DataCollatorWithPadding (its best setting).
Prints one JSON line: train samples/s (the Trainer's own figure), dev accuracy.

    python bench/references/reference_glue.py --model M --train-file train.tsv --validation-file dev.tsv --output-dir O
"""

import argparse
import json

import numpy as np
from datasets import load_dataset
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
    default_data_collator,
    set_seed,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--validation-file", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--max-train-samples", type=int)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--dynamic-padding", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)

    raw = load_dataset(
        "csv", data_files={"train": args.train_file, "validation": args.validation_file}, delimiter="\t", quoting=3
    )
    if args.max_train_samples:
        raw["train"] = raw["train"].select(range(args.max_train_samples))
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    padding = False if args.dynamic_padding else "max_length"

    def preprocess(batch):
        encoded = tokenizer(batch["sentence"], padding=padding, max_length=args.max_seq_length, truncation=True)
        encoded["label"] = batch["label"]
        return encoded

    data = raw.map(preprocess, batched=True, remove_columns=raw["train"].column_names)
    set_seed(args.seed)  # as run_glue.py / run_qa.py do: the new head's initial weights follow the seed
    model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=2)
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

    def accuracy(prediction):
        return {"accuracy": float((np.argmax(prediction.predictions, -1) == prediction.label_ids).mean())}

    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=data["train"],
        eval_dataset=data["validation"],
        data_collator=DataCollatorWithPadding(tokenizer) if args.dynamic_padding else default_data_collator,
        compute_metrics=accuracy,
    )
    train = trainer.train().metrics
    evaluation = trainer.evaluate()
    print(
        json.dumps(
            {
                "train_samples_per_second": train["train_samples_per_second"],
                "train_runtime_s": train["train_runtime"],
                "accuracy": evaluation["eval_accuracy"],
                "eval_samples_per_second": evaluation["eval_samples_per_second"],
            }
        )
    )


if __name__ == "__main__":
    main()
