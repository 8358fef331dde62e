"""ELECTRA pre-training (Clark et al. 2020): `bertcli pretrain --objective electra`.

A small generator (a masked LM a `--generator-size` fraction of the model's width and heads, its depth or
`--generator-layers`) fills the masked positions with samples from its predictions (temperature 1); the model, the
discriminator, sees the corrupted text and tells for every non-padding token whether it was replaced (a sample equal
to the original counts as original). Loss = generator MLM + rtd_weight x replaced-token detection. The two share
their token and position embeddings (the generator projects them down to its width, as ELECTRA's generator does).

The discriminator is a BERT (`BertForReplacedTokenDetection`: BertModel + ELECTRA's two-layer head), saved in OUT
where `finetune cls`, `finetune squad` and `AutoModel` load it; the generator is an ElectraForMaskedLM (a BERT
whose embeddings are the discriminator's width) saved in OUT/generator, a fill-mask model. Sampling draws on one
uniform number per position that the collate function draws with the masks, so evaluation samples the same way
every time and a resumed run the same as an uninterrupted one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import BertConfig, BertModel, BertPreTrainedModel, ElectraConfig, ElectraForMaskedLM
from transformers.activations import ACT2FN
from transformers.utils import ModelOutput

from bertcli.modeling import load_pretrained
from bertcli.tasks.base import Models, TaskData
from bertcli.tasks.pretraining.task import PretrainingTask

GENERATOR = "generator"  # its name among the trained models, and its folder in OUT and checkpoints


class BertForReplacedTokenDetection(BertPreTrainedModel):
    """BERT with ELECTRA's discriminator head: one logit per token, > 0 for "replaced"."""

    config_class = BertConfig

    def __init__(self, config):
        super().__init__(config)
        self.bert = BertModel(config)
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = ACT2FN[config.hidden_act]
        self.dense_prediction = nn.Linear(config.hidden_size, 1)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None, **kwargs):
        hidden = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
        logits = self.dense_prediction(self.activation(self.dense(hidden))).squeeze(-1)
        loss = None
        if labels is not None:
            active = attention_mask.bool() if attention_mask is not None else torch.ones_like(labels, dtype=torch.bool)
            loss = nn.functional.binary_cross_entropy_with_logits(logits[active].float(), labels[active].float())
        return ReplacedTokenOutput(loss=loss, logits=logits)


def generator_config(config: BertConfig, size: float, layers: int | None = None) -> ElectraConfig:
    """A generator `size` times the discriminator's width (the same head size, fewer heads), `layers` deep (default:
    the discriminator's depth)."""
    heads = max(1, round(config.num_attention_heads * size))
    head_size = config.hidden_size // config.num_attention_heads
    return ElectraConfig(
        vocab_size=config.vocab_size,
        embedding_size=config.hidden_size,  # the shared embeddings are the discriminator's width
        hidden_size=heads * head_size,
        num_attention_heads=heads,
        num_hidden_layers=layers or config.num_hidden_layers,
        intermediate_size=max(1, round(config.intermediate_size * heads / config.num_attention_heads)),
        hidden_act=config.hidden_act,
        hidden_dropout_prob=config.hidden_dropout_prob,
        attention_probs_dropout_prob=config.attention_probs_dropout_prob,
        max_position_embeddings=config.max_position_embeddings,
        type_vocab_size=config.type_vocab_size,
        layer_norm_eps=config.layer_norm_eps,
        pad_token_id=config.pad_token_id,
        initializer_range=config.initializer_range,
        architectures=["ElectraForMaskedLM"],
    )


def share_embeddings(generator: ElectraForMaskedLM, discriminator: BertForReplacedTokenDetection) -> None:
    """The generator's token and position embeddings become the discriminator's (one parameter each), and its output
    layer stays tied to the token embeddings."""
    ours, theirs = generator.electra.embeddings, discriminator.bert.embeddings
    ours.word_embeddings = theirs.word_embeddings
    ours.position_embeddings = theirs.position_embeddings
    generator.generator_lm_head.weight = theirs.word_embeddings.weight


def sample(logits: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """One token per row of `logits` (tokens, vocabulary) from softmax(logits), by inverting the cumulative
    distribution at `uniform` (tokens,), numbers in [0, 1)."""
    cumulative = torch.softmax(logits.float(), dim=-1).cumsum(-1)
    target = (uniform * cumulative[:, -1]).unsqueeze(-1)
    return torch.searchsorted(cumulative, target).squeeze(-1).clamp(max=logits.shape[-1] - 1)


def replace_masked(input_ids, labels, sampled) -> tuple[torch.Tensor, torch.Tensor]:
    """(the discriminator's input, its labels): the original tokens with the masked positions (labels != -100)
    replaced by the generator's samples; a position is "replaced" (1) where the sample differs from the original."""
    chosen = labels != -100
    original = torch.where(chosen, labels, input_ids)
    corrupted = original.masked_scatter(chosen, sampled)
    return corrupted, (corrupted != original).long()


class ElectraTask(PretrainingTask):
    def collate(self, features: list[dict]) -> dict[str, torch.Tensor]:
        batch = super().collate(features)
        batch["sample_uniform"] = torch.rand(batch["input_ids"].shape, generator=self.batch_generator(batch, 1))
        return batch

    def build_models(self, data: TaskData) -> Models:
        model = self.cfg.model
        discriminator, info = load_pretrained(
            BertForReplacedTokenDetection, model, self.cfg.train.allow_pickle, output_loading_info=True
        )
        saved = Path(model) / GENERATOR
        if (saved / "config.json").is_file():  # continuing an ELECTRA run: its generator too
            generator = load_pretrained(ElectraForMaskedLM, str(saved), self.cfg.train.allow_pickle)
        else:
            options = self.cfg.options
            generator = ElectraForMaskedLM(
                generator_config(discriminator.config, options.generator_size, options.generator_layers)
            )
            print(
                f"Newly initialised: a generator of hidden size {generator.config.hidden_size} (attention heads: "
                f"{generator.config.num_attention_heads}, layers: {generator.config.num_hidden_layers})"
            )
        new = sorted({key.rsplit(".", 1)[0] for key in info["missing_keys"] if not key.startswith("bert.")})
        if new:
            print(f"Newly initialised (not in {model}): the replaced-token head ({', '.join(new)})")
        share_embeddings(generator, discriminator)
        discriminator.bert.pooler.requires_grad_(False)  # ELECTRA does not train it (nor may DDP wait for it)
        discriminator.config.architectures = ["BertForReplacedTokenDetection"]
        return Models(trained={"model": discriminator, GENERATOR: generator})

    def forward(self, models, batch):
        discriminator, generator = models["model"], models[GENERATOR]
        labels, mask = batch["labels"], batch["attention_mask"]
        chosen = labels != -100
        hidden = generator.electra(
            batch["input_ids"], attention_mask=mask, token_type_ids=batch["token_type_ids"]
        ).last_hidden_state[chosen]
        mlm_logits = generator.generator_lm_head(generator.generator_predictions(hidden))  # masked positions only
        mlm_loss = nn.functional.cross_entropy(mlm_logits.float(), labels[chosen])
        with torch.no_grad():
            sampled = sample(mlm_logits.detach(), batch["sample_uniform"][chosen])
        corrupted, replaced = replace_masked(batch["input_ids"], labels, sampled)
        detection = discriminator(
            corrupted, attention_mask=mask, token_type_ids=batch["token_type_ids"], labels=replaced
        )
        return ElectraOutput(
            loss=mlm_loss + self.cfg.options.rtd_weight * detection.loss,
            prediction_logits=mlm_logits,
            rtd_logits=detection.logits,
            replaced=replaced,
        )

    def metric_names(self, data: TaskData) -> list[str]:
        return ["rtd_accuracy", "rtd_f1", "mlm_accuracy", "perplexity", "replaced_share"]

    def eval_outputs(self, outputs, batch):
        kept = super().eval_outputs(outputs, batch)  # the generator's masked-LM sums
        active = batch["attention_mask"].bool()
        predicted, replaced = (outputs.rtd_logits > 0) & active, outputs.replaced.bool() & active
        token_loss = nn.functional.binary_cross_entropy_with_logits(
            outputs.rtd_logits.float(), outputs.replaced.float(), reduction="none"
        )
        return {
            **kept,
            "rtd_loss_sum": (token_loss * active).sum(1),
            "rtd_tokens": active.sum(1),
            "rtd_correct": ((predicted == replaced) & active).sum(1),
            "rtd_true_positive": (predicted & replaced).sum(1),
            "rtd_predicted": predicted.sum(1),
            "rtd_replaced": replaced.sum(1),
        }

    def compute_metrics(self, outputs, data):
        metrics, _ = super().compute_metrics(outputs, data)
        tokens, replaced = int(outputs["rtd_tokens"].sum()), int(outputs["rtd_replaced"].sum())
        true_positive, predicted = int(outputs["rtd_true_positive"].sum()), int(outputs["rtd_predicted"].sum())
        precision, recall = true_positive / max(predicted, 1), true_positive / max(replaced, 1)
        share = replaced / max(tokens, 1)
        prior = -(share * math.log(share) + (1 - share) * math.log(1 - share)) if 0 < share < 1 else 0.0
        return {
            "rtd_accuracy": int(outputs["rtd_correct"].sum()) / max(tokens, 1),
            "rtd_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "rtd_precision": precision,
            "rtd_recall": recall,
            "replaced_share": share,  # calling every token original scores 1 - this
            "rtd_loss": float(outputs["rtd_loss_sum"].sum()) / max(tokens, 1),  # cross-entropy a token
            "rtd_prior_loss": prior,  # the cross-entropy of knowing only the replaced share
            **metrics,
        }, None


@dataclass
class ReplacedTokenOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None  # (batch, length): > 0 for "replaced"


@dataclass
class ElectraOutput(ModelOutput):
    loss: torch.Tensor | None = None
    prediction_logits: torch.Tensor | None = None  # the generator's, (masked tokens, vocabulary)
    rtd_logits: torch.Tensor | None = None
    replaced: torch.Tensor | None = None
