"""BERT pre-training from raw text, masked LM + next-sentence prediction: `bertcli pretrain`."""
