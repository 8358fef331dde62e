"""Does a pre-trained start still tell tokens apart? The spread of its hidden states, layer by layer, over the words
of SST-2 dev sentences (never pre-trained on): the share of their variance along the top direction, and their
effective rank (Roy and Vetterli 2007: exp of the entropy of the normalised singular values; 1 for states on a
line, the hidden size for states spread evenly). A start whose last layer has collapsed onto one direction hands
fine-tuning the same vector for every word, which it must first undo.

Words only: [CLS], [SEP] and padding are left out (special tokens are easy to tell from words and would make a
collapsed layer look rank 2). Each layer's states are centred on their mean first.

    python bench/studies/hidden_rank.py [--models DIR ...]   # default: every model pretraining_gain.py made
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/: common.py, offline_data.py

import torch
from common import STUDY_RESULTS, WORK, markdown, sst2_dev_sentences, write_results
from mlm_context import label


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models", nargs="*", help="BERT model or checkpoint directories (default: work/gain/*-init-* and pretrain-*)"
    )
    parser.add_argument("--sentences", type=int, default=872, help="SST-2 dev sentences")
    parser.add_argument("--name", default="hidden_rank", help="results file name in bench/studies/results/")
    return parser.parse_args(argv)


def spread(states: torch.Tensor) -> dict:
    """Top-direction variance share and effective rank of `states` (tokens, hidden), centred."""
    singular = torch.linalg.svdvals((states - states.mean(0)).double())
    variance = singular**2
    p = singular / singular.sum()
    return {
        "top_share": float(variance[0] / variance.sum()),
        "effective_rank": float(torch.exp(-(p * p.clamp_min(1e-300).log()).sum())),
    }


def probe(path, sentences: list[str]) -> list[dict]:
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()  # the encoder of any BERT head
    batch = tokenizer(sentences, truncation=True, max_length=64, padding=True, return_tensors="pt")
    words = batch["attention_mask"].bool() & ~torch.isin(batch["input_ids"], torch.tensor(tokenizer.all_special_ids))
    layers = []
    with torch.inference_mode():
        for i in range(0, len(sentences), 64):
            part = {k: v[i : i + 64] for k, v in batch.items()}
            hidden = model(**part, output_hidden_states=True).hidden_states  # embeddings, then each layer
            layers.append([h[words[i : i + 64]] for h in hidden])
    return [spread(torch.cat(states)) for states in zip(*layers)]


def main(argv=None) -> None:
    args = parse_args(argv)
    found = [*(WORK / "gain").glob("*-init-*"), *(WORK / "gain").glob("pretrain-*")]
    models = args.models or sorted(str(p) for p in found if (p / "config.json").is_file())
    sentences = sst2_dev_sentences()[: args.sentences]
    results = {model: probe(model, sentences) for model in models}
    print(json.dumps(results, indent=2))
    depth = max(len(r) for r in results.values())
    names = ["embeddings", *(f"layer {n}" for n in range(1, depth))]
    rows = [
        [label(model), *(f"{s['top_share']:.3f} / {s['effective_rank']:.1f}" for s in layers)]
        for model, layers in results.items()
    ]
    table = markdown(["model", *names], rows)
    table += (
        f"\n\nEach cell: the share of the hidden states' variance along their top direction / their effective rank, "
        f"over the words of {len(sentences)} SST-2 dev sentences.\n"
    )
    write_results(args.name, results, table, folder=STUDY_RESULTS)


if __name__ == "__main__":
    main()
