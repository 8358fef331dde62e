"""Prediction with a trained model (`bertcli predict`): per-task predictors on a shared batched base, BERT's
forward in plain torch (plain_bert.py), and the readers and writers of records (records.py)."""
