"""Model files follow the umask like every other file bertcli writes (safetensors alone writes 0600), so another
account, a service that serves the model, can read them."""

import stat

from bertcli.files import current_umask


def test_saved_weights_follow_the_umask(classifier, tiny_model):
    wanted = 0o666 & ~current_umask()
    weights = [classifier / "model.safetensors", tiny_model / "model.safetensors"]
    weights += list((classifier / "checkpoints").rglob("*.safetensors"))
    assert len(weights) >= 2
    for path in weights:
        assert stat.S_IMODE(path.stat().st_mode) == wanted, path
    assert stat.S_IMODE((classifier / "config.json").stat().st_mode) == wanted  # as the other files are
