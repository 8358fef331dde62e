"""Training and evaluation: the one Accelerate loop (trainer.py), its set-up (setup.py), evaluation, checkpoints."""
