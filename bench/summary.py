"""Collect the benchmark tables of bench/results/*.md into bench/results/summary.md."""

from common import RESULTS

ORDER = ["classification", "question_answering", "question_answering_2000", "pretraining", "predict", "gpu", "pretraining_gain_gpu"]
parts = [(RESULTS / f"{name}.md").read_text().strip() for name in ORDER if (RESULTS / f"{name}.md").is_file()]
(RESULTS / "summary.md").write_text("\n\n".join(parts) + "\n")
print("\n\n".join(parts))
