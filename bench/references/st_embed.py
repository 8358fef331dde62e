"""The reference for whole-command embedding: what a user writes with sentence-transformers.

python bench/references/st_embed.py --model DIR --input-file dev.tsv --output-file out.npy [--batch-size 32]
"""

import argparse
import csv

import numpy as np


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--input-file", required=True)
    parser.add_argument("--output-file", required=True)
    parser.add_argument("--batch-size", type=int, default=32)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    from sentence_transformers import SentenceTransformer

    with open(args.input_file, encoding="utf-8", newline="") as f:
        texts = [row["sentence"] for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
    model = SentenceTransformer(args.model, device="cpu")
    np.save(args.output_file, model.encode(texts, batch_size=args.batch_size).astype(np.float32))


if __name__ == "__main__":
    main()
