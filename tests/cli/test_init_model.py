"""`bertcli init-model`: a loadable BERT of the size asked for, with a WordPiece vocabulary of the corpus (every
Chinese character of it a token), cased or not, the same files from the same corpus every run, and its position
table and initial scale as asked."""

import torch

from tests import synthetic
from tests.helpers import assert_one_line_error, run_bertcli, run_cli


def test_init_model_writes_a_loadable_bert_of_the_size(tmp_path, sentiment_data):
    from transformers import AutoModel, AutoTokenizer

    out = tmp_path / "mini"
    result = run_cli("init-model", out, "--size", "mini", "--corpus", sentiment_data["corpus"], "--vocab-size", 300)
    assert result.code == 0, result.stderr
    model, tokenizer = AutoModel.from_pretrained(out), AutoTokenizer.from_pretrained(out)
    config = model.config
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (4, 256, 4)
    assert config.intermediate_size == 1024 and config.architectures == ["BertForPreTraining"]
    assert config.vocab_size == len(tokenizer) <= 300
    assert tokenizer("the film was great")["input_ids"][0] == tokenizer.cls_token_id
    assert tokenizer.tokenize("The FILM") == ["the", "film"]  # --lowercase is the default


def test_init_model_twice_on_one_corpus_writes_the_same_files(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(synthetic.corpus(300, seed=1))
    for run in ("a", "b"):  # two processes, as two users' runs are
        result = run_bertcli("init-model", tmp_path / run, "--size", "tiny", "--corpus", corpus, "--vocab-size", 300)
        assert result.code == 0, result.stderr
    for name in ("tokenizer.json", "model.safetensors", "config.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_init_model_cased_keeps_case(tmp_path, sentiment_data):
    from transformers import AutoTokenizer

    corpus = tmp_path / "cased.txt"
    corpus.write_text("The Film was Great\n" * 50)
    result = run_cli("init-model", tmp_path / "m", "--size", "tiny", "--corpus", corpus, "--cased", "--vocab-size", 200)
    assert result.code == 0, result.stderr
    assert "Film" in AutoTokenizer.from_pretrained(tmp_path / "m").tokenize("The Film")


def test_init_model_sinusoidal_positions_depend_only_on_the_offset(tmp_path, sentiment_data):
    from transformers import AutoModel

    def positions(*flags):
        out = tmp_path / "-".join(["m", *flags])
        result = run_cli("init-model", out, "--size", "tiny", "--corpus", sentiment_data["corpus"], *flags)
        assert result.code == 0, result.stderr
        return AutoModel.from_pretrained(out).embeddings.position_embeddings.weight.detach()

    table, random_table = positions("--position-init", "sinusoidal"), positions()
    assert table.shape == random_table.shape == (512, 128)
    assert abs(table.std().item() - 0.02) < 1e-4  # BERT's initializer range, as the random table's
    similarity = table @ table.T  # the same for every pair at the same distance: "k words back" is one direction
    for offset in (1, 5):
        along = torch.diagonal(similarity, offset)
        assert torch.allclose(along, along[0].expand_as(along), atol=1e-6)
        assert not torch.allclose(torch.diagonal(random_table @ random_table.T, offset), along, atol=1e-6)


def test_init_model_initializer_range_sets_the_scale_of_every_weight(tmp_path, sentiment_data):
    from transformers import AutoModel

    out = tmp_path / "wide"
    flags = ("init-model", out, "--size", "tiny", "--corpus", sentiment_data["corpus"], "--vocab-size", 200)
    assert run_cli(*flags, "--initializer-range", "0.1").code == 0
    model = AutoModel.from_pretrained(out)
    assert model.config.initializer_range == 0.1  # kept, so a head added later starts at the same scale
    for weight in (model.embeddings.word_embeddings.weight, model.encoder.layer[1].intermediate.dense.weight):
        assert abs(weight.std().item() - 0.1) < 0.01, weight.std()
    bad = run_bertcli("init-model", tmp_path / "bad", "--corpus", sentiment_data["corpus"], "--initializer-range", "0")
    assert_one_line_error(bad, "--initializer-range must be in (0, 1]", "0.02")
    assert not (tmp_path / "bad").exists()


def test_every_chinese_character_of_the_corpus_is_a_token_of_its_own(tmp_path):
    """1,500 distinct ideographs, each seen once, beside English: none becomes [UNK] (the WordPiece trainer's
    default alphabet holds 1,000 characters), and English is still cut into WordPiece pieces."""
    from transformers import AutoTokenizer

    rare = "".join(chr(0x4E00 + 7 * k) for k in range(1500))
    english = "the unbelievable pretraining of transformers runs unbelievably well . " * 50
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(rare[i : i + 30] + " " + english for i in range(0, len(rare), 30)) + "\n")
    result = run_cli("init-model", tmp_path / "m", "--size", "tiny", "--corpus", corpus, "--vocab-size", 2500)
    assert result.code == 0, result.stderr
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "m")
    assert tokenizer.tokenize(rare) == list(rare)
    assert tokenizer.tokenize("中") == ["[UNK]"]  # 0x4E2D: not in the corpus
    assert any(p.startswith("##") for p in tokenizer.tokenize("pretrainings unbelievable"))
