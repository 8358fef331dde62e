#!/usr/bin/env bash
# The offline end-to-end demo (`make demo`): a tiny BERT made from scratch on the bundled reviews,
# pre-trained briefly (masked LM + next-sentence prediction), fine-tuned as a sentiment classifier, then
# asked about new sentences.
set -euo pipefail
cd "$(dirname "$0")/.."
BERTCLI=".venv/bin/bertcli"
OUT=demo/out
rm -rf "$OUT"

echo "== 1. init-model: a WordPiece tokenizer trained on demo/data/corpus.txt, a random tiny BERT"
$BERTCLI init-model "$OUT/tiny" --size tiny --corpus demo/data/corpus.txt --vocab-size 2000

echo "== 2. pretrain: masked LM + next-sentence prediction on demo/data/pretrain.txt (recipe 'demo')"
$BERTCLI pretrain --recipe demo --model "$OUT/tiny" --output-dir "$OUT/pretrained"

echo "== 3. finetune cls: sentiment on demo/data/{train,validation}.csv"
$BERTCLI finetune cls --model "$OUT/pretrained" --output-dir "$OUT/sentiment" \
  --train-file demo/data/train.csv --validation-file demo/data/validation.csv --text-column sentence \
  --epochs 4 --lr 5e-4 --batch-size 32 --logging-steps 20

echo "== 4. metrics.json"
cat "$OUT/sentiment/metrics.json"

echo "== 5. predict: new sentences, with the saved classifier and with the pre-trained model (fill-mask)"
$BERTCLI predict --model "$OUT/sentiment" "the soundtrack was truly wonderful ." \
  "what a tedious way to spend two hours" "i would not call the ending dull ." "the acting was not very good ."
$BERTCLI predict --model "$OUT/pretrained" --top-k 3 "the film was truly [MASK] ."
