"""The output directory: never overwritten without --overwrite-output-dir, and with it the run being replaced is kept
aside until the new one has saved its model (a failed run leaves it where the user can find it)."""

from tests import synthetic
from tests.helpers import finetune_cls_args, finetune_sentiment_args, run_cli


def test_overwriting_keeps_the_old_run_until_the_new_one_has_finished(tmp_path, tiny_model):
    rows = synthetic.score(80, seed=4)
    train = synthetic.write_csv(tmp_path / "train.csv", rows, ["sentence", "score"])
    validation = synthetic.write_csv(tmp_path / "validation.csv", rows[:20], ["sentence", "score"])
    out = tmp_path / "out"
    settings = {"label_column": "score", "lr": None, "batch_size": 8, "logging_steps": None}
    args = finetune_cls_args(tiny_model, out, train, validation, **settings, max_steps=2)
    assert run_cli(*args).code == 0
    old = (out / "model.safetensors").read_bytes()

    broken = synthetic.write_csv(tmp_path / "broken.csv", [(t, float("inf")) for t, _ in rows], ["sentence", "score"])
    failed = run_cli(*args, "--overwrite-output-dir", "--train-file", broken)
    assert failed.code == 2 and "loss became NaN" in failed.stderr
    kept = tmp_path / ".out.replaced"
    assert f"the run this one was replacing is kept in {kept}" in failed.stderr
    assert (kept / "model.safetensors").read_bytes() == old

    assert run_cli(*args, "--overwrite-output-dir", "--seed", "7").code == 0
    assert not kept.exists()  # deleted once the new run has saved its model
    assert (out / "model.safetensors").read_bytes() != old


def test_output_dir_is_never_overwritten_without_the_flag(classifier, tiny_model, sentiment_data):
    out = classifier
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    result = run_cli(*finetune_sentiment_args(tiny_model, out, sentiment_data, max_steps=2))
    assert result.code == 2
    assert "--overwrite-output-dir" in result.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
