"""The reference for question answering: Hugging Face's run_qa.py recipe (HF Trainer, features padded to
max_seq_length, utils_qa-style post-processing), written as a user would. The SQuAD JSON is flattened with
bertcli's reader and scored with bertcli's offline copy of the `squad` metric (evaluate.load needs the Hub).
Prints one JSON line.

    python bench/references/reference_qa.py --model M --train-file train.json --validation-file dev.json --output-dir O
"""

import argparse
import collections
import json

import numpy as np
from datasets import Dataset
from transformers import (
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    Trainer,
    TrainingArguments,
    default_data_collator,
    set_seed,
)

from bertcli.metrics import load_metric
from bertcli.tasks.question_answering.squad import read_squad_json


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--validation-file", required=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--max-train-samples", type=int)
    parser.add_argument("--max-eval-samples", type=int)
    parser.add_argument("--max-seq-length", type=int, default=384)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    train_examples = Dataset.from_list(read_squad_json(args.train_file))
    eval_examples = Dataset.from_list(read_squad_json(args.validation_file))
    if args.max_train_samples:
        train_examples = train_examples.select(range(args.max_train_samples))
    if args.max_eval_samples:
        eval_examples = eval_examples.select(range(args.max_eval_samples))

    def prepare_train_features(examples):
        examples["question"] = [q.lstrip() for q in examples["question"]]
        tokenized = tokenizer(
            examples["question"],
            examples["context"],
            truncation="only_second",
            max_length=args.max_seq_length,
            stride=args.doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="max_length",
        )
        sample_mapping = tokenized.pop("overflow_to_sample_mapping")
        offset_mapping = tokenized.pop("offset_mapping")
        tokenized["start_positions"], tokenized["end_positions"] = [], []
        for i, offsets in enumerate(offset_mapping):
            input_ids = tokenized["input_ids"][i]
            cls_index = input_ids.index(tokenizer.cls_token_id)
            sequence_ids = tokenized.sequence_ids(i)
            answers = examples["answers"][sample_mapping[i]]
            if len(answers["answer_start"]) == 0:
                tokenized["start_positions"].append(cls_index)
                tokenized["end_positions"].append(cls_index)
                continue
            start_char = answers["answer_start"][0]
            end_char = start_char + len(answers["text"][0])
            token_start = 0
            while sequence_ids[token_start] != 1:
                token_start += 1
            token_end = len(input_ids) - 1
            while sequence_ids[token_end] != 1:
                token_end -= 1
            if not (offsets[token_start][0] <= start_char and offsets[token_end][1] >= end_char):
                tokenized["start_positions"].append(cls_index)
                tokenized["end_positions"].append(cls_index)
            else:
                while token_start < len(offsets) and offsets[token_start][0] <= start_char:
                    token_start += 1
                tokenized["start_positions"].append(token_start - 1)
                while offsets[token_end][1] >= end_char:
                    token_end -= 1
                tokenized["end_positions"].append(token_end + 1)
        return tokenized

    def prepare_validation_features(examples):
        examples["question"] = [q.lstrip() for q in examples["question"]]
        tokenized = tokenizer(
            examples["question"],
            examples["context"],
            truncation="only_second",
            max_length=args.max_seq_length,
            stride=args.doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="max_length",
        )
        sample_mapping = tokenized.pop("overflow_to_sample_mapping")
        tokenized["example_id"] = []
        for i in range(len(tokenized["input_ids"])):
            sequence_ids = tokenized.sequence_ids(i)
            tokenized["example_id"].append(examples["id"][sample_mapping[i]])
            tokenized["offset_mapping"][i] = [
                o if sequence_ids[k] == 1 else None for k, o in enumerate(tokenized["offset_mapping"][i])
            ]
        return tokenized

    train_features = train_examples.map(
        prepare_train_features, batched=True, remove_columns=train_examples.column_names
    )
    if args.max_train_samples:  # as run_qa.py does: features are capped too
        train_features = train_features.select(range(min(args.max_train_samples, len(train_features))))
    eval_features = eval_examples.map(
        prepare_validation_features, batched=True, remove_columns=eval_examples.column_names
    )
    if args.max_eval_samples:
        eval_features = eval_features.select(range(min(args.max_eval_samples, len(eval_features))))

    def postprocess(examples, features, start_logits_all, end_logits_all, n_best=20, max_answer_length=30):
        """utils_qa.postprocess_qa_predictions, v1 path."""
        feature_index = {k: i for i, k in enumerate(examples["id"])}
        per_example = collections.defaultdict(list)
        for i, feature in enumerate(features):
            per_example[feature_index[feature["example_id"]]].append(i)
        predictions = {}
        for example_index, example in enumerate(examples):
            candidates = []
            for feature_index_ in per_example[example_index]:
                start_logits, end_logits = start_logits_all[feature_index_], end_logits_all[feature_index_]
                offsets = features[feature_index_]["offset_mapping"]
                for start in np.argsort(start_logits)[-1 : -n_best - 1 : -1].tolist():
                    for end in np.argsort(end_logits)[-1 : -n_best - 1 : -1].tolist():
                        if (
                            start >= len(offsets)
                            or end >= len(offsets)
                            or offsets[start] is None
                            or offsets[end] is None
                            or len(offsets[start]) < 2
                            or len(offsets[end]) < 2
                        ):
                            continue
                        if end < start or end - start + 1 > max_answer_length:
                            continue
                        candidates.append((start_logits[start] + end_logits[end], offsets[start][0], offsets[end][1]))
            best = max(candidates) if candidates else (0.0, 0, 0)
            predictions[example["id"]] = example["context"][best[1] : best[2]]
        return predictions

    set_seed(args.seed)  # as run_glue.py / run_qa.py do: the new head's initial weights follow the seed
    model = AutoModelForQuestionAnswering.from_pretrained(args.model)
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
    trainer = Trainer(
        model=model, args=training_args, train_dataset=train_features, data_collator=default_data_collator
    )
    train = trainer.train().metrics
    output = trainer.predict(eval_features.remove_columns(["example_id", "offset_mapping"]))
    start_logits, end_logits = output.predictions
    predictions = postprocess(eval_examples, eval_features, start_logits, end_logits)
    scores = load_metric("squad").compute(
        predictions=[{"id": k, "prediction_text": v} for k, v in predictions.items()],
        references=[{"id": e["id"], "answers": e["answers"]} for e in eval_examples],
    )
    print(
        json.dumps(
            {
                "train_samples_per_second": train["train_samples_per_second"],
                "train_runtime_s": train["train_runtime"],
                "train_features": len(train_features),
                "exact_match": float(scores["exact_match"]),
                "f1": float(scores["f1"]),
                "eval_samples_per_second": output.metrics["test_samples_per_second"],
            }
        )
    )


if __name__ == "__main__":
    main()
