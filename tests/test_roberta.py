"""The paper's setting on a RoBERTa-family model: a byte-level BPE vocabulary (label words carry their leading space,
`Ġgreat`), a pretrained `lm_head`, position ids that start after the padding index, and the `paper` preset.

The paper's model (roberta-large) cannot be downloaded here, so a tiny random RoBERTa is built offline with the
same tokenizer and head classes: it checks the code path, not accuracy.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.conftest import WORDS, toy_rows, unlabeled_rows
from list_core.__main__ import main
from list_core.runs import RunDir

TEMPLATE = "{text} It was {mask}."


@pytest.fixture(scope="session")
def roberta_dir(tmp_path_factory):
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForMaskedLM, RobertaTokenizer

    path = tmp_path_factory.mktemp("models") / "tiny-roberta"
    path.mkdir()
    corpus = [" ".join(WORDS)] * 5 + [f"{r['text']} It was great." for r in toy_rows(10)] + \
        [f"{r['text']} It was terrible." for r in toy_rows(10, seed=1)]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus, vocab_size=400, min_frequency=1,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    bpe.save_model(str(path))
    vocab = json.loads((path / "vocab.json").read_text())
    merges = [tuple(line.split()) for line in (path / "merges.txt").read_text().splitlines()[1:] if line.strip()]
    tok = RobertaTokenizer(vocab=vocab, merges=merges)  # transformers 5: in-memory vocab and merges together
    torch.manual_seed(0)
    cfg = RobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=66, pad_token_id=tok.pad_token_id,
                        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    RobertaForMaskedLM(cfg).save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


def test_label_words_and_the_mask_take_the_space_before_them(roberta_dir):
    """`It was great.`: BPE puts the space inside `Ġgreat`, so the label word is the spaced token and the template's
    space before the mask goes with it (LM-BFF's and LiST's `*mask*` after `It was`)."""
    from transformers import AutoTokenizer

    from list_core.prompts import PromptEncoder, Verbalizer

    tok = AutoTokenizer.from_pretrained(str(roberta_dir))
    verbalizer = Verbalizer({"neg": "terrible", "pos": "great"}, tok)
    assert tok.convert_ids_to_tokens(verbalizer.token_ids) == ["Ġterrible", "Ġgreat"]
    encoded = PromptEncoder(TEMPLATE, tok, 64).encode({"text": "good film"})
    tokens = tok.convert_ids_to_tokens(encoded.input_ids)
    assert tokens[0] == "<s>" and tokens[-1] == "</s>"
    assert tokens[encoded.mask_position] == "<mask>"
    assert tokens[encoded.mask_position - 1] == "Ġwas" and tokens[encoded.mask_position + 1] == "."
    assert "Ġ" not in tokens  # no bare space token left before the mask


def test_a_pretrained_lm_head_is_read_at_the_mask_with_its_own_rows(roberta_dir):
    """A model with a trained MLM head gets the paper's reading: the mask position, the head's own transform, and
    the label words' rows of its decoder as the class rows."""
    import torch

    from list_core.config import ListConfig
    from list_core.modeling import AdapterLinear, ListModel, load_backbone

    backbone = load_backbone(str(roberta_dir))
    mlm, tok, head_pretrained = backbone
    assert head_pretrained
    ids = tok.convert_tokens_to_ids(["Ġterrible", "Ġgreat"])
    decoder_rows = mlm.get_output_embeddings().weight[ids].detach().clone()
    dense = mlm.lm_head.dense.weight.detach().clone()
    model = ListModel(ListConfig.from_preset("paper", template=TEMPLATE, model=str(roberta_dir), device="cpu",
                                             verbalizer={"neg": "terrible", "pos": "great"}), ids, backbone)
    assert model.pooling == "mask" and model.head_init_used_ == "pretrained"
    assert torch.equal(model.head.rows.detach(), decoder_rows)
    assert torch.equal(model.head.dense.weight.detach(), dense)
    assert sum(isinstance(m, AdapterLinear) for m in model.encoder.modules()) == 2 * 2  # two per layer


def test_the_paper_preset_trains_predicts_and_reloads_on_roberta(tmp_path, roberta_dir):
    labeled, unlabeled = tmp_path / "labeled.csv", tmp_path / "unlabeled.csv"
    pd.DataFrame(toy_rows(6)).drop_duplicates("text").to_csv(labeled, index=False)
    pd.DataFrame(unlabeled_rows(10)).to_csv(unlabeled, index=False)
    out = tmp_path / "run"
    short = ["teacher_epochs=2", "unlabeled_per_iteration=16", "student_steps=4", "student_finetune_epochs=1",
             "eval_batch_size=8"]
    args = ["train", "--labeled", str(labeled), "--unlabeled", str(unlabeled), "--template", TEMPLATE,
            "--verbalizer", "neg=terrible,pos=great", "--model", str(roberta_dir), "--preset", "paper",
            "--iterations", "2", "--device", "cpu", "--seed", "0", "--out", str(out), "--quiet"]
    for item in short:
        args += ["--set", item]
    assert main(args) == 0
    run = RunDir(out)
    status = run.status()
    assert status["state"] == "done", status
    info = status["info"]
    assert (info["pooling"], info["head_init"], info["row_init"]) == ("mask", "pretrained", "label_words")
    spec = json.loads(run.config_path.read_text())["config"]
    assert spec["student_init"] == "fresh" and spec["teachers"] == 1 and spec["preset"] == "paper"
    assert run.finished_iterations() == [0, 1, 2]
    assert all(m["mean_weight"] is not None for m in run.metrics() if m["iteration"] > 0)

    predictions = tmp_path / "predictions.csv"
    assert main(["predict", "--run", str(out), "--input", str(unlabeled), "--output", str(predictions),
                 "--device", "cpu"]) == 0
    table = pd.read_csv(predictions)
    assert len(table) == len(unlabeled_rows(10)) and set(table["prediction"]) <= {"neg", "pos"}


def test_a_max_length_over_the_position_table_is_cut_to_what_the_model_reads(tmp_path, roberta_dir):
    """max_position_embeddings 66 leaves RoBERTa 64 positions (ids start after padding_idx 1): max_length 200 used
    to fail inside the model ('index 66 is out of bounds') on the first long text; prompts are now cut to 64."""
    from list_core.classifier import ListClassifier

    long_text = " ".join(["great movie and good film"] * 40)
    clf = ListClassifier(TEMPLATE, {"neg": "terrible", "pos": "great"}, model=str(roberta_dir), preset="paper",
                         teacher_epochs=1, iterations=0, max_length=200, device="cpu", eval_batch_size=8)
    texts = [long_text, "bad film", "great movie", "awful acting"] * 2
    clf.fit((texts, ["pos", "neg", "pos", "neg"] * 2))
    assert clf.predict([long_text])[0] in {"neg", "pos"}
    assert clf.trainer_.max_length_ == 64


def test_max_tokens_reads_the_position_table_and_the_tokenizer(roberta_dir):
    from transformers import AutoTokenizer

    from tests.conftest import make_backbone
    from list_core.modeling import load_backbone, max_tokens

    bert, bert_tok, _ = make_backbone()
    assert max_tokens(bert, bert_tok) == 128  # absolute positions from 0; the tokenizer names no limit
    roberta, tok, _ = load_backbone(str(roberta_dir))
    assert max_tokens(roberta, tok) == 64
    named = AutoTokenizer.from_pretrained(str(roberta_dir), model_max_length=32)
    assert max_tokens(roberta, named) == 32


def test_the_prompt_pages_preview_and_zero_shot_check_cut_as_a_run_does(roberta_dir, tmp_path, monkeypatch):
    """The Prompt page previews, and zero-shot checks, at the next run's max_length: past the model's position table
    the check failed inside the model as training did, and the preview showed tokens no run reads."""
    from transformers import AutoTokenizer

    from list_core import workspace as W

    named = tmp_path / "named"  # the same model, its tokenizer naming its limit as hub tokenizers do (512)
    named.mkdir()
    for f in roberta_dir.iterdir():
        (named / f.name).write_bytes(f.read_bytes())
    AutoTokenizer.from_pretrained(str(roberta_dir), model_max_length=32).save_pretrained(str(named))
    monkeypatch.setenv("LIST_STUDIO_MODEL_ROOTS", f"{roberta_dir.parent}:{tmp_path}")
    long_text = " ".join(["great movie and good film"] * 40)
    words = {"neg": "terrible", "pos": "great"}
    frame, _, _ = W.zero_shot_check(TEMPLATE, words, [{"text": long_text, "label": "pos"}], str(roberta_dir), 200)
    assert len(frame) == 1
    previews, warnings = W.preview_prompts(TEMPLATE, [{"text": long_text}], words, str(named), 200)
    assert previews[0]["tokens"] == 32 and previews[0]["truncated"]
    assert any("reads at most 32 tokens" in w for w in warnings)
