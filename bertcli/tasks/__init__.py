"""Tasks: what differs between pre-training, classification, question answering, token classification and
distillation; the trainer (bertcli/training/) does the rest.

Each task is a package: options.py (its settings dataclasses: the flags, recipe keys and defaults; imports nothing
heavy), task.py (its Task: features, models, loss, metrics; see base.py) and the helpers only it uses. registry.py
lists them all. How the pieces fit, and how to add a task: docs/architecture.md.
"""
