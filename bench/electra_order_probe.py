"""Why does ELECTRA's discriminator stay on its plateau when masked LM leaves it? A three-minute probe on the
successor-chain corpus of mlm_order_probe.py, where a word is certain from the word before it and nearly a guess
from the sentence's bag of words.

A `tiny` BERT (`bertcli init-model --size tiny`, 2 x 128) is pre-trained from random init with `--objective mlm`
and with `--objective electra` (generator 1/4, λ 50), both at lr 2e-3, no dropout, --steps steps of 32 x 64
tokens; the table follows, every --eval-every steps, MLM's held-out masked-LM accuracy, the ELECTRA generator's,
and how far the discriminator's replaced-token loss lies below the loss of knowing only the replaced share (its
prior). Then the trained discriminator reads held-out text with 15% of its tokens replaced, in turn, by tokens
drawn uniformly from the vocabulary and by tokens drawn from the text itself (unigram frequencies, what a
generator that has not learned order proposes): the share of each it calls replaced, against the share of
untouched tokens it calls replaced.

    python bench/electra_order_probe.py            # about 3 minutes on 2 CPU cores
"""

import argparse
import json

from common import WORK, markdown, mini_model, stage, write_results
from mlm_order_probe import chain_files

FLAGS = ["--lr", "2e-3", "--dropout", "0", "--max-seq-length", "64", "--batch-size", "32", "--warmup-ratio", "0.06"]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--eval-every", type=int, default=300)
    return parser.parse_args(argv)


def curve(out, key: str) -> dict[int, float]:
    log = map(json.loads, (out / "log.jsonl").read_text().splitlines())
    return {r["step"]: r[key] for r in log if key in r}


def detection(model_dir, text: str, seed: int = 0) -> dict[str, float]:
    """The share of replaced tokens the discriminator calls replaced, by kind of replacement, and of untouched ones."""
    import torch
    from transformers import AutoTokenizer

    from bertcli.tasks.pretraining.electra import BertForReplacedTokenDetection

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = BertForReplacedTokenDetection.from_pretrained(model_dir).eval()
    lines = [line for line in text.splitlines() if line.strip()]
    batch = tokenizer(lines, padding=True, truncation=True, max_length=64, return_tensors="pt")
    ids, attention = batch["input_ids"], batch["attention_mask"].bool()
    words = attention & ~torch.isin(ids, torch.tensor(tokenizer.all_special_ids))
    g = torch.Generator().manual_seed(seed)
    chosen = (torch.rand(ids.shape, generator=g) < 0.15) & words
    candidates = {
        "uniform": torch.randint(len(tokenizer.all_special_ids), tokenizer.vocab_size, ids.shape, generator=g),
        "unigram": ids[words][torch.randint(int(words.sum()), ids.shape, generator=g)],
    }
    shares = {}
    for kind, tokens in candidates.items():
        corrupted = torch.where(chosen, tokens, ids)
        replaced = chosen & (corrupted != ids)
        with torch.no_grad():
            called = model(corrupted, attention_mask=batch["attention_mask"]).logits > 0
        shares[f"{kind} replacements called replaced"] = float(called[replaced].float().mean())
        shares[f"untouched tokens called replaced ({kind})"] = float(called[words & ~replaced].float().mean())
    return shares


def main(argv=None) -> None:
    args = parse_args(argv)
    work, train, held_out = chain_files()
    init = mini_model(work / "tiny-random", [train], 400, size="tiny")
    runs = {}
    for objective in ("mlm", "electra"):
        name = f"order/tiny-{objective}-{args.steps}"
        stage(
            name,
            ["pretrain", "--model", init, "--train-file", train, "--validation-file", held_out, "--objective",
             objective, "--max-steps", args.steps, "--eval-steps", args.eval_every, "--save-steps", "0",
             "--no-report", *FLAGS],
        )  # fmt: skip
        runs[objective] = WORK / name
    loss, prior = (curve(runs["electra"], f"eval_rtd_{k}") for k in ("loss", "prior_loss"))
    curves = {
        "MLM: masked-LM accuracy": curve(runs["mlm"], "eval_mlm_accuracy"),
        "ELECTRA generator: masked-LM accuracy": curve(runs["electra"], "eval_mlm_accuracy"),
        "ELECTRA discriminator: replaced-token loss below its prior (nats)": {s: prior[s] - loss[s] for s in loss},
        "ELECTRA discriminator: replaced share": curve(runs["electra"], "eval_replaced_share"),
        "ELECTRA discriminator: F1 on replaced tokens": curve(runs["electra"], "eval_rtd_f1"),
    }
    steps = sorted(loss)
    rows = [[name, *(f"{values[s]:.3f}" for s in steps)] for name, values in curves.items()]
    shares = detection(runs["electra"], held_out.read_text(encoding="utf-8"))
    table = markdown(["held out", *(f"step {s}" for s in steps)], rows)
    detected = [[kind, f"{share:.3f}"] for kind, share in shares.items()]
    table += "\n\n" + markdown(["the trained discriminator on held-out text", "share"], detected)
    table += (
        f"\n\nA `tiny` BERT on the successor-chain corpus, {args.steps} steps x 32 x 64 tokens at lr 2e-3, no dropout; "
        "15% of held-out tokens replaced for the second table."
    )
    write_results("electra_order_probe", {"args": vars(args), "curves": curves, "detection": shares}, table + "\n")


if __name__ == "__main__":
    main()
