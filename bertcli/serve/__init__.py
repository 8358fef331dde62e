"""`bertcli serve`: a trained model behind an HTTP JSON API (app.py), with requests batched across clients
(batcher.py)."""
