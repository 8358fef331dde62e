"""Distillation, `bertcli distill`: a smaller student trained against a frozen teacher (DistilBERT, TinyBERT)."""
