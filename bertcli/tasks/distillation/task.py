"""Task distillation (`bertcli distill cls`, `bertcli distill squad`): the task's own data, flags and evaluation, with
a student trained against a frozen teacher (the run's --teacher, i.e. cfg.model) through the loss seam.

The student's loss: alpha x soft targets (the teacher's predictions at --temperature) + (1 - alpha) x the labels,
+ the intermediate losses between mapped layers: hidden states, attention maps, embeddings (students.py, losses.py).
TinyBERT's two stages are two runs: --stage intermediate, then --stage prediction with --student set to the first.
Evaluation, metrics and the saved output are the student's: a standard model of the task's kind.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import torch

from bertcli.data import drop_empty_texts, load_file, require_columns
from bertcli.errors import BertcliError
from bertcli.modeling import load_pretrained
from bertcli.tasks.base import Models, Task, TaskData
from bertcli.tasks.classification.labels import LabelSpace
from bertcli.tasks.classification.task import ClassificationTask
from bertcli.tasks.distillation import losses
from bertcli.tasks.distillation.students import from_teacher_layers, layer_map, narrowed, of_size, teacher_layers
from bertcli.tasks.pretraining.task import PretrainingTask
from bertcli.tasks.question_answering.task import QuestionAnsweringTask

LABEL_KEYS = ("labels", "start_positions", "end_positions", "next_sentence_label")
UNLABELLED = -100  # the label of a transfer-set text: the teacher's prediction is its only target


class Distillation:
    """Mixed into a task: its model becomes a student beside a frozen teacher, its loss the distillation loss."""

    auto_class: str  # the transformers Auto class of the task's models

    def build_models(self, data: TaskData) -> Models:
        o = self.cfg.options
        teacher = self._teacher(data)
        if o.student:
            student = self._load_student(o.student)
        elif o.student_size:
            student = of_size(self._auto(), teacher.config, o.student_size)
        else:
            layers = teacher_layers(o.student_layers, teacher.config.num_hidden_layers)
            student = from_teacher_layers(teacher, layers)
            if o.student_width:
                student = narrowed(student, self._width(o.student_width, teacher.config))
            student.config.distilled_from_layers = layers  # the layer map; kept in config.json, harmless elsewhere
        self._layer_map(student.config, teacher.config)  # one that cannot be is refused before training
        if o.attention_weight and o.stage != "prediction":  # attention maps need the eager implementation
            for model in (student, teacher):
                model.set_attn_implementation("eager")
        trained = {"model": student}
        student_width, teacher_width = student.config.hidden_size, teacher.config.hidden_size
        if self._wants_states() and (o.hidden_loss == "mse" or student_width != teacher_width):
            if o.hidden_loss == "cosine":
                raise BertcliError(
                    f"--hidden-loss cosine compares states of one width: the student's are "
                    f"{student_width}, the teacher's {teacher_width}; use mse (a learned projection)"
                )
            trained["projection"] = torch.nn.Linear(student_width, teacher_width)  # TinyBERT's W_h
        return Models(trained=trained, frozen={"teacher": teacher})

    @staticmethod
    def _width(width: int, teacher_config) -> int:
        hidden, head_size = teacher_config.hidden_size, teacher_config.hidden_size // teacher_config.num_attention_heads
        if width >= hidden or width % head_size:
            raise BertcliError(
                f"--student-width {width}: give a multiple of the teacher's head size ({head_size}) below its "
                f"width ({hidden})"
            )
        return width

    def _teacher(self, data: TaskData):
        return super().build_models(data).trained["model"]  # the task's model of cfg.model: the teacher

    def _auto(self):
        import transformers

        return getattr(transformers, self.auto_class)

    def _load_student(self, directory: str):
        return load_pretrained(self._auto(), directory, self.cfg.train.allow_pickle, **self._head_kwargs())

    def _head_kwargs(self) -> dict:
        return {"ignore_mismatched_sizes": True}

    def _wants_states(self) -> bool:
        o = self.cfg.options
        return o.stage != "prediction" and bool(o.hidden_weight or o.attention_weight or o.embedding_weight)

    def loss(self, models, batch):
        o = self.cfg.options
        student, teacher = models["model"], models["teacher"]
        states = self._wants_states()
        extra = {"output_hidden_states": states, "output_attentions": states and o.attention_weight > 0}
        out = student(**batch, **extra)
        target = None  # the teacher runs only where a loss reads it: not for a labels-only baseline (--alpha 0)
        if states or (o.stage != "intermediate" and o.alpha > 0):
            with torch.no_grad():
                target = teacher(**{k: v for k, v in batch.items() if k not in LABEL_KEYS}, **extra)
        total = torch.zeros((), device=batch["input_ids"].device)
        if o.stage != "intermediate":
            total = total + self.prediction_loss(out, target, batch)
        if states:
            total = total + self.intermediate_loss(
                out, target, batch["attention_mask"].bool(), student.config, teacher.config, models.get("projection")
            )
        return total

    def _layer_map(self, student_config, teacher_config) -> list[tuple[int, int]]:
        return layer_map(
            student_config.num_hidden_layers,
            teacher_config.num_hidden_layers,
            getattr(student_config, "distilled_from_layers", None),
            self.cfg.options.layer_map,
        )

    def intermediate_loss(self, out, target, mask, student_config, teacher_config, projection) -> torch.Tensor:
        o = self.cfg.options
        mapped = self._layer_map(student_config, teacher_config)
        total = torch.zeros((), device=mask.device)
        if o.hidden_weight:
            terms = [
                losses.hidden_mse(out.hidden_states[s], target.hidden_states[t], mask, projection)
                if projection is not None
                else losses.hidden_cosine(out.hidden_states[s], target.hidden_states[t], mask)
                for s, t in mapped
            ]
            total = total + o.hidden_weight * torch.stack(terms).mean()
        if o.attention_weight:
            terms = [losses.attention_mse(out.attentions[s - 1], target.attentions[t - 1], mask) for s, t in mapped]
            total = total + o.attention_weight * torch.stack(terms).mean()
        if o.embedding_weight:
            total = total + o.embedding_weight * losses.hidden_mse(
                out.hidden_states[0], target.hidden_states[0], mask, projection
            )
        return total

    def prediction_loss(self, out, target, batch) -> torch.Tensor:
        """alpha x the soft targets + (1 - alpha) x the labels (the student's own loss)."""
        return self.weighted_soft_loss(out, target) + (1 - self.cfg.options.alpha) * out.loss

    def weighted_soft_loss(self, out, target):
        """alpha x the soft targets; nothing at --alpha 0, where the teacher did not run."""
        alpha = self.cfg.options.alpha
        return alpha * self.soft_loss(out, target) if alpha else 0.0

    def soft_loss(self, out, target) -> torch.Tensor:
        raise NotImplementedError


class ClassificationDistillationTask(Distillation, ClassificationTask):
    auto_class = "AutoModelForSequenceClassification"
    labels_from_model = True  # the teacher's label space, and the data checked against it

    def _head_kwargs(self) -> dict:
        config = self.model_config  # the teacher's: the student answers in its labels
        return {
            "ignore_mismatched_sizes": True,
            "num_labels": config.num_labels,
            "id2label": config.id2label,
            "label2id": config.label2id,
            "problem_type": config.problem_type,
        }

    def load_data(self, training: bool) -> TaskData:
        """The task's data, and with --transfer-file unlabelled texts besides: the teacher's predictions are their
        only targets (a transfer set, the distillation's own data augmentation)."""
        import datasets

        data = super().load_data(training)
        transfer = self.cfg.options.transfer_file
        if not (training and transfer):
            return data
        if data.info.problem_type != "single_label_classification":
            raise BertcliError("--transfer-file takes single-label classification only")
        d = self.cfg.data
        table = load_file(transfer)
        column = d.text_column if d.text_column in table.column_names else "text"
        require_columns(table, {"--text-column": column}, transfer)
        table = drop_empty_texts(table.select_columns([column]), [column], transfer)
        if column != d.text_column:
            table = table.rename_column(column, d.text_column)
        unlabelled = table.add_column(d.label_column, [UNLABELLED] * len(table))
        if d.text_pair_column:
            raise BertcliError("--transfer-file takes single texts: it does not apply to sentence pairs")
        features = self._featurize(unlabelled, LabelSpace(data.info.problem_type, data.info.names, None), "transfer")
        train = datasets.concatenate_datasets([data.train, features.cast(data.train.features)])
        print(f"Transfer set: {len(features)} unlabelled texts beside {len(data.train)} labelled ones")
        return dataclasses.replace(data, train=train)

    def prediction_loss(self, out, target, batch) -> torch.Tensor:
        """As every distillation's, with the labels' loss over the labelled rows only (a transfer set has none)."""
        o = self.cfg.options
        labels = batch["labels"]
        known = labels != UNLABELLED
        if known.all() or labels.dim() > 1:
            return super().prediction_loss(out, target, batch)
        hard = torch.nn.functional.cross_entropy(out.logits[known].float(), labels[known]) if known.any() else 0.0
        return self.weighted_soft_loss(out, target) + (1 - o.alpha) * hard

    def soft_loss(self, out, target) -> torch.Tensor:
        _, problem_type = self._model_labels()  # the teacher's
        if problem_type == "regression":
            return torch.nn.functional.mse_loss(out.logits.float(), target.logits.float())
        if problem_type == "multi_label_classification":
            t = self.cfg.options.temperature
            soft = torch.sigmoid(target.logits.float() / t)
            return torch.nn.functional.binary_cross_entropy_with_logits(out.logits.float() / t, soft) * t * t
        return losses.soft_cross_entropy(out.logits, target.logits, self.cfg.options.temperature)


class QuestionAnsweringDistillationTask(Distillation, QuestionAnsweringTask):
    auto_class = "AutoModelForQuestionAnswering"

    def soft_loss(self, out, target) -> torch.Tensor:
        t = self.cfg.options.temperature
        return (
            losses.soft_cross_entropy(out.start_logits, target.start_logits, t)
            + losses.soft_cross_entropy(out.end_logits, target.end_logits, t)
        ) / 2


class GeneralDistillationTask(Distillation, PretrainingTask):
    """`bertcli distill general`: distillation on raw text, before any task. TinyBERT's (hidden states, attention
    maps, embeddings: a teacher without an MLM head will do, such as a sentence-transformers model), or with
    --mlm-weight DistilBERT's triple loss (the student's masked LM + the teacher's masked-LM predictions as soft
    targets + hidden-state cosine), which needs a teacher with an MLM head. The student is written as a bare
    encoder (BertModel), or with its MLM head: `finetune` and `distill cls --student` start from it."""

    def _auto(self):
        import transformers

        return transformers.AutoModelForMaskedLM if self.cfg.options.mlm_weight else transformers.AutoModel

    def _teacher(self, data: TaskData):
        model, info = load_pretrained(
            self._auto(), self.cfg.model, self.cfg.train.allow_pickle, output_loading_info=True
        )
        if self.cfg.options.mlm_weight and any(k.startswith("cls.") for k in info["missing_keys"]):
            raise BertcliError(
                f"--mlm-weight needs a teacher with a masked-LM head, and {self.cfg.model} has none: "
                "drop --mlm-weight (TinyBERT's general distillation needs no head)"
            )
        return model

    def _head_kwargs(self) -> dict:
        return {}

    def _wants_states(self) -> bool:
        o = self.cfg.options
        return bool(o.hidden_weight or o.attention_weight or o.embedding_weight)

    def collate(self, features):
        if self.cfg.options.mlm_weight:
            return super().collate(features)  # masked, as pre-training is
        return Task.collate(self, features)  # the text as it is

    def prediction_loss(self, out, target, batch) -> torch.Tensor:
        o = self.cfg.options
        if not o.mlm_weight:
            return torch.zeros((), device=batch["input_ids"].device)
        if not o.alpha:  # the student's masked LM alone: the teacher did not run
            return o.mlm_weight * out.loss
        chosen = batch["labels"] != -100
        soft = losses.soft_cross_entropy(out.logits[chosen], target.logits[chosen], o.temperature)
        return o.alpha * soft + o.mlm_weight * out.loss

    def forward(self, models, batch):
        """Evaluation: the distillation loss on held-out text (lower is better)."""
        return SimpleNamespace(loss=self.loss(models, batch))

    def metric_names(self, data: TaskData) -> list[str]:
        return ["loss"]

    def eval_outputs(self, outputs, batch):
        return {"tokens": batch["attention_mask"].sum(1)}

    def compute_metrics(self, outputs, data):
        return {"eval_tokens": int(outputs["tokens"].sum())}, None
