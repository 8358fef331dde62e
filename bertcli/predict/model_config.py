"""What predictors read of a model's config.json where no transformers config is loaded (PlainBert, OnnxModel);
imports nothing of bertcli, so that every predictor module can import it."""

from __future__ import annotations

from types import SimpleNamespace


def head_config(config: dict, head: str, classes: int) -> SimpleNamespace:
    """A classifier's label names, or transformers' defaults (LABEL_0, ...) for its `classes` outputs: transformers
    leaves default labels out of the file."""
    id2label = {int(i): label for i, label in (config.get("id2label") or {}).items()}
    if head in ("classification", "token-classification") and not id2label:
        id2label = {i: f"LABEL_{i}" for i in range(classes)}
    return SimpleNamespace(
        max_position_embeddings=config.get("max_position_embeddings", 512),
        id2label=id2label,
        num_labels=len(id2label),
        problem_type=config.get("problem_type"),
    )
