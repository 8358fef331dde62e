"""The command line: help, version, init-model, and bad input (exit 2, one line, no traceback)."""

import pytest
import torch

from tests.conftest import assert_one_line_error, run_bertcli, run_cli


def test_version_and_help_of_every_command():
    assert run_cli("--version").stdout.startswith("bertcli ")
    for command in (["finetune", "cls"], ["init-model"], ["recipes", "list"], ["recipes", "show"]):
        result = run_cli(*command, "--help")
        assert result.code == 0, result.stderr
    help_text = run_cli("finetune", "cls", "--help").stdout
    for flag in (
        "--epochs",
        "--max-steps",
        "--batch-size",
        "--grad-accum",
        "--lr",
        "--weight-decay",
        "--warmup-ratio",
        "--max-seq-length",
        "--seed",
        "--mixed-precision",
        "--eval-steps",
        "--save-steps",
        "--save-total-limit",
        "--resume-from-checkpoint",
        "--max-train-samples",
        "--max-eval-samples",
        "--report-to",
        "--config",
        "--overwrite-output-dir",
        "--text-column",
        "--text-pair-column",
        "--label-column",
    ):
        assert flag in help_text, flag
    flat = " ".join(help_text.split())
    assert "learning rate (AdamW). [default: 5e-05]" in flat and "per forward pass. [default: 32]" in flat


def test_python_dash_m_runs_the_same_cli():
    result = run_bertcli("--version")
    assert result.code == 0 and result.stdout.startswith("bertcli ")


def test_recipes_list_and_show():
    listing = run_cli("recipes", "list").stdout
    assert "sst2" in listing and "stsb" in listing
    shown = run_cli("recipes", "show", "stsb").stdout
    assert "problem_type: regression" in shown


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
    from tests import synthetic

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


@pytest.fixture
def train_args(tiny_model, sentiment_data, tmp_path):
    return [
        "finetune",
        "cls",
        "--model",
        tiny_model,
        "--output-dir",
        tmp_path / "out",
        "--train-file",
        sentiment_data["train"],
        "--validation-file",
        sentiment_data["validation"],
        "--text-column",
        "sentence",
    ]


@pytest.mark.parametrize(
    "extra, fragments",
    [
        (["--lr", "-1"], ["--lr must be positive"]),
        (["--batch-size", "0"], ["--batch-size must be at least 1"]),
        (["--max-seq-length", "1024"], ["--max-seq-length 1024", "512 positions"]),
        (["--recipe", "nope"], ["unknown recipe 'nope'", "sst2"]),
        (["--text-column", "body"], ["column 'body' (--text-column) not found", "sentence, label"]),
        (["--label-column", "stars"], ["column 'stars' (--label-column)"]),
        (["--mixed-precision", "fp8"], ["fp8"]),
        (["--no-such-flag"], ["No such option", "--help"]),
        (["--metric-for-best", "bleu"], ["--metric-for-best bleu is not computed"]),
        (["--resume-from-checkpoint", "/nowhere/step-3"], ["checkpoint not found"]),
        (["--report-to", "no-such-tracker"], ["no-such-tracker", "--report-to"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(train_args, tmp_path, extra, fragments):
    result = run_bertcli(*train_args, *extra)
    assert_one_line_error(result, *fragments)
    assert not (tmp_path / "out").exists()  # nothing was written


def test_missing_data_file(train_args, tmp_path):
    args = [str(a) for a in train_args]
    args[args.index("--train-file") + 1] = str(tmp_path / "missing.csv")
    assert_one_line_error(run_bertcli(*args), "--train-file not found", "missing.csv")


def test_unreadable_file_type(train_args, tmp_path):
    odd = tmp_path / "train.xlsx"
    odd.write_text("nope")
    args = [str(a) for a in train_args]
    args[args.index("--train-file") + 1] = str(odd)
    assert_one_line_error(run_bertcli(*args), "unknown file type '.xlsx'")


def test_model_that_does_not_exist(train_args, tmp_path):
    args = [str(a) for a in train_args]
    args[args.index("--model") + 1] = str(tmp_path / "no-model")
    line = assert_one_line_error(run_bertcli(*args), "cannot load model", "no-model': no such directory")
    assert "Hub" not in line  # an absolute path is never a hub name, so the hub's repo-id rule is no help


def test_fp16_needs_a_gpu(train_args):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert_one_line_error(run_bertcli(*train_args, "--mixed-precision", "fp16"), "fp16")


def test_debug_shows_the_traceback(train_args):
    with pytest.raises(Exception, match="--lr must be positive"):
        run_cli(*train_args, "--lr", "-1", "--debug")


def test_real_process_exit_status_and_stderr(tmp_path):
    result = run_bertcli("finetune", "cls", "--recipe", "nope", "--model", "x", "--output-dir", tmp_path / "o")
    assert assert_one_line_error(result).startswith("bertcli: error: unknown recipe 'nope'")
