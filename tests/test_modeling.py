"""The prompted model: near-identity adapters, what trains in each tuning mode, the shared encoder, saved weights."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from tests.conftest import make_backbone, make_tokenizer, tiny_config
from list_core.modeling import AdapterLinear, ListModel, ModelLoadError, collate, load_backbone
from list_core.prompts import PromptEncoder, Verbalizer

TOK = make_tokenizer()
TEXTS = ["great movie", "terrible film", "love the plot", "boring and bad", "battery works great"]


def label_ids():
    return Verbalizer({"neg": "terrible", "pos": "great"}, TOK).token_ids


def build(**overrides) -> ListModel:
    return ListModel(tiny_config(**overrides), label_ids(), make_backbone())


def batch(texts=TEXTS, max_length=32):
    enc = PromptEncoder("{text} it was {mask} .", TOK, max_length)
    return collate([enc.encode({"text": t}) for t in texts], TOK.pad_token_id)


def test_adapters_start_near_identity_of_the_pretrained_mlm():
    b = batch()
    mlm, _, _ = make_backbone()
    mlm.eval()
    with torch.no_grad():
        reference = mlm(input_ids=b.input_ids, attention_mask=b.attention_mask).logits
        reference = reference[torch.arange(len(b)), b.mask_positions][:, label_ids()]
    model = build(adapter_init_std=0.02).eval()
    with torch.no_grad():
        with_adapters = model.logits(b)
        for m in model.modules():
            if isinstance(m, AdapterLinear):
                m.up.zero_()
        zeroed = model.logits(b)
    # Adapters zeroed: exactly the pretrained masked LM restricted to the label words.
    torch.testing.assert_close(zeroed, reference, atol=1e-5, rtol=1e-5)
    # Adapters as initialised: close to it, but they do act.
    diff = (with_adapters - zeroed).abs().max().item()
    assert 0 < diff < 0.05 * reference.abs().max().item() + 1e-3


def test_adapter_placement_two_per_layer():
    model = build()
    names = [n for n, m in model.named_modules() if isinstance(m, AdapterLinear)]
    assert len(names) == 2 * 2  # two layers
    assert all(n.endswith(("attention.output.dense", ".output.dense")) for n in names)
    assert not any("intermediate" in n or "attention.self" in n for n in names)
    a = model.get_submodule(names[0])
    assert tuple(a.down.shape) == (4, 32) and tuple(a.up.shape) == (32, 4)


def trainable_names(model):
    return set(model.trainable_state())


def test_adapter_mode_trains_only_adapters_and_head():
    model = build()
    names = trainable_names(model)
    assert names, "nothing trains"
    assert all(n.startswith("head.") or n.endswith((".down", ".up")) for n in names), names
    assert {"head.rows", "head.bias", "head.dense.weight", "head.dense.bias", "head.norm.weight",
            "head.norm.bias"} <= names
    for n, p in model.named_parameters():
        if "LayerNorm" in n or "word_embeddings" in n or n.endswith(".base.weight"):
            assert not p.requires_grad, n
    hidden, d, layers, classes = 32, 4, 2, 2
    expected = 2 * layers * 2 * d * hidden + classes * hidden + classes + hidden * hidden + hidden + 2 * hidden
    counts = model.parameter_counts()
    assert counts["trainable"] == expected
    assert counts["trainable"] < 0.1 * counts["total"]
    assert counts["total"] == counts["trainable"] + counts["backbone"]


def test_default_adapter_dim_scales_with_hidden_size():
    model = build(adapter_dim=0)
    assert model.adapter_dim == max(8, 32 // 8)


def test_head_mode_trains_only_the_head():
    names = trainable_names(build(tuning="head"))
    assert names and all(n.startswith("head.") for n in names)
    assert not any(isinstance(m, AdapterLinear) for m in build(tuning="head").modules())


def test_full_mode_trains_encoder_but_not_word_embeddings():
    model = build(tuning="full")
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {n for n in frozen if "word_embeddings" in n} and frozen
    assert any("LayerNorm" in n for n in trainable_names(model))


def test_classic_mode_has_a_classifier_and_trains_everything():
    model = build(tuning="classic").eval()
    assert all(p.requires_grad for p in model.parameters())
    assert set(n for n in trainable_names(model) if n.startswith("head.")) == {"head.linear.weight",
                                                                               "head.linear.bias"}
    logits = model.logits(batch())
    assert logits.shape == (len(TEXTS), 2)


@pytest.mark.skipif(importlib.util.find_spec("peft") is None, reason="peft not installed")
def test_lora_mode_trains_only_lora_and_head():
    model = build(tuning="lora", lora_r=2)
    names = trainable_names(model)
    assert any("lora_" in n for n in names)
    assert all(n.startswith("head.") or "lora_" in n for n in names), names
    assert model.logits(batch()).shape == (len(TEXTS), 2)


def test_teacher_snapshot_through_functional_call_shares_one_encoder():
    model = build().eval()
    b = batch()
    n_params = sum(p.numel() for p in model.parameters())
    teacher = model.snapshot()
    assert set(teacher) == trainable_names(model)
    with torch.no_grad():
        teacher_logits = model.logits(b)
        for p in model.trainable_state().values():
            p.add_(torch.randn_like(p) * 0.5)
        live = model.logits(b)
        via_teacher = model.logits(b, teacher)
    assert not torch.allclose(live, teacher_logits, atol=1e-4)
    torch.testing.assert_close(via_teacher, teacher_logits, atol=1e-6, rtol=1e-6)
    # functional_call leaves the live parameters in place, and no second encoder was created.
    torch.testing.assert_close(model.logits(b), live)
    assert sum(p.numel() for p in model.parameters()) == n_params
    assert all(not torch.equal(model.trainable_state()[k], teacher[k]) for k in teacher)


def test_reset_trainable_returns_to_the_seeded_initial_state():
    model = build()
    start = model.snapshot()
    with torch.no_grad():
        for p in model.trainable_state().values():
            p.add_(1.0)
    model.reset_trainable()
    for k, v in model.trainable_state().items():
        assert torch.equal(v, start[k])
    other = build()  # same seed -> same adapters
    for k, v in other.trainable_state().items():
        assert torch.equal(v, start[k])
    different = build(seed=1)
    assert any(not torch.equal(v, start[k]) for k, v in different.trainable_state().items() if k.endswith(".down"))


def test_load_trainable_refuses_incomplete_state():
    model = build()
    state = model.snapshot()
    state.pop("head.rows")
    with pytest.raises(ValueError, match="head.rows"):
        model.load_trainable(state)


def test_save_and_read_trainable_round_trip(tmp_path):
    from safetensors import safe_open

    model = build()
    with torch.no_grad():
        for p in model.trainable_state().values():
            p.add_(torch.randn_like(p))
    path = tmp_path / "adapters.safetensors"
    model.save_trainable(path, metadata={"iteration": 3})
    state = ListModel.read_trainable(path)
    assert set(state) == trainable_names(model)
    for k, v in model.trainable_state().items():
        assert torch.equal(state[k], v.detach())
    assert not any("word_embeddings" in k or "attention.self" in k or k.endswith(".base.weight") for k in state)
    with safe_open(str(path), "pt") as fh:
        meta = fh.metadata()
    assert meta["format"] == "list-studio-adapters-v1" and meta["tuning"] == "adapter"
    assert '"iteration": 3' in meta["metadata"]
    assert [p.name for p in tmp_path.iterdir()] == ["adapters.safetensors"]  # no temp leftovers
    # Loading into a fresh model reproduces the outputs.
    fresh = build().eval()
    fresh.load_trainable(state)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(fresh.logits(batch()), model.logits(batch()))


def test_model_load_error_for_missing_local_path(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_backbone(str(tmp_path / "no_such_model"))


def test_model_load_error_for_directory_without_a_model(tmp_path, monkeypatch):
    """A local folder gets local advice: it said 'the hub is off: pass a local path' for a path that was local."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="could not load") as err:
        load_backbone(str(tmp_path))
    assert "The hub is off" not in str(err.value) and "config.json" in str(err.value) and ":." not in str(err.value)


def test_model_load_error_names_the_type_of_a_local_model_that_is_not_a_masked_lm(tmp_path, monkeypatch):
    """A local GPT-2 said 'Unrecognized configuration class ... AutoModelForMaskedLM.. The hub is off'."""
    from transformers import GPT2Config, GPT2LMHeadModel

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=100, bos_token_id=0, eos_token_id=0)
                    ).save_pretrained(tmp_path / "gpt2")
    with pytest.raises(ModelLoadError, match="it is a 'gpt2' model, which has no masked-LM form") as err:
        load_backbone(str(tmp_path / "gpt2"))
    assert "The hub is off" not in str(err.value)


def test_load_backbone_from_saved_directory(saved_model_dir):
    model, tok, head_pretrained = load_backbone(str(saved_model_dir))
    assert head_pretrained is True
    assert tok.mask_token_id == TOK.mask_token_id
    assert model.config.hidden_size == 32


def test_collate_pads_and_keeps_mask_positions():
    b = batch(["great", "great movie very very good film"])
    assert b.input_ids.shape[0] == 2
    assert b.attention_mask[0].sum() < b.attention_mask[1].sum()
    assert (b.input_ids[torch.arange(2), b.mask_positions] == TOK.mask_token_id).all()
    assert (b.input_ids[0][b.attention_mask[0] == 0] == TOK.pad_token_id).all()
