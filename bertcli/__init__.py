"""bertcli: train, fine-tune and serve BERT models from the command line."""

__version__ = "0.1.0"
