"""Chinese pre-training: whole-word masking over jieba's words (a Chinese word is several character tokens; masking
one character of 北京 lets the model read the answer off the other). The vocabulary that keeps every character of a
corpus: tests/cli/test_init_model.py."""

import json
import random

import pytest
import torch

from bertcli.config import resolve
from bertcli.tasks import registry
from bertcli.tasks.pretraining.task import PretrainingTask
from tests.helpers import assert_one_line_error, metrics, run_bertcli, run_cli, training_args

WORDS = ["中国", "北京", "上海", "人民", "银行", "发布", "报告", "我们", "今天", "天气", "非常", "经济", "发展", "学生"]
WORDS += ["老师", "学校", "公司", "市场", "政府", "问题", "工作", "时间", "社会", "研究", "技术", "电影", "朋友"]
GLUE = ["的", "了", "在", "是", "和", "很", "也", "都"]


def chinese_sentences(n: int, seed: int) -> list[str]:
    """Sentences of common two-character words (jieba's dictionary has them all) joined by one-character words."""
    rng = random.Random(seed)
    return [
        "".join(rng.choice(WORDS) + rng.choice(GLUE) for _ in range(rng.randint(3, 8)))[:-1] + "。" for _ in range(n)
    ]


@pytest.fixture(scope="module")
def chinese_corpus(tmp_path_factory):
    """Documents of four sentences (blank lines between), and a tiny BERT with a vocabulary trained on them."""
    root = tmp_path_factory.mktemp("chinese")
    sentences = chinese_sentences(800, seed=0)
    corpus = root / "corpus.txt"
    corpus.write_text("".join("".join(sentences[i : i + 4]) + "\n\n" for i in range(0, len(sentences), 4)))
    result = run_cli("init-model", root / "tiny", "--size", "tiny", "--corpus", corpus, "--vocab-size", 200)
    assert result.code == 0, result.stderr
    return corpus, root / "tiny"


def segmented_instances(corpus, model, **options):
    from transformers import AutoTokenizer

    flags = {
        "model": str(model),
        "output_dir": "unused",
        "data": {"train_file": str(corpus), "validation_split_percentage": 10.0},
        "train": {"max_seq_length": 48, "seed": 3},
        "options": {"whole_word_masking": True, "word_segmenter": "jieba", **options},
    }
    cfg = resolve(registry.get("pretrain"), None, None, flags, check_output=False)
    tokenizer = AutoTokenizer.from_pretrained(model)
    config = json.loads((model / "config.json").read_text())
    task = PretrainingTask(cfg, tokenizer, config)
    return task, tokenizer, task.load_data(training=True).train


def test_jieba_words_are_masked_whole(chinese_corpus):
    import jieba

    corpus, model = chinese_corpus
    task, tokenizer, train = segmented_instances(corpus, model)
    features = [train[i] for i in range(len(train))]
    assert len(features) > 50 and all(len(f["word_continues"]) == len(f["input_ids"]) for f in features)
    known = set(jieba.lcut("".join(chinese_sentences(800, seed=0))))
    multi = 0
    for f in features:  # the words the flags mark are jieba's words, characters decoded back
        words, word = [], ""
        for token, continues in zip(tokenizer.convert_ids_to_tokens(f["input_ids"]), f["word_continues"]):
            if not continues and word:
                words.append(word)
                word = ""
            word += token
        words.append(word)
        inner = words[1:-1]  # a pair's first and last words may be cut by truncation
        assert {w for w in inner if len(w) > 1 and "[" not in w} <= known
        multi += sum(len(w) == 2 for w in inner)
    assert multi > 500
    chosen_tokens = total = 0
    for start in range(0, len(features), 32):
        batch = task.collate([dict(f) for f in features[start : start + 32]])
        rows = features[start : start + 32]
        continues = torch.nn.utils.rnn.pad_sequence([torch.tensor(f["word_continues"]) for f in rows], True).bool()
        ids = torch.nn.utils.rnn.pad_sequence([torch.tensor(f["input_ids"]) for f in rows], True)
        # a token continuing the word before it (not a word's rest at the start of a segment)
        inside = continues[:, 1:] & ~torch.isin(ids[:, :-1], torch.tensor(tokenizer.all_special_ids))
        chosen = batch["labels"] != -100
        assert "word_continues" not in batch  # the model never sees it
        assert (chosen[:, 1:][inside] == chosen[:, :-1][inside]).all()  # never half a word
        chosen_tokens += chosen.sum().item()
        total += (batch["attention_mask"].sum() - 2 * len(chosen)).item()
    assert 0.1 < chosen_tokens / total < 0.2


def test_without_a_segmenter_chinese_characters_are_masked_one_by_one(chinese_corpus):
    corpus, model = chinese_corpus
    task, _, train = segmented_instances(corpus, model, word_segmenter=None)
    assert "word_continues" not in train.column_names


def test_pretraining_with_jieba_whole_word_masking_learns(chinese_corpus, tmp_path):
    corpus, model = chinese_corpus

    def pretrain(out, *extra):
        masking = {"nsp": False, "whole_word_masking": True, "word_segmenter": "jieba"}
        args = training_args("pretrain", model, out, corpus, None, *extra, **masking, max_seq_length=48, batch_size=16)
        result = run_cli(*args)
        assert result.code == 0, result.stderr
        return metrics(out)

    untrained = pretrain(tmp_path / "untrained", "--max-steps", "1", "--lr", "1e-9")
    trained = pretrain(tmp_path / "trained", "--max-steps", "120", "--lr", "1e-3")
    assert trained["perplexity"] < 0.5 * untrained["perplexity"], (untrained, trained)
    assert "word_segmenter: jieba" in (tmp_path / "trained" / "run.yaml").read_text()


def test_a_segmenter_without_whole_word_masking_is_refused(chinese_corpus, tmp_path):
    corpus, model = chinese_corpus
    out = tmp_path / "out"
    result = run_bertcli("pretrain", "-m", model, "-o", out, "--train-file", corpus, "--word-segmenter", "jieba")
    assert_one_line_error(result, "--masking whole-word")
    assert not out.exists()
