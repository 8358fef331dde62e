"""Tasks: what differs between pre-training, classification and question answering (and what comes next).

Each task is a package: options.py (its settings dataclasses: the flags, recipe keys and defaults; imports nothing
heavy), task.py (its Task: features, models, loss, metrics; see base.py) and the helpers only it uses. registry.py
lists them all; the CLI, recipes, `predict` and `evaluate` read it. To add one: a package here, a predictor in
bertcli/predict/, an entry in registry.py, a recipe, tests.
"""
