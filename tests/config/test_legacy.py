"""Settings that moved or changed shape: an old run.yaml still loads, read into the new place."""

from bertcli.config import resolve
from bertcli.tasks import registry


def test_a_run_yaml_from_before_settings_moved_still_loads(tmp_path):
    old = tmp_path / "run.yaml"
    old.write_text(
        "task: pretrain\nmodel: m\noutput_dir: out\ndata:\n  dataset: Salesforce/wikitext\n"
        "options:\n  nsp: false\n  whole_word_masking: true\n  line_by_line: true\n  lines_per_document: 8\n"
    )
    cfg = resolve(registry.get("pretrain"), None, str(old), {"output_dir": str(tmp_path / "again")})
    assert cfg.data.line_by_line is True and cfg.data.lines_per_document == 8 and cfg.options.nsp is False
    assert cfg.options.objective == "mlm" and cfg.options.masking == "whole-word"  # switches that became choices
    flagged = resolve(
        registry.get("pretrain"),
        None,
        str(old),
        {"output_dir": str(tmp_path / "again"), "data": {"line_by_line": False}},
    )
    assert flagged.data.line_by_line is False  # a flag still overrides the file
