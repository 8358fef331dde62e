"""Why does ELECTRA's discriminator stay on its plateau when masked LM leaves it? A probe of a few minutes on the
successor-chain corpus of mlm_order_probe.py, where a word is certain from the word before it and nearly a guess
from the sentence's bag of words.

A `tiny` BERT (`bertcli init-model --size tiny`, 2 x 128) is pre-trained from random init with `--objective mlm`
and with `--objective electra` (generator 1/4, λ 50), both at lr 2e-3, no dropout, --steps steps of 32 x 64
tokens, once for each --initializer-ranges scale of the random weights (BERT's 0.02, and larger); the table
follows, every --eval-every steps, MLM's held-out masked-LM accuracy, the ELECTRA generator's, and how far the
discriminator's replaced-token loss lies below the loss of knowing only the replaced share (its prior). Then the
trained discriminator reads held-out text with 15% of its tokens replaced, in turn, by tokens drawn uniformly from
the vocabulary and by tokens drawn from the text itself (unigram frequencies, what a generator that has not learned
order proposes): the share of each it calls replaced, against the share of untouched tokens it calls replaced.

    python bench/studies/electra_order_probe.py            # about 6 minutes on 2 CPU cores
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/: common.py, offline_data.py

from common import STUDY_RESULTS, WORK, eval_curve, markdown, mini_model, stage, write_results
from mlm_order_probe import chain_files

FLAGS = ["--lr", "2e-3", "--dropout", "0", "--max-seq-length", "64", "--batch-size", "32", "--warmup-ratio", "0.06"]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--eval-every", type=int, default=300)
    parser.add_argument(
        "--initializer-ranges", type=float, nargs="+", default=[0.02, 0.1], help="init-model --initializer-range"
    )
    return parser.parse_args(argv)


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
    curves, detected = {}, {}
    for scale in args.initializer_ranges:
        tag = f"init{scale:g}"
        init = mini_model(work / f"tiny-{tag}", [train], 400, size="tiny", initializer_range=scale)
        runs = {}
        for objective in ("mlm", "electra"):
            name = f"order/tiny-{tag}-{objective}-{args.steps}"
            stage(
                name,
                ["pretrain", "--model", init, "--train-file", train, "--validation-file", held_out, "--objective",
                 objective, "--max-steps", args.steps, "--eval-steps", args.eval_every, "--save-steps", "0",
                 "--no-report", *FLAGS],
            )  # fmt: skip
            runs[objective] = WORK / name
        loss, prior = (eval_curve(runs["electra"], f"eval_rtd_{k}") for k in ("loss", "prior_loss"))
        curves[scale] = {
            "MLM: masked-LM accuracy": eval_curve(runs["mlm"], "eval_mlm_accuracy"),
            "ELECTRA generator: masked-LM accuracy": eval_curve(runs["electra"], "eval_mlm_accuracy"),
            "ELECTRA discriminator: replaced-token loss below its prior (nats)": {s: prior[s] - loss[s] for s in loss},
            "ELECTRA discriminator: replaced share": eval_curve(runs["electra"], "eval_replaced_share"),
            "ELECTRA discriminator: F1 on replaced tokens": eval_curve(runs["electra"], "eval_rtd_f1"),
        }
        detected[scale] = detection(runs["electra"], held_out.read_text(encoding="utf-8"))
    steps = sorted(next(iter(curves[args.initializer_ranges[0]].values())))
    rows = [
        [f"init {scale:g}", name, *(f"{values[s]:.3f}" for s in steps)]
        for scale, by_name in curves.items()
        for name, values in by_name.items()
    ]
    table = markdown(["weights' init std", "held out", *(f"step {s}" for s in steps)], rows)
    kinds = list(next(iter(detected.values())))
    shares = [[kind, *(f"{detected[scale][kind]:.3f}" for scale in detected)] for kind in kinds]
    header = ["the trained discriminator on held-out text", *(f"init {scale:g}" for scale in detected)]
    table += "\n\n" + markdown(header, shares)
    table += (
        f"\n\nA `tiny` BERT on the successor-chain corpus, {args.steps} steps x 32 x 64 tokens at lr 2e-3, no dropout, "
        "from random weights drawn at each standard deviation (`init-model --initializer-range`; BERT's is 0.02); 15% "
        "of held-out tokens replaced for the second table."
    )
    results = {
        "args": vars(args),
        "curves": {f"{k:g}": v for k, v in curves.items()},
        "detection": {f"{k:g}": v for k, v in detected.items()},
    }
    write_results("electra_order_probe", results, table + "\n", folder=STUDY_RESULTS)


if __name__ == "__main__":
    main()
