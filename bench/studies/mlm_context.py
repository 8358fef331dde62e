"""Does a masked-LM model read context? Its masked-token accuracy with the sentence around each mask, with the
sentence's other words shuffled, and with every other word masked too, against always guessing the most frequent
token. A model on the unigram plateau scores the same in all four; one that reads context scores far higher with it.

Every chosen token (15% of each sentence's tokens, seed 0) is replaced by [MASK], none kept or randomised, so the
accuracy is not inflated by copying (bertcli's held-out `mlm_accuracy` follows BERT's 80/10/10, and the 10% kept
tokens count there). Sentences: the SST-2 dev set (never pre-trained on).

    python bench/studies/mlm_context.py [--models DIR ...]   # default: the MLM models pretraining_gain.py made
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/: common.py, offline_data.py

import torch
from common import STUDY_RESULTS, WORK, markdown, sst2_dev_sentences, write_results


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="fill-mask model directories (default: work/gain/pretrain-mlm-*)")
    parser.add_argument("--sentences", type=int, default=872, help="SST-2 dev sentences to probe")
    return parser.parse_args(argv)


def probe(path, sentences: list[str]) -> dict:
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForMaskedLM.from_pretrained(path).eval()
    batch = tokenizer(sentences, truncation=True, max_length=128, padding=True, return_tensors="pt")
    ids, attention = batch["input_ids"], batch["attention_mask"]
    words = attention.bool() & ~torch.isin(ids, torch.tensor(tokenizer.all_special_ids))
    chosen = words & (torch.rand(ids.shape, generator=torch.Generator().manual_seed(0)) < 0.15)
    shuffled = ids.clone()
    order = torch.Generator().manual_seed(1)
    for row in range(len(ids)):
        where = words[row].nonzero().flatten()
        shuffled[row, where] = ids[row, where[torch.randperm(len(where), generator=order)]]
    inputs = {
        "in context": ids.masked_fill(chosen, tokenizer.mask_token_id),
        "other words shuffled": shuffled.masked_fill(chosen, tokenizer.mask_token_id),
        "no context": ids.masked_fill(words, tokenizer.mask_token_id),
    }
    accuracy = {}
    with torch.inference_mode():
        for name, masked in inputs.items():
            predicted = torch.cat(
                [
                    model(input_ids=masked[i : i + 64], attention_mask=attention[i : i + 64]).logits.argmax(-1)
                    for i in range(0, len(masked), 64)
                ]
            )
            accuracy[name] = (predicted[chosen] == ids[chosen]).float().mean().item()
    most_frequent = torch.bincount(ids[words]).argmax()
    accuracy["most frequent token"] = (ids[chosen] == most_frequent).float().mean().item()
    return {**accuracy, "masked_tokens": int(chosen.sum())}


def label(model: str) -> str:
    path = Path(model).resolve()
    return str(path.relative_to(WORK.resolve())) if path.is_relative_to(WORK.resolve()) else model


def main(argv=None) -> None:
    args = parse_args(argv)
    models = args.models or sorted(str(p) for p in (WORK / "gain").glob("pretrain-mlm-*") if p.is_dir())
    sentences = sst2_dev_sentences()[: args.sentences]
    results = {model: probe(model, sentences) for model in models}
    print(json.dumps(results, indent=2))
    columns = ["in context", "other words shuffled", "no context", "most frequent token"]
    rows = [[label(model), *(f"{r[c]:.3f}" for c in columns), r["masked_tokens"]] for model, r in results.items()]
    table = markdown(["model", *columns, "masked tokens"], rows)
    write_results(
        "mlm_context",
        results,
        table + f"\n\nMasked-token accuracy on {len(sentences)} SST-2 dev sentences.\n",
        folder=STUDY_RESULTS,
    )


if __name__ == "__main__":
    main()
