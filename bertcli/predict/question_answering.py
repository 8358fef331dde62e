"""Question answering: {"question", "answer", "score", "start", "end"} per input, with character offsets into
the context, by the same windows and span search as the task's evaluation (tasks/question_answering/squad.py)."""

from __future__ import annotations

from bertcli.predict.base import Predictor


class QuestionAnsweringPredictor(Predictor):
    """Answers from windows over the context, by the same span search as evaluation (squad.best_spans)."""

    plain_head = "question-answering"
    plain_tokenizer = False  # the windows need transformers' tokenizer (overflowing tokens, offsets)
    model_class = "AutoModelForQuestionAnswering"
    inputs = ("question", "context")
    outputs = ("answer", "score", "start", "end")

    def __init__(
        self,
        *args,
        doc_stride: int = 128,
        max_query_length: int = 64,
        n_best: int = 20,
        max_answer_length: int = 30,
        version_2: bool = False,
        null_score_diff_threshold: float = 0.0,
        **kwargs,
    ):
        from bertcli.tasks.question_answering.squad import SpanSettings, Windowing

        kwargs["max_length"] = kwargs.get("max_length") or 384
        super().__init__(*args, **kwargs)
        self.windowing = Windowing(self.max_length, doc_stride, max_query_length)
        self.spans = SpanSettings(n_best, max_answer_length, version_2, null_score_diff_threshold)

    @classmethod
    def saved_options(cls, saved_run: dict) -> dict:
        """Windows and span search as the model was trained and evaluated."""
        accepted = cls.accepted_options()
        options = {k: v for k, v in (saved_run.get("options") or {}).items() if k in accepted}
        options["max_length"] = (saved_run.get("train") or {}).get("max_seq_length")
        return options

    def predict_chunk(self, records: list[dict]) -> list[dict]:
        import numpy as np

        from bertcli.tasks.question_answering.squad import best_spans, make_features

        questions = [r.get("question", "") for r in records]
        contexts = [r.get("context", "") for r in records]
        features = make_features(self.tokenizer, questions, contexts, self.windowing)
        width = max(len(ids) for ids in features["input_ids"])
        starts = np.full((len(features["input_ids"]), width), -1e4, dtype=np.float32)
        ends = starts.copy()
        offsets = np.full((len(starts), width, 2), -1, dtype=np.int64)
        for i, row in enumerate(features["offset_mapping"]):
            offsets[i, : len(row)] = row
        for positions, outputs in self._run(features):
            start_logits, end_logits = (
                outputs.start_logits.float().cpu().numpy(),
                outputs.end_logits.float().cpu().numpy(),
            )
            for row, i in enumerate(positions):
                n = len(features["input_ids"][i])
                starts[i, :n], ends[i, :n] = start_logits[row, :n], end_logits[row, :n]
        answers = best_spans(starts, ends, offsets, np.asarray(features["example_index"]), contexts, self.spans)
        return [
            {**record, "answer": a["answer"], "score": a["score"], "start": a["start"], "end": a["end"]}
            for record, a in zip(records, answers)
        ]
