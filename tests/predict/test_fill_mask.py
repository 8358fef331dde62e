"""`predict` of a pre-training model: the masked word filled in."""

from tests.helpers import jsonl, run_cli


def test_fill_mask_from_a_pre_training_model(tiny_model):
    result = run_cli("predict", "--model", tiny_model, "the film was [MASK] .", "--top-k", "3")
    assert result.code == 0, result.stderr
    out = jsonl(result.stdout)[0]
    assert len(out["predictions"]) == 1 and len(out["predictions"][0]) == 3
    assert "[MASK]" not in out["filled"]
