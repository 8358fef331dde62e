"""Fill-mask, for pre-trained models: the k likeliest tokens for each [MASK] of the text, and the text filled in."""

from __future__ import annotations

import torch

from bertcli.errors import BertcliError
from bertcli.modeling import is_electra_discriminator
from bertcli.predict.base import Predictor
from bertcli.tasks import registry


class FillMaskPredictor(Predictor):
    plain_head = "fill-mask"
    model_class = "AutoModelForMaskedLM"
    outputs = ("predictions", "filled")

    def __init__(self, model_dir: str, *args, top_k: int = 5, **kwargs):
        if is_electra_discriminator(registry.model_config(model_dir)):
            raise BertcliError(
                f"{model_dir} is an ELECTRA discriminator, which has no masked-LM head to fill masks with: fine-tune "
                f"it (bertcli finetune cls --model {model_dir} ...), or fill masks with its generator: "
                f"transformers.pipeline('fill-mask', model='{model_dir}/generator')"
            )
        super().__init__(model_dir, *args, **kwargs)
        self.top_k = top_k

    def predict_chunk(self, records: list[dict]) -> list[dict]:
        mask_id = self.tokenizer.mask_token_id
        texts = [r.get("text", "") for r in records]
        for n, text in enumerate(texts):
            if self.tokenizer.mask_token not in text:
                raise BertcliError(f"input {n + 1} has no {self.tokenizer.mask_token} token to fill: {text[:60]!r}")
        encoded = self._encode(texts)
        results: list[dict | None] = [None] * len(records)
        for positions, outputs in self._run(encoded):
            logits = outputs.logits.float()
            for row, i in enumerate(positions):
                ids = torch.tensor(encoded["input_ids"][i])
                where = (ids == mask_id).nonzero().flatten().tolist()
                probabilities = logits[row, where].softmax(-1)
                scores, tokens = probabilities.topk(self.top_k, dim=-1)
                masks = [
                    [
                        {"token": self.tokenizer.convert_ids_to_tokens(t), "score": s}
                        for t, s in zip(token_row, score_row)
                    ]
                    for token_row, score_row in zip(tokens.tolist(), scores.tolist())
                ]
                filled = ids.clone()
                filled[where] = tokens[:, 0].cpu()
                results[i] = {
                    **records[i],
                    "predictions": masks,
                    "filled": self.tokenizer.decode(filled, skip_special_tokens=True),
                }
        return results
