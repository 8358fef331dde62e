"""The reference for whole-command inference: what a user writes with `transformers.pipeline`.

python bench/references/pipeline_predict.py --model DIR --input-file dev.tsv --output-file out.jsonl
"""

import argparse
import csv
import json

from transformers import pipeline


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--input-file", required=True)
    parser.add_argument("--output-file", required=True)
    parser.add_argument("--batch-size", type=int, default=32)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)

    with open(args.input_file, encoding="utf-8", newline="") as f:
        texts = [row["sentence"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    classify = pipeline("text-classification", model=args.model, batch_size=args.batch_size, device=-1)
    with open(args.output_file, "w", encoding="utf-8") as out:
        for text, result in zip(texts, classify(texts)):
            out.write(json.dumps({"text": text, "label": result["label"], "score": result["score"]}) + "\n")


if __name__ == "__main__":
    main()
