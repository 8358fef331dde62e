"""`bertcli distill`: the student made of teacher layers, each loss zero at the teacher and positive elsewhere, the
teacher never changing, and tiny runs that close the gap to the teacher, from teacher layers and from a new size."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, BertConfig, BertForSequenceClassification

from bertcli.config import resolve
from bertcli.errors import BertcliError
from bertcli.tasks import registry
from bertcli.tasks.distillation import losses
from bertcli.tasks.distillation.students import from_teacher_layers, layer_map, narrowed, of_size, teacher_layers
from bertcli.training.setup import set_up
from bertcli.training.trainer import Trainer
from tests.conftest import TINY_TRAINING, assert_one_line_error, finetune_tiny_classifier, run_bertcli, run_cli


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, tiny_model, sentiment_data):
    """The tiny BERT fine-tuned on the synthetic sentiment task: accuracy 1.0."""
    out = tmp_path_factory.mktemp("distill") / "teacher"
    result = finetune_tiny_classifier(tiny_model, sentiment_data, out, "--epochs", "5", "--no-report")
    assert result.code == 0 and result.metrics(out)["accuracy"] >= 0.95, result.stderr
    return out


def test_teacher_layers_and_the_layer_map():
    assert teacher_layers(None, 6) == [0, 2, 4] and teacher_layers(None, 12) == [0, 2, 4, 6, 8, 10]
    assert teacher_layers("3", 12) == [0, 4, 8] and teacher_layers("5,1", 6) == [1, 5]
    assert layer_map(3, 6, [0, 2, 4]) == [(1, 1), (2, 3), (3, 5)]  # each student layer against the one it came from
    assert layer_map(4, 12, None) == [(1, 3), (2, 6), (3, 9), (4, 12)]  # TinyBERT's uniform map
    assert layer_map(3, 6, [0, 2, 4], "uniform") == [(1, 2), (2, 4), (3, 6)]  # asked for: the last against the last
    assert layer_map(1, 6, [0], "uniform") == [(1, 6)] and layer_map(1, 6, [0], "source") == [(1, 1)]
    with pytest.raises(BertcliError, match="--layer-map uniform"):
        layer_map(4, 12, None, "source")  # a new student has no source layers


def test_a_student_of_teacher_layers_holds_exactly_those_layers():
    config = BertConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64, num_labels=2
    )
    torch.manual_seed(0)
    big = BertForSequenceClassification(config)
    small = from_teacher_layers(big, [1, 3])
    assert small.config.num_hidden_layers == 2 and big.config.num_hidden_layers == 4
    for student_i, teacher_i in ((0, 1), (1, 3)):
        for (name, s), (_, t) in zip(
            small.bert.encoder.layer[student_i].named_parameters(), big.bert.encoder.layer[teacher_i].named_parameters()
        ):
            assert torch.equal(s, t) and s.data_ptr() != t.data_ptr(), name  # equal values, the student's own
    assert torch.equal(small.classifier.weight, big.classifier.weight)
    assert torch.equal(small.bert.embeddings.word_embeddings.weight, big.bert.embeddings.word_embeddings.weight)
    tokens = torch.tensor([[2, 7, 9, 3]])
    with torch.no_grad():  # the student is a working model of its own depth
        assert small(tokens).logits.shape == (1, 2)
    sized = of_size(AutoModelForSequenceClassification, config, "tinybert")
    assert (sized.config.num_hidden_layers, sized.config.hidden_size, sized.config.num_labels) == (4, 312, 2)


def test_each_loss_is_zero_at_the_teacher_and_positive_elsewhere():
    torch.manual_seed(0)
    logits, states = torch.randn(4, 3), torch.randn(2, 5, 8)
    attention = torch.softmax(torch.randn(2, 2, 5, 5), -1)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]).bool()
    identity = torch.nn.Linear(8, 8)
    with torch.no_grad():
        identity.weight.copy_(torch.eye(8))
        identity.bias.zero_()
    pairs = [
        (lambda a, b: losses.soft_cross_entropy(a, b, 2.0), logits, logits + torch.randn(4, 3)),
        (lambda a, b: losses.hidden_cosine(a, b, mask), states, states + torch.randn(2, 5, 8)),
        (lambda a, b: losses.hidden_mse(a, b, mask, identity), states, states + torch.randn(2, 5, 8)),
        (lambda a, b: losses.attention_mse(a, b, mask), attention, torch.softmax(torch.randn(2, 2, 5, 5), -1)),
    ]
    for loss, teacher, other in pairs:
        assert loss(teacher, teacher).item() == pytest.approx(0.0, abs=1e-6)
        assert loss(other, teacher).item() > 1e-4
    padding_only = states.clone()
    padding_only[0, 4] += 10.0  # a padding position: never counted
    assert losses.hidden_cosine(padding_only, states, mask).item() == pytest.approx(0.0, abs=1e-6)


def test_a_narrowed_student_keeps_the_teachers_strongest_channels_heads_and_units(tmp_path):
    config = BertConfig(
        vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, num_labels=2
    )
    torch.manual_seed(0)
    big = BertForSequenceClassification(config).eval()
    tokens = torch.tensor([[2, 7, 9, 3, 11]])
    with torch.no_grad():  # at the full width nothing is cut: the same function
        assert torch.equal(narrowed(big, 32).eval()(tokens).logits, big(tokens).logits)
        strong = torch.tensor([3, 5, 8, 13, 21, 22, 30, 31])
        for name, p in big.named_parameters():
            if name.endswith("LayerNorm.weight"):
                p[strong] = 5.0  # these channels carry the most
        layer = big.bert.encoder.layer[1]
        layer.attention.self.value.weight[24:32] *= 10  # head 3 of layer 1 (head size 8)
        layer.attention.self.value.weight[0:8] *= 10  # and head 0
        layer.intermediate.dense.weight[[4, 40]] *= 10  # feed-forward units 4 and 40
    small = narrowed(big, 8)
    assert (small.config.hidden_size, small.config.num_attention_heads, small.config.intermediate_size) == (8, 1, 16)
    assert torch.equal(
        small.bert.embeddings.word_embeddings.weight, big.bert.embeddings.word_embeddings.weight[:, strong]
    )
    assert torch.equal(small.classifier.weight, big.classifier.weight[:, strong])
    two = narrowed(big, 16)  # two heads of layer 1: its strongest, 0 and 3, the channels the strongest 16
    kept = two.bert.encoder.layer[1].attention.self.value.weight
    channels = torch.sort(
        torch.topk(sum(p.abs() for n, p in big.named_parameters() if n.endswith("LayerNorm.weight")), 16).indices
    ).values
    rows = torch.cat([torch.arange(0, 8), torch.arange(24, 32)])
    assert torch.equal(kept, layer.attention.self.value.weight[rows][:, channels])
    units = two.bert.encoder.layer[1].intermediate.dense.weight
    assert any(torch.equal(u, layer.intermediate.dense.weight[4, channels]) for u in units)
    assert any(torch.equal(u, layer.intermediate.dense.weight[40, channels]) for u in units)
    two.save_pretrained(tmp_path / "narrow")  # a standard model directory of the new width
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "narrow")
    assert loaded.config.hidden_size == 16 and torch.equal(
        loaded.bert.pooler.dense.weight, two.bert.pooler.dense.weight
    )


def distill(teacher, out, data, **train):
    from accelerate.state import AcceleratorState, GradientState

    AcceleratorState._reset_state(True)
    GradientState._reset_state()
    spec = registry.get("distill-cls")
    flags = {
        "model": str(teacher),
        "output_dir": str(out),
        "data": {
            "train_file": str(data["train"]),
            "validation_file": str(data["validation"]),
            "text_column": "sentence",
        },
        "options": train.pop("options", {}),
        "train": {
            "epochs": 5,
            "lr": 1e-3,
            "batch_size": 32,
            "max_seq_length": 32,
            "logging_steps": 5,
            "report": False,
            **train,
        },
    }
    trainer = Trainer(set_up(resolve(spec, None, None, flags), spec, training=True))
    trainer.fit()
    return trainer


def test_a_student_of_teacher_layers_trains_beside_a_teacher_that_never_changes(teacher, sentiment_data, tmp_path):
    """(On this synthetic task one layer of the teacher already does as well as two; that distillation closes a gap
    shows with a new student, below.)"""
    before = {k: v.clone() for k, v in load_file(teacher / "model.safetensors").items()}
    trainer = distill(teacher, tmp_path / "student", sentiment_data)
    teacher_model = trainer.accelerator.unwrap_model(trainer.module).frozen["teacher"]
    for name, value in teacher_model.state_dict().items():  # frozen: not one weight moved
        if name in before:
            assert torch.equal(value, before[name]), name
    assert json.loads((tmp_path / "student" / "metrics.json").read_text())["accuracy"] >= 0.95
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
    assert json.loads((tmp_path / "labels" / "metrics.json").read_text())["accuracy"] >= 0.95  # it learns all the same


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
    before = json.loads((tmp_path / "untrained" / "metrics.json").read_text())["accuracy"]
    after = json.loads((tmp_path / "small" / "metrics.json").read_text())["accuracy"]
    assert before < 0.8 and after >= 0.9, (before, after)
    assert AutoModelForSequenceClassification.from_pretrained(tmp_path / "small").config.num_hidden_layers == 2


def test_a_narrowed_student_of_teacher_layers_learns_through_a_projection(teacher, sentiment_data, tmp_path):
    """The tiny teacher's first layer at half its width (1 head of 64): fine-tuned with distillation, it solves the
    task, and is saved at its own width."""
    options = {"student_layers": "1", "student_width": 64, "hidden_loss": "mse"}
    distill(teacher, tmp_path / "narrow", sentiment_data, options=options, epochs=8, lr=2e-3)
    config = json.loads((tmp_path / "narrow" / "config.json").read_text())
    assert (config["hidden_size"], config["num_attention_heads"], config["num_hidden_layers"]) == (64, 1, 1)
    assert json.loads((tmp_path / "narrow" / "metrics.json").read_text())["accuracy"] >= 0.9
    predicted = run_cli("predict", "--model", tmp_path / "narrow", "a really wonderful film")
    assert predicted.code == 0 and json.loads(predicted.stdout)["label"] == "positive"


def test_bad_distillation_flags(teacher, sentiment_data, tmp_path):
    common = [
        "distill",
        "cls",
        "--teacher",
        teacher,
        "--output-dir",
        tmp_path / "o",
        "--train-file",
        sentiment_data["train"],
        "--text-column",
        "sentence",
    ]
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

    from tests import synthetic
    from tests.predict.test_plain_bert import save_random

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(synthetic.corpus(60, seed=9))
    teacher = tmp_path / "encoder"
    init = tmp_path / "init"
    assert run_cli("init-model", init, "--size", "tiny", "--corpus", corpus, "--vocab-size", 300).code == 0
    save_random(BertModel, teacher, init)
    out = tmp_path / "general"
    args = [
        "distill",
        "general",
        "--teacher",
        teacher,
        "--train-file",
        corpus,
        "--max-seq-length",
        "64",
        "--batch-size",
        "16",
        "--lr",
        "1e-3",
        "--no-report",
    ]
    result = run_cli(*args, "--output-dir", out, "--max-steps", "60", "--eval-steps", "10", "--attention-weight", "1")
    assert result.code == 0, result.stderr
    evaluations = [
        json.loads(line)["eval_loss"] for line in (out / "log.jsonl").read_text().splitlines() if "eval_loss" in line
    ]
    assert evaluations[-1] < 0.7 * evaluations[0], evaluations
    assert json.loads((out / "config.json").read_text())["architectures"] == ["BertModel"]
    assert AutoModel.from_pretrained(out).config.num_hidden_layers == 1
    refused = run_cli(*args, "--output-dir", tmp_path / "mlm", "--max-steps", "2", "--mlm-weight", "1")
    assert refused.code == 2 and "needs a teacher with a masked-LM head" in refused.stderr
    shutil.rmtree(tmp_path / "mlm", ignore_errors=True)
    with_mlm_head = [init if a == teacher else a for a in args]  # init-model's BERT has the MLM (and NSP) heads
    triple = run_cli(*with_mlm_head, "--output-dir", tmp_path / "mlm", "--max-steps", "10", "--mlm-weight", "1")
    assert triple.code == 0, triple.stderr
    assert json.loads((tmp_path / "mlm" / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    evaluated = run_cli("evaluate", "--model", tmp_path / "mlm")
    assert evaluated.code == 0, evaluated.stderr
    assert 0 <= json.loads(evaluated.stdout)["mlm_accuracy"] <= 1


def test_question_answering_distillation_runs_and_keeps_the_task(tmp_path):
    """A tiny QA teacher distilled into one of its layers: the output is a QA model that evaluate scores."""
    from tests import synthetic

    rows = synthetic.qa(300, seed=7)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(r["question"] + "\n" + r["context"] + "\n" for r in rows))
    assert run_cli("init-model", tmp_path / "init", "--size", "tiny", "--corpus", corpus, "--vocab-size", 400).code == 0
    data = [
        "--train-file",
        synthetic.write_jsonl(tmp_path / "train.jsonl", rows[:250]),
        "--validation-file",
        synthetic.write_squad_json(tmp_path / "dev.json", rows[250:]),
        "--max-seq-length",
        "64",
        "--doc-stride",
        "16",
        "--max-query-length",
        "16",
        "--lr",
        "1e-3",
        "--batch-size",
        "16",
        "--no-report",
    ]
    teacher = run_cli(
        "finetune", "squad", "--model", tmp_path / "init", "--output-dir", tmp_path / "teacher", *data, "--epochs", "3"
    )
    assert teacher.code == 0, teacher.stderr
    student = run_cli(
        "distill",
        "squad",
        "--teacher",
        tmp_path / "teacher",
        "--output-dir",
        tmp_path / "student",
        *data,
        "--epochs",
        "2",
    )
    assert student.code == 0, student.stderr
    config = json.loads((tmp_path / "student" / "config.json").read_text())
    assert config["architectures"] == ["BertForQuestionAnswering"] and config["num_hidden_layers"] == 1
    metrics = student.metrics(tmp_path / "student")
    assert {"exact_match", "f1"} <= set(metrics) and (tmp_path / "student" / "predictions.json").is_file()
    # `evaluate` reads the distillation's run.yaml as a squad run's (its data, length and doc stride): same scores
    evaluated = run_cli("evaluate", "--model", tmp_path / "student")
    assert evaluated.code == 0, evaluated.stderr
    scores = json.loads(evaluated.stdout)
    assert (scores["exact_match"], scores["f1"]) == pytest.approx((metrics["exact_match"], metrics["f1"]))


def test_a_transfer_set_of_unlabelled_texts(teacher, sentiment_data, tmp_path):
    """Unlabelled texts learnt from the teacher's predictions alone: they join the training examples, and a run on
    them and no more labels than before still reaches the teacher."""
    from tests import synthetic

    transfer = tmp_path / "transfer.txt"
    transfer.write_text("".join(text + "\n" for text, _ in synthetic.sentiment(300, seed=13)))
    result = run_cli(
        "distill",
        "cls",
        "--teacher",
        teacher,
        "--output-dir",
        tmp_path / "out",
        "--train-file",
        sentiment_data["train"],
        "--validation-file",
        sentiment_data["validation"],
        "--text-column",
        "sentence",
        "--transfer-file",
        transfer,
        "--epochs",
        "2",
        "--no-report",
        *TINY_TRAINING,
    )
    assert result.code == 0, result.stderr
    assert "Transfer set: 300 unlabelled texts beside 600 labelled ones" in result.stdout
    assert "Training: 900 examples" in result.stdout and result.metrics(tmp_path / "out")["accuracy"] >= 0.95
    missing = run_cli(
        "distill",
        "cls",
        "--teacher",
        teacher,
        "--output-dir",
        tmp_path / "o2",
        "--train-file",
        sentiment_data["train"],
        "--transfer-file",
        tmp_path / "none.txt",
    )
    assert missing.code == 2 and "--transfer-file not found" in missing.stderr
