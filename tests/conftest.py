"""Shared fixtures: a tiny random BERT masked LM built from a config (no download), with a real-word vocabulary."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = ("great terrible good bad movie film food service it was is this that the a an and very not really "
         "love hate awful excellent boring fun plot acting phone battery works broke yes no maybe . , ! ? ' "
         "[ ] : topic sport news").split()


def make_tokenizer():
    from transformers import BertTokenizer

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(dict.fromkeys(WORDS)) + ["##s", "##ing", "##ed",
                                                                                          "##ly", "##er"]
    # transformers 5.x: vocab_file= silently yields a tiny vocabulary; pass the mapping itself.
    return BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True)


def make_backbone(seed: int = 0):
    import torch
    from transformers import BertConfig, BertForMaskedLM

    tok = make_tokenizer()
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(tok.get_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    return BertForMaskedLM(cfg), tok, True


@pytest.fixture
def tokenizer():
    return make_tokenizer()


@pytest.fixture
def backbone():
    return make_backbone()


def toy_rows(n_per_class: int = 6, seed: int = 0):
    import random

    rng = random.Random(seed)
    pos = ["great movie", "good film", "love the plot", "excellent acting", "fun and great", "really good food",
           "very good service", "love it", "great phone", "battery works great"]
    neg = ["terrible movie", "bad film", "hate the plot", "awful acting", "boring and bad", "really bad food",
           "very bad service", "hate it", "awful phone", "battery broke"]
    rows = [{"text": rng.choice(pos), "label": "pos"} for _ in range(n_per_class)]
    rows += [{"text": rng.choice(neg), "label": "neg"} for _ in range(n_per_class)]
    return rows


# The tiny model's tests run on the CPU; `LIST_TEST_DEVICE=cuda python -m pytest tests/test_trainer.py ...` runs
# them through the GPU path (bf16 autocast) on a machine that has one: the same code, one switch.
TEST_DEVICE = os.environ.get("LIST_TEST_DEVICE", "cpu")


def tiny_config(**overrides):
    from list_core.config import ListConfig

    values = dict(template="{text} it was {mask} .", verbalizer={"neg": "terrible", "pos": "great"},
                  teacher_epochs=2, labeled_batch_size=4, labeled_lr=1e-3, iterations=1, unlabeled_per_iteration=16,
                  student_steps=4, unlabeled_batch_size=4, student_lr=1e-3, warmup_fraction=0.5, meta_batch_size=4,
                  student_finetune_epochs=1, max_length=32, eval_batch_size=8, adapter_dim=4, seed=0, device=TEST_DEVICE)
    values.update(overrides)
    return ListConfig(**values)


def unlabeled_rows(n_per_class: int = 8, seed: int = 1):
    """Unlabeled rows (text only) drawn like `toy_rows`, each text unique (the trainer leaves out of the pool any
    text that is also labeled)."""
    return [{"text": f"{r['text']} {i}"} for i, r in enumerate(toy_rows(n_per_class, seed=seed))]


@pytest.fixture(scope="session")
def saved_model_dir(tmp_path_factory):
    """The tiny BERT masked LM and its tokenizer saved with save_pretrained, for paths that load a model by name."""
    model, tok, _ = make_backbone()
    path = tmp_path_factory.mktemp("models") / "tiny-bert"
    model.save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return path


@pytest.fixture
def tiny_model(saved_model_dir):
    """The saved tiny BERT, alone in its parent folder (a model root for the app's allow-list)."""
    return saved_model_dir


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A scratch LIST_STUDIO_HOME; model roots limited to tmp_path/models; the default run limit."""
    monkeypatch.setenv("LIST_STUDIO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LIST_STUDIO_MODEL_ROOTS", str(tmp_path / "models"))
    monkeypatch.delenv("LIST_STUDIO_MAX_RUNS", raising=False)
    return tmp_path / "home"


def comparable(history):
    """Metric rows without their wall-clock seconds, for run-to-run comparison."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def same(a, b):
    """Equality of nested metric rows where NaN equals NaN."""
    import math

    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b
