"""run.yaml: the resolved configuration round-trips, and --print-config prints it (and runs nothing) so that it runs
again as printed."""

import yaml

from bertcli.config import save_run_yaml
from tests.helpers import resolve_cls, run_bertcli, training_args


def test_print_config_prints_the_resolved_run_yaml_and_runs_nothing(tiny_model, sentiment_data, tmp_path):
    out = tmp_path / "out"
    args = training_args("finetune squad", tiny_model, out, sentiment_data["train"], lr="1e-4", version_2=True)
    printed = run_bertcli(*args, "--print-config")
    assert printed.code == 0 and printed.stderr == "", printed.stderr
    config = yaml.safe_load(printed.stdout)
    assert config["task"] == "squad" and config["train"]["lr"] == 1e-4 and config["options"]["version_2"] is True
    assert config["train"]["max_seq_length"] == 384 and config["data"]["train_file"] == str(sentiment_data["train"])
    assert not out.exists()  # nothing run, nothing written
    (tmp_path / "printed.yaml").write_text(printed.stdout)
    again = run_bertcli("finetune", "squad", "--config", tmp_path / "printed.yaml", "--print-config")
    assert yaml.safe_load(again.stdout) == config  # what it prints runs as it says


def test_run_yaml_round_trips(tmp_path):
    cfg = resolve_cls(tmp_path, recipe="stsb", train={"lr": 4e-5, "seed": 7})
    path = tmp_path / "run.yaml"
    save_run_yaml(cfg, path)
    again = resolve_cls(tmp_path, config=str(path))
    assert again.to_dict() == cfg.to_dict()
    assert "versions" in yaml.safe_load(path.read_text())
