#!/usr/bin/env bash
# The offline end-to-end demo (`make demo`): a tiny BERT made from scratch on the bundled reviews,
# fine-tuned as a sentiment classifier, then asked about a few new sentences.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTCLI=".venv/bin/bertcli"
OUT=demo/out
rm -rf "$OUT"

echo "== 1. init-model: train a WordPiece tokenizer on demo/data/corpus.txt, write a random tiny BERT"
$BERTCLI init-model "$OUT/tiny" --size tiny --corpus demo/data/corpus.txt --vocab-size 2000

echo "== 2. finetune cls: sentiment on demo/data/{train,validation}.csv"
$BERTCLI finetune cls --model "$OUT/tiny" --output-dir "$OUT/sentiment" \
  --train-file demo/data/train.csv --validation-file demo/data/validation.csv --text-column sentence \
  --epochs 3 --lr 5e-4 --batch-size 32 --logging-steps 20

echo "== 3. metrics.json"
cat "$OUT/sentiment/metrics.json"

echo "== 4. classify new sentences with the saved model (transformers.pipeline)"
.venv/bin/python - "$OUT/sentiment" <<'PY'
import sys
from transformers import pipeline
classify = pipeline("text-classification", model=sys.argv[1])
for text in ["the soundtrack was truly wonderful .", "what a tedious way to spend two hours",
             "i would not call the ending dull .", "the acting was not very good .",
             "honestly , the cast felt clumsy from start to finish ."]:
    result = classify(text)[0]
    print(f"{result['label']:>8}  {result['score']:.3f}  {text}")
PY
