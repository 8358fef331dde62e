"""The reference for pre-training: an HF Trainer with BertForPreTraining and DataCollatorForLanguageModeling
(mlm_probability 0.15) at the same sequence length. No Hugging Face example builds next-sentence-prediction
data, so the reference trains on the instances bertcli builds (same documents, same pairs): the comparison is
of the training loop, not of the data. Prints one JSON line.

    python bench/references/reference_pretrain.py --model INIT_DIR --train-file corpus.txt --output-dir O \
        --max-steps N [--bf16]
"""

import argparse
import json

from transformers import AutoTokenizer, BertForPreTraining, DataCollatorForLanguageModeling, Trainer, TrainingArguments

from bertcli.config import resolve
from bertcli.modeling import load_config
from bertcli.tasks import registry


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--max-steps", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--warmup-ratio", type=float, default=0.05)
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--short-seq-prob", type=float, default=0.1, help="as bertcli pretrain's")
    parser.add_argument("--bf16", action="store_true", help="bf16 mixed precision (a GPU)")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    spec = registry.get("pretrain")
    cfg = resolve(
        spec,
        None,
        None,
        {
            "model": args.model,
            "output_dir": args.output_dir + "-data",
            "data": {"train_file": args.train_file},
            "train": {"max_seq_length": args.max_seq_length},
            "options": {"short_seq_prob": args.short_seq_prob},
        },
    )
    train = spec.task_class()(cfg, tokenizer, load_config(args.model)).load_data(training=True).train
    train = train.remove_columns("length")

    model = BertForPreTraining.from_pretrained(args.model)
    training_args = TrainingArguments(
        output_dir=args.output_dir,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.lr,
        warmup_steps=args.warmup_ratio,
        weight_decay=0.01,  # < 1: a ratio (v5)
        max_steps=args.max_steps,
        save_strategy="no",
        report_to=[],
        seed=42,
        logging_steps=50,
        bf16=args.bf16,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train,
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15),
    )
    metrics = trainer.train().metrics
    trainer.save_model(args.output_dir)
    tokenizer.save_pretrained(args.output_dir)
    print(
        json.dumps(
            {
                "train_samples_per_second": metrics["train_samples_per_second"],
                "train_runtime_s": metrics["train_runtime"],
            }
        )
    )


if __name__ == "__main__":
    main()
