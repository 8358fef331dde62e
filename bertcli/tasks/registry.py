"""The task registry: every task bertcli trains, evaluates and predicts with, declared once.

An entry names the task's command, its settings (data and options dataclasses, from which the command's flags,
`--help`, recipe keys and run.yaml are generated), the architectures it writes and reads back (so `predict` and
`evaluate` recognise a trained model), and its Task and Predictor classes. The classes are named by import path
and imported only when a run needs them: building the CLI and checking a configuration stay light. Nothing else
lists tasks; docs/architecture.md says how to add one.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path

from bertcli.config.runtime import PredictOptions, RankedOptions
from bertcli.errors import BertcliError
from bertcli.tasks.classification.options import ClassificationData, ClassificationOptions
from bertcli.tasks.distillation.options import (
    ClassificationDistillationOptions,
    GeneralDistillationOptions,
    QuestionAnsweringDistillationOptions,
)
from bertcli.tasks.pretraining.options import PretrainingData, PretrainingOptions
from bertcli.tasks.question_answering.options import (
    QuestionAnsweringData,
    QuestionAnsweringOptions,
    QuestionAnsweringPredictOptions,
)
from bertcli.tasks.token_classification.options import TokenClassificationData, TokenClassificationOptions


@dataclass(frozen=True)
class TaskSpec:
    name: str  # the task's name in run.yaml and recipes (`task: cls`), and its recipes/ folder
    command: tuple[str, ...]  # its command under `bertcli`: ("finetune", "cls") or ("pretrain",)
    help: str  # the command's --help text: a summary line, a blank line, details; "\b" keeps a paragraph's lines
    panel: str  # the --help section of its options
    data: type  # a DataSource dataclass: where the data comes from and which columns hold what
    options: type  # a TaskOptions dataclass: the task's own settings and its defaults for the training ones
    task: str  # "module:Class" of its Task (bertcli.tasks.base), or of a function that picks one by the options
    predictor: str  # "module:Class" of its Predictor (bertcli.predict.base)
    writes: tuple[str, ...]  # the architectures of the models it saves
    reads: tuple[str, ...]  # architecture suffixes of the models it evaluates and predicts with (none: another
    # task's, as a distilled classifier is read as a classifier)
    model_flag: tuple[tuple[str, ...], str] | None = None  # --model's names and help, where the task means more
    recipes_of: str | None = None  # the task whose recipes it takes as well as its own (distill cls: cls's)
    predict_options: type = PredictOptions  # the options its predictor takes besides the runtime's (--top-k)

    def task_class(self):
        return _load(self.task)

    def predictor_class(self):
        return _load(self.predictor)


def _load(path: str):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


TASKS: tuple[TaskSpec, ...] = (
    TaskSpec(
        name="cls",
        command=("finetune", "cls"),
        help="""Fine-tune BertForSequenceClassification on single sentences or sentence pairs.

Classification (accuracy, F1, ...) or regression (Pearson, Spearman) on the pooled [CLS] output.

\b
Examples:
  bertcli finetune cls --recipe sst2 --model google-bert/bert-base-uncased --output-dir runs/sst2
  bertcli finetune cls --model runs/mini --output-dir runs/mine --train-file train.csv \\
      --validation-file dev.csv --text-column review --label-column sentiment""",
        panel="Classification",
        data=ClassificationData,
        options=ClassificationOptions,
        task="bertcli.tasks.classification.task:ClassificationTask",
        predictor="bertcli.predict.classification:ClassificationPredictor",
        predict_options=RankedOptions,
        writes=("BertForSequenceClassification",),
        reads=("ForSequenceClassification",),
    ),
    TaskSpec(
        name="squad",
        command=("finetune", "squad"),
        help="""Fine-tune BertForQuestionAnswering on SQuAD v1.1 or v2.0 style data.

The answer is the span i <= j that maximises start_i + end_j over all windows of the context. Writes
predictions.json, nbest_predictions.json (and null_odds.json for v2) next to the model.

\b
Examples:
  bertcli finetune squad --recipe squad --model google-bert/bert-base-uncased --output-dir runs/squad
  bertcli finetune squad --model DIR --output-dir runs/qa --train-file train-v1.1.json \\
      --validation-file dev-v1.1.json""",
        panel="Question answering",
        data=QuestionAnsweringData,
        options=QuestionAnsweringOptions,
        task="bertcli.tasks.question_answering.task:QuestionAnsweringTask",
        predictor="bertcli.predict.question_answering:QuestionAnsweringPredictor",
        predict_options=QuestionAnsweringPredictOptions,
        writes=("BertForQuestionAnswering",),
        reads=("ForQuestionAnswering",),
    ),
    TaskSpec(
        name="ner",
        command=("finetune", "ner"),
        help="""Fine-tune BertForTokenClassification: a tag for every word (named entities, parts of speech).

Words with their tags, from CoNLL-style text or a table of token and tag lists; BIO and BIOES tags are scored as
entities (precision, recall and F1, as conlleval and seqeval count them), other tags word by word (accuracy).
Long sentences are cut into windows between words.

\b
Examples:
  bertcli finetune ner --recipe conll2003 --model google-bert/bert-base-cased --output-dir runs/conll
  bertcli finetune ner --model runs/mini --train-file train.conll --validation-file dev.conll --output-dir runs/ner""",
        panel="Token classification",
        data=TokenClassificationData,
        options=TokenClassificationOptions,
        task="bertcli.tasks.token_classification.task:TokenClassificationTask",
        predictor="bertcli.predict.token_classification:TokenClassificationPredictor",
        writes=("BertForTokenClassification",),
        reads=("ForTokenClassification",),
    ),
    TaskSpec(
        name="pretrain",
        command=("pretrain",),
        help="""Pre-train BERT: masked LM (15% of tokens: 80% [MASK], 10% random, 10% unchanged) and next-sentence
prediction (50% true next, 50% random) on raw text.

From scratch on a model made by `bertcli init-model`, or continuing any BERT checkpoint. --objective mlm drops
NSP (full-length segments); --objective electra trains a small generator beside the model, which learns to spot
the generator's replacements at every position (ELECTRA). --masking whole-word or span (SpanBERT) masks whole
words or spans of them.

\b
Examples:
  bertcli init-model runs/mini --size mini --corpus corpus.txt --vocab-size 8000
  bertcli pretrain --model runs/mini --train-file corpus.txt --output-dir runs/mini-pretrained
  bertcli pretrain --model runs/mini --train-file reviews.csv --clean-html --objective electra \\
      --output-dir runs/mini-electra""",
        panel="Pre-training",
        data=PretrainingData,
        options=PretrainingOptions,
        task="bertcli.tasks.pretraining.objective:pretraining_task",
        predictor="bertcli.predict.fill_mask:FillMaskPredictor",
        predict_options=RankedOptions,
        writes=("BertForPreTraining", "BertForMaskedLM", "BertForReplacedTokenDetection"),
        reads=("ForPreTraining", "ForMaskedLM", "ForReplacedTokenDetection"),
    ),
    TaskSpec(
        name="distill-cls",
        command=("distill", "cls"),
        help="""Distill a fine-tuned classifier into a smaller one (DistilBERT, TinyBERT).

The student is the teacher with some of its layers (every other one by default), a new model of a named size, or
a model directory (--student); it learns from the teacher's soft predictions at --temperature (weight --alpha), the
labels (1 - alpha), and the teacher's hidden states, attention maps and embeddings (their weights). Data, flags,
evaluation and output are those of `finetune cls`: the output is a standard classifier.

\b
Examples:
  bertcli distill cls --teacher runs/sst2 --recipe sst2 --output-dir runs/sst2-3layers
  bertcli distill cls --teacher runs/sst2 --student-size tinybert --train-file train.csv --validation-file dev.csv \\
      --attention-weight 1 --output-dir runs/sst2-tiny""",
        panel="Distillation",
        data=ClassificationData,
        options=ClassificationDistillationOptions,
        task="bertcli.tasks.distillation.task:ClassificationDistillationTask",
        predictor="bertcli.predict.classification:ClassificationPredictor",
        predict_options=RankedOptions,
        writes=("BertForSequenceClassification",),
        reads=(),
        recipes_of="cls",
        model_flag=(
            ("--teacher", "--model", "-m"),
            "The teacher: a fine-tuned classifier directory (bertcli's or any "
            "Hugging Face BERT). [required, unless --config names it]",
        ),
    ),
    TaskSpec(
        name="distill-squad",
        command=("distill", "squad"),
        help="""Distill a fine-tuned question-answering model into a smaller one.

As `distill cls`, with the data, flags, evaluation and output of `finetune squad`; the soft targets are the
teacher's start and end distributions.

\b
Example:
  bertcli distill squad --teacher runs/squad --train-file train.json --validation-file dev.json \\
      --output-dir runs/qa3""",
        panel="Distillation",
        data=QuestionAnsweringData,
        options=QuestionAnsweringDistillationOptions,
        task="bertcli.tasks.distillation.task:QuestionAnsweringDistillationTask",
        predictor="bertcli.predict.question_answering:QuestionAnsweringPredictor",
        predict_options=QuestionAnsweringPredictOptions,
        writes=("BertForQuestionAnswering",),
        reads=(),
        recipes_of="squad",
        model_flag=(
            ("--teacher", "--model", "-m"),
            "The teacher: a fine-tuned question-answering model directory. [required, unless --config names it]",
        ),
    ),
    TaskSpec(
        name="distill-general",
        command=("distill", "general"),
        help="""Distill a BERT on raw text, before any task: TinyBERT's general distillation (hidden states, attention
maps, embeddings; the teacher needs no MLM head), or with --mlm-weight DistilBERT's triple loss.

The student (a bare encoder, or with its MLM head) is a --model for `finetune` and a --student for `distill cls`.

\b
Examples:
  bertcli distill general --teacher sentence-transformers/all-MiniLM-L6-v2 --student-size tinybert \\
      --train-file corpus.txt --attention-weight 1 --output-dir runs/tiny-general
  bertcli distill cls --teacher runs/sst2 --student runs/tiny-general --recipe sst2 --output-dir runs/sst2-tiny""",
        panel="Distillation",
        data=PretrainingData,
        options=GeneralDistillationOptions,
        task="bertcli.tasks.distillation.task:GeneralDistillationTask",
        predictor="bertcli.predict.fill_mask:FillMaskPredictor",
        predict_options=RankedOptions,
        writes=("BertModel", "BertForMaskedLM"),
        reads=(),
        recipes_of="pretrain",
        model_flag=(
            ("--teacher", "--model", "-m"),
            "The teacher: any BERT model directory or hub name. [required, unless --config names it]",
        ),
    ),
)


def get(name: str) -> TaskSpec:
    for spec in TASKS:
        if spec.name == name:
            return spec
    raise BertcliError(f"unknown task '{name}': bertcli's tasks are {', '.join(s.name for s in TASKS)}")


def model_config(model_dir: str) -> dict:
    config_file = Path(model_dir) / "config.json"
    if not config_file.is_file():
        raise BertcliError(f"{model_dir} is not a model directory (no config.json): pass an output dir of bertcli")
    return json.loads(config_file.read_text())


def for_model(model_dir: str) -> TaskSpec:
    """The task whose models look like the one in `model_dir` (by its config's architectures)."""
    architectures = model_config(model_dir).get("architectures") or []
    for architecture in architectures:
        for spec in TASKS:
            if architecture.endswith(spec.reads):
                return spec
    known = ", ".join(suffix[3:] for spec in TASKS for suffix in spec.reads)
    raise BertcliError(
        f"{model_dir} holds a {', '.join(architectures) or 'model of no stated architecture'}: "
        f"bertcli evaluates and predicts with models for {known}"
    )
