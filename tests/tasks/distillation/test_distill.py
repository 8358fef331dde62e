"""`bertcli distill` end to end: the teacher never changing (nor running when nothing reads it), and tiny runs that
close the gap to the teacher, from teacher layers, narrowed and from a new size; general distillation on raw text,
question answering, a transfer set. The students and the losses are tested on their own beside this file."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification

from bertcli.tasks import registry
from tests import synthetic
from tests.helpers import (
    assert_one_line_error,
    distill_cls_args,
    fit,
    metrics,
    run_bertcli,
    run_cli,
    save_random,
    training_args,
)


@pytest.fixture
def teacher(classifier):
    """The tiny BERT fine-tuned on the synthetic sentiment task: accuracy 1.0."""
    assert metrics(classifier)["accuracy"] >= 0.95
    return classifier


# The distillation runs' training settings (the fast ones, five epochs, no report).
DISTILLING = {"epochs": 5, "lr": 1e-3, "batch_size": 32, "max_seq_length": 32, "logging_steps": 5, "report": False}


def distill(teacher, out, data, options=None, **train):
    return fit(registry.get("distill-cls"), teacher, out, data, options or {}, **{**DISTILLING, **train})


def test_a_student_of_teacher_layers_trains_beside_a_teacher_that_never_changes(teacher, sentiment_data, tmp_path):
    """(On this synthetic task one layer of the teacher already does as well as two; that distillation closes a gap
    shows with a new student, below.)"""
    before = {k: v.clone() for k, v in load_file(teacher / "model.safetensors").items()}
    trainer = distill(teacher, tmp_path / "student", sentiment_data)
    teacher_model = trainer.accelerator.unwrap_model(trainer.module).frozen["teacher"]
    for name, value in teacher_model.state_dict().items():  # frozen: not one weight moved
        if name in before:
            assert torch.equal(value, before[name]), name
    assert metrics(tmp_path / "student")["accuracy"] >= 0.95
    config = json.loads((tmp_path / "student" / "config.json").read_text())
    assert config["num_hidden_layers"] == 1 and config["architectures"] == ["BertForSequenceClassification"]
    assert config["id2label"] == json.loads((teacher / "config.json").read_text())["id2label"]
    predicted = run_cli("predict", "--model", tmp_path / "student", "a really wonderful film")
    assert predicted.code == 0 and json.loads(predicted.stdout)["label"] == "positive"


def test_a_labels_only_baseline_never_runs_the_teacher(teacher, sentiment_data, tmp_path, monkeypatch):
    """--alpha 0 --hidden-weight 0 (the same student on the labels alone, the baseline distillation is measured
    against) reads nothing of the teacher, so the teacher does not run; with the defaults it runs at every step."""
    from bertcli.tasks.distillation.task import ClassificationDistillationTask

    calls = []
    build = ClassificationDistillationTask.build_models

    def counted(self, data):
        models = build(self, data)  # the student built first: a copy of the teacher would copy a hook as well
        models.frozen["teacher"].register_forward_hook(lambda *_: calls.append(1))
        return models

    monkeypatch.setattr(ClassificationDistillationTask, "build_models", counted)
    distill(teacher, tmp_path / "distilled", sentiment_data, max_steps=3)
    assert len(calls) == 3  # once a training step (evaluation runs the student alone)
    calls.clear()
    labels_only = {"alpha": 0.0, "hidden_weight": 0.0}
    distill(teacher, tmp_path / "labels", sentiment_data, options=labels_only)
    assert calls == []
    assert metrics(tmp_path / "labels")["accuracy"] >= 0.95  # it learns all the same


def test_the_layer_map_sets_a_student_layer_against_its_source_or_the_teachers_last(teacher, sentiment_data, tmp_path):
    """A one-layer student taken from the teacher's first layer equals it at the start: against that source its
    hidden-state loss is zero; --layer-map uniform sets it against the teacher's last layer, which it is not."""
    first_loss = {}
    for how in ("source", "uniform"):
        options = {"student_layers": "1", "alpha": 0.0, "layer_map": how}
        distill(teacher, tmp_path / how, sentiment_data, options=options, max_steps=1, lr=1e-9, logging_steps=1)
        first_loss[how] = json.loads((tmp_path / how / "log.jsonl").read_text().splitlines()[0])["loss"]
    hidden = first_loss["uniform"] - first_loss["source"]  # the same labels loss in both, the same batch and model
    assert hidden > 0.01, first_loss


def test_a_new_student_of_a_size_learns_through_a_projection(teacher, sentiment_data, tmp_path):
    """TinyBERT-style: a new, randomly initialised student (the `tiny` size), hidden states compared through a
    learned projection, attention maps and embeddings too; the projection is trained and checkpointed beside the
    student, and the student saved alone as the output."""
    options = {"student_size": "tiny", "hidden_loss": "mse", "attention_weight": 1.0, "embedding_weight": 1.0}
    distill(teacher, tmp_path / "untrained", sentiment_data, options=options, max_steps=1, lr=1e-9)
    trainer = distill(teacher, tmp_path / "small", sentiment_data, options=options, epochs=8, lr=2e-3, save_steps=50)
    assert "projection" in trainer.accelerator.unwrap_model(trainer.module).trained
    assert list((tmp_path / "small" / "checkpoints").glob("step-*/projection/model.safetensors"))
    before, after = metrics(tmp_path / "untrained")["accuracy"], metrics(tmp_path / "small")["accuracy"]
    assert before < 0.8 and after >= 0.9, (before, after)
    assert AutoModelForSequenceClassification.from_pretrained(tmp_path / "small").config.num_hidden_layers == 2


def test_a_narrowed_student_of_teacher_layers_learns_through_a_projection(teacher, sentiment_data, tmp_path):
    """The tiny teacher's first layer at half its width (1 head of 64): fine-tuned with distillation, it solves the
    task, and is saved at its own width."""
    options = {"student_layers": "1", "student_width": 64, "hidden_loss": "mse"}
    distill(teacher, tmp_path / "narrow", sentiment_data, options=options, epochs=8, lr=2e-3)
    config = json.loads((tmp_path / "narrow" / "config.json").read_text())
    assert (config["hidden_size"], config["num_attention_heads"], config["num_hidden_layers"]) == (64, 1, 1)
    assert metrics(tmp_path / "narrow")["accuracy"] >= 0.9
    predicted = run_cli("predict", "--model", tmp_path / "narrow", "a really wonderful film")
    assert predicted.code == 0 and json.loads(predicted.stdout)["label"] == "positive"


def test_bad_distillation_flags(teacher, sentiment_data, tmp_path):
    common = distill_cls_args(teacher, tmp_path / "o", sentiment_data["train"], tiny=False)
    for extra, message in (
        (["--student-layers", "0", "--student-size", "tiny"], "give one"),
        (["--student-size", "huge"], "--student-size huge: choose one of"),
        (["--alpha", "2"], "--alpha must be between 0 and 1"),
        (["--student-layers", "7"], "give distinct ones, or a count up to its depth"),
        (["--student-size", "tiny", "--layer-map", "source"], "was not taken from the teacher's layers"),
        (["--alpha", "0", "--transfer-file", sentiment_data["train"]], "give --alpha above 0"),
        (["--student-width", "100"], "--student-width 100: give a multiple of the teacher's head size (64)"),
        (["--student-size", "tiny", "--student-width", "64"], "drop --student and --student-size"),
    ):
        result = run_bertcli(*common, *extra)
        assert_one_line_error(result, message)


def test_general_distillation_on_raw_text(tmp_path):
    """TinyBERT's general distillation from a teacher with no head at all: a 1-layer student of the 2-layer tiny
    BERT gets closer to it on held-out text (the loss falls), and is written as a bare encoder that fine-tuning
    takes as its starting point. With --mlm-weight (DistilBERT's triple loss) a teacher without an MLM head is
    refused; one with it gives a student with a masked-LM head, whose masked-LM accuracy `evaluate` reports (reading
    the distillation's run.yaml as a pre-training run's)."""
    import shutil

    from transformers import AutoModel, BertModel

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(synthetic.corpus(60, seed=9))
    teacher = tmp_path / "encoder"
    init = tmp_path / "init"
    assert run_cli("init-model", init, "--size", "tiny", "--corpus", corpus, "--vocab-size", 300).code == 0
    save_random(BertModel, teacher, init)
    out = tmp_path / "general"
    settings = {"max_seq_length": 64, "batch_size": 16, "lr": "1e-3", "report": False}

    def general(teacher, out, **steps):
        args = training_args("distill general", teacher, out, corpus, model_flag="--teacher", **settings, **steps)
        return run_cli(*args)

    result = general(teacher, out, max_steps=60, eval_steps=10, attention_weight=1)
    assert result.code == 0, result.stderr
    evaluations = [
        json.loads(line)["eval_loss"] for line in (out / "log.jsonl").read_text().splitlines() if "eval_loss" in line
    ]
    assert evaluations[-1] < 0.7 * evaluations[0], evaluations
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertModel"]
    assert AutoModel.from_pretrained(out).config.num_hidden_layers == 1
    refused = general(teacher, tmp_path / "mlm", max_steps=2, mlm_weight=1)
    assert refused.code == 2 and "needs a teacher with a masked-LM head" in refused.stderr
    shutil.rmtree(tmp_path / "mlm", ignore_errors=True)
    triple = general(
        init, tmp_path / "mlm", max_steps=10, mlm_weight=1
    )  # init-model's BERT has the MLM (and NSP) heads
    assert triple.code == 0, triple.stderr
    assert json.loads((tmp_path / "mlm" / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    evaluated = run_cli("evaluate", "--model", tmp_path / "mlm")
    assert evaluated.code == 0, evaluated.stderr
    assert 0 <= json.loads(evaluated.stdout)["mlm_accuracy"] <= 1


def test_question_answering_distillation_runs_and_keeps_the_task(tmp_path):
    """A tiny QA teacher distilled into one of its layers: the output is a QA model that evaluate scores."""
    rows = synthetic.qa(300, seed=7)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(r["question"] + "\n" + r["context"] + "\n" for r in rows))
    assert run_cli("init-model", tmp_path / "init", "--size", "tiny", "--corpus", corpus, "--vocab-size", 400).code == 0
    train = synthetic.write_jsonl(tmp_path / "train.jsonl", rows[:250])
    validation = synthetic.write_squad_json(tmp_path / "dev.json", rows[250:])
    windows = {"max_seq_length": 64, "doc_stride": 16, "max_query_length": 16}
    settings = {**windows, "lr": "1e-3", "batch_size": 16, "report": False}
    teacher = run_cli(
        *training_args(
            "finetune squad", tmp_path / "init", tmp_path / "teacher", train, validation, **settings, epochs=3
        )
    )
    assert teacher.code == 0, teacher.stderr
    student = run_cli(
        *training_args(
            "distill squad",
            tmp_path / "teacher",
            tmp_path / "student",
            train,
            validation,
            **settings,
            epochs=2,
            model_flag="--teacher",
        )
    )
    assert student.code == 0, student.stderr
    config = json.loads((tmp_path / "student" / "config.json").read_text())
    assert config["architectures"] == ["BertForQuestionAnswering"] and config["num_hidden_layers"] == 1
    scored = metrics(tmp_path / "student")
    assert {"exact_match", "f1"} <= set(scored) and (tmp_path / "student" / "predictions.json").is_file()
    # `evaluate` reads the distillation's run.yaml as a squad run's (its data, length and doc stride): same scores
    evaluated = run_cli("evaluate", "--model", tmp_path / "student")
    assert evaluated.code == 0, evaluated.stderr
    scores = json.loads(evaluated.stdout)
    assert (scores["exact_match"], scores["f1"]) == pytest.approx((scored["exact_match"], scored["f1"]))


def test_a_transfer_set_of_unlabelled_texts(teacher, sentiment_data, tmp_path):
    """Unlabelled texts learnt from the teacher's predictions alone: they join the training examples, and a run on
    them and no more labels than before still reaches the teacher."""
    transfer = tmp_path / "transfer.txt"
    transfer.write_text("".join(text + "\n" for text, _ in synthetic.sentiment(300, seed=13)))
    train, validation = sentiment_data["train"], sentiment_data["validation"]
    args = distill_cls_args(
        teacher, tmp_path / "out", train, validation, transfer_file=transfer, epochs=2, report=False
    )
    result = run_cli(*args)
    assert result.code == 0, result.stderr
    assert "Transfer set: 300 unlabelled texts beside 600 labelled ones" in result.stdout
    assert "Training: 900 examples" in result.stdout and metrics(tmp_path / "out")["accuracy"] >= 0.95
    missing_file = {"transfer_file": tmp_path / "none.txt"}
    missing = run_cli(*distill_cls_args(teacher, tmp_path / "o2", train, tiny=False, **missing_file))
    assert missing.code == 2 and "--transfer-file not found" in missing.stderr
