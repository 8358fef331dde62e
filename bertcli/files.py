"""File modes: safetensors writes its files as 0600 whatever the umask, so another account (a service that loads
the model) could not read them; bertcli's other files follow the umask, and these are made to as well."""

from __future__ import annotations

import os
from pathlib import Path


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def follow_umask(root: Path) -> None:
    """Give every *.safetensors file under `root` (or `root` itself) the mode a new file gets here (0644 at umask
    022)."""
    root = Path(root)
    mode = 0o666 & ~current_umask()
    for path in [root] if root.is_file() else root.rglob("*.safetensors"):
        os.chmod(path, mode)
