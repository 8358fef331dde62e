"""Load a model and tokenizer by path or hub name; create a BERT from scratch with a WordPiece tokenizer.

Sizes are Google's BERT family (github.com/google-research/bert, "smaller BERT models"), with
attention heads = hidden / 64 and feed-forward size = 4 x hidden.
"""

from __future__ import annotations

import math
from pathlib import Path

from bertcli.errors import BertcliError
from bertcli.files import follow_umask

SIZES = {  # name: (layers, hidden)
    "tiny": (2, 128),
    "mini": (4, 256),
    "small": (4, 512),
    "medium": (8, 512),
    "base": (12, 768),
    "large": (24, 1024),
}
BERT_INITIALIZER_RANGE = 0.02  # the standard deviation of BERT's initial weights
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Weight files that are Python pickles: loading one can run arbitrary code, so only --allow-pickle does.
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")


def is_electra_discriminator(model_config: dict) -> bool:
    """Whether a model's config.json (as a dict) is an ELECTRA discriminator's: a replaced-token-detection head
    and no masked-LM head."""
    return any(a.endswith("ForReplacedTokenDetection") for a in model_config.get("architectures") or [])


def _not_found(model: str, error: Exception) -> BertcliError:
    reason = str(error).splitlines()[0]
    if Path(model).is_dir():
        where = f"the directory holds no usable model ({reason})"
    elif Path(model).is_absolute() or model.startswith(("./", "../", "~")):  # a path: no hub name looks like this
        where = "no such directory"
    else:
        where = f"not a local directory, and the Hugging Face Hub could not provide it ({reason})"
    return BertcliError(
        f"cannot load model '{model}': {where}; pass a directory made by bertcli or `init-model`, or a hub model name"
    )


def load_config(model: str):
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model)
    except (OSError, ValueError) as e:
        raise _not_found(model, e) from e
    if config.model_type != "bert":
        raise BertcliError(
            f"model '{model}' is a {config.model_type} model, not a BERT (model_type 'bert'): "
            "pass a BERT checkpoint or a directory made by bertcli or `init-model`"
        )
    return config


def load_tokenizer(model: str):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
    except (OSError, ValueError) as e:
        raise _not_found(model, e) from e
    if len(tokenizer) <= len(tokenizer.all_special_tokens):  # transformers builds an empty one when files are missing
        raise BertcliError(
            f"model '{model}' has no tokenizer (no tokenizer.json or vocab.txt): copy the tokenizer "
            "files of the model it was trained from into it"
        )
    if not tokenizer.is_fast:
        raise BertcliError(f"model '{model}' has no fast tokenizer (tokenizer.json): bertcli needs one for offsets")
    return tokenizer


def load_pretrained(auto_class, model: str, allow_pickle: bool = False, **kwargs):
    """`auto_class.from_pretrained(model)` from safetensors only, unless the user allows pickled weights;
    never with remote code."""
    try:
        return auto_class.from_pretrained(
            model, use_safetensors=None if allow_pickle else True, trust_remote_code=False, **kwargs
        )
    except OSError as e:
        if not allow_pickle and any((Path(model) / name).is_file() for name in PICKLE_WEIGHTS):
            raise BertcliError(
                f"model '{model}' has only pickled weights (pytorch_model.bin), which can run code when loaded: "
                "convert them to safetensors, or pass --allow-pickle if you trust their source"
            ) from e
        raise _not_found(model, e) from e


def check_max_length(model_config, max_seq_length: int, model: str) -> None:
    limit = getattr(model_config, "max_position_embeddings", None)
    if limit is not None and max_seq_length > limit:
        raise BertcliError(
            f"--max-seq-length {max_seq_length} is longer than model '{model}' supports ({limit} positions): "
            f"pass --max-seq-length {limit} or less"
        )


def quiet_transformers() -> None:
    """Load reports and warnings are noise on the command line; errors still show."""
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()


def train_wordpiece(files: list[str], vocab_size: int, lowercase: bool):
    """Train a BERT WordPiece tokenizer on text files; returns a transformers BertTokenizer (fast)."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizer

    for f in files:
        if not Path(f).is_file():
            raise BertcliError(f"corpus file not found: {f}")
    # BERT cuts Chinese text into characters: every one seen is kept as a token (the trainer's default alphabet of
    # 1000 characters would turn the rarer ones into [UNK]), besides the usual 1000 for everything else.
    alphabet = 1000 + len(cjk_characters(files))

    def train(first_tokens: list[str]) -> dict[str, int]:
        trainer = BertWordPieceTokenizer(lowercase=lowercase, strip_accents=lowercase)
        trainer.train(
            [str(f) for f in files],
            vocab_size=vocab_size,
            limit_alphabet=alphabet,
            special_tokens=[*SPECIAL_TOKENS, *first_tokens],
            show_progress=False,
        )
        return trainer.get_vocab()

    # The trainer numbers the word-inner characters (`##e`) in hash-map order, new in every run, and breaks ties
    # between equally frequent merges by those numbers: one corpus gives other vocabularies (huggingface/tokenizers
    # #1794). Handed those characters, sorted, as its first tokens, a second run numbers them the same every time.
    inner = sorted(token for token in train([]) if token.startswith("##") and len(token) == 3)
    vocab = train(inner)
    if len(vocab) <= len(SPECIAL_TOKENS) + len(inner):
        raise BertcliError(f"corpus {', '.join(files)} holds no text to build a vocabulary from")
    return BertTokenizer(vocab=vocab, do_lower_case=lowercase, strip_accents=lowercase)


# The code-point blocks BERT's basic tokenizer splits into single characters (CJK ideographs).
CJK_RANGES = [
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
]


def cjk_characters(files: list[str]) -> set[str]:
    """The distinct CJK ideographs in text files."""
    seen: set[str] = set()
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                seen.update(line)
    return {c for c in seen if any(lo <= ord(c) <= hi for lo, hi in CJK_RANGES)}


def create_model(
    size: str, vocab_size: int, max_position_embeddings: int = 512, initializer_range: float = BERT_INITIALIZER_RANGE
):
    """A randomly initialised BertForPreTraining (MLM + NSP heads) of a named size, its weights drawn with standard
    deviation `initializer_range` (BERT's 0.02)."""
    from transformers import BertConfig, BertForPreTraining

    layers, hidden = SIZES[size]
    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=hidden // 64,
        intermediate_size=4 * hidden,
        max_position_embeddings=max_position_embeddings,
        initializer_range=initializer_range,
    )
    return BertForPreTraining(config)


def sinusoidal_positions(positions: int, width: int, std: float):
    """The Transformer's sine/cosine position table (Vaswani et al. 2017), scaled to `std`: position i+k is a fixed
    rotation of position i, so attention can find "the previous word" from the first step rather than having to
    learn a geometry for every position first."""
    import torch

    position = torch.arange(positions, dtype=torch.float32).unsqueeze(1)
    frequency = torch.exp(torch.arange(0, width, 2, dtype=torch.float32) * (-math.log(10000.0) / width))
    table = torch.zeros(positions, width)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: width // 2])
    return table * (std / table.std())


def init_model(
    out: Path,
    size: str,
    corpus: list[str],
    vocab_size: int,
    lowercase: bool,
    seed: int = 42,
    position_init: str = "random",
    initializer_range: float = BERT_INITIALIZER_RANGE,
) -> dict:
    """Write a new tokenizer (trained on `corpus`) and a random BERT of `size` to `out`; `position_init`
    "sinusoidal" starts its (learned) position embeddings from the sine/cosine table."""
    import torch

    tokenizer = train_wordpiece(corpus, vocab_size, lowercase)
    torch.manual_seed(seed)
    model = create_model(size, vocab_size=len(tokenizer), initializer_range=initializer_range)
    if position_init == "sinusoidal":
        table = model.bert.embeddings.position_embeddings.weight
        with torch.no_grad():
            table.copy_(sinusoidal_positions(*table.shape, std=model.config.initializer_range))
    tokenizer.model_max_length = model.config.max_position_embeddings
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    follow_umask(out)
    tokenizer.save_pretrained(out)
    return {"size": size, "vocab_size": len(tokenizer), "parameters": model.num_parameters()}
