"""Sequence classification and regression on the pooled [CLS] output: `bertcli finetune cls`."""
