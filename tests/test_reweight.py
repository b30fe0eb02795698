"""Learning-to-reweight weights against hand-computed cases and against the literal virtual-step algorithm."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.conftest import make_backbone, make_tokenizer, tiny_config
from list_core.modeling import ListModel, collate
from list_core.prompts import PromptEncoder, Verbalizer
from list_core.reweight import kl_per_example, l2rw_weights, l2rw_weights_virtual_step, normalise


def linear_problem(W, x_unl, q, x_meta, y_meta):
    x_unl, q = torch.tensor(x_unl, dtype=torch.float64), torch.tensor(q, dtype=torch.float64)
    x_meta, y_meta = torch.tensor(x_meta, dtype=torch.float64), torch.tensor(y_meta)
    params = {"W": torch.tensor(W, dtype=torch.float64)}
    unl = lambda p: kl_per_example(q, x_unl @ p["W"])  # noqa: E731
    meta = lambda p: F.cross_entropy(x_meta @ p["W"], y_meta)  # noqa: E731
    return unl, meta, params


def test_two_examples_by_hand_one_agrees_one_disagrees():
    # W = 0: every prediction is uniform, p = (0.5, 0.5).
    # meta example x_m = (1, 0), class 0: grad_W CE = x_m (p - e0)^T = x_m (-0.5, 0.5)^T
    # example 1: x = (1, 0), q = (0.9, 0.1): grad_W KL = x (p - q)^T = x (-0.4, 0.4)^T
    #   alignment = (x_m . x) * ((-0.5)(-0.4) + (0.5)(0.4)) = 1 * 0.4 = 0.4 > 0
    # example 2: x = (1, 0), q = (0.2, 0.8): p - q = (0.3, -0.3); alignment = -0.3 < 0 -> weight exactly 0
    unl, meta, params = linear_problem([[0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]],
                                       [[0.9, 0.1], [0.2, 0.8]], [[1.0, 0.0]], [0])
    w = l2rw_weights(unl, meta, params)
    assert w.tolist() == [1.0, 0.0]
    assert w[1].item() == 0.0
    torch.testing.assert_close(l2rw_weights_virtual_step(unl, meta, params), w)


def test_two_examples_by_hand_both_agree():
    # example 1 as above: alignment 0.4.
    # example 2: x = (2, 1), q = (0.6, 0.4): p - q = (-0.1, 0.1); x_m . x = 2;
    #   alignment = 2 * ((-0.5)(-0.1) + (0.5)(0.1)) = 0.2.  Weights = (0.4, 0.2) / 0.6 = (2/3, 1/3).
    unl, meta, params = linear_problem([[0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [2.0, 1.0]],
                                       [[0.9, 0.1], [0.6, 0.4]], [[1.0, 0.0]], [0])
    w = l2rw_weights(unl, meta, params)
    np.testing.assert_allclose(w.numpy(), [2 / 3, 1 / 3], rtol=1e-9)
    np.testing.assert_allclose(l2rw_weights_virtual_step(unl, meta, params).numpy(), [2 / 3, 1 / 3], rtol=1e-6)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_general_linear_case_matches_explicit_formula(seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(3, 2))
    x_unl, x_meta = rng.normal(size=(2, 3)), rng.normal(size=(1, 3))
    q = softmax(rng.normal(size=(2, 2)) * 2)
    y = [int(rng.integers(2))]
    # grad_W l_i = x_i (p_i - q_i)^T ; grad_W L_meta = x_m (p_m - e_y)^T ; <A, B>_F = (x_m.x_i)((p_m - e_y).(p_i - q_i))
    p_unl, p_meta = softmax(x_unl @ W), softmax(x_meta @ W)
    r_meta = p_meta[0] - np.eye(2)[y[0]]
    align = np.array([(x_meta[0] @ x_unl[i]) * (r_meta @ (p_unl[i] - q[i])) for i in range(2)])
    clipped = np.maximum(align, 0)
    expected = clipped / clipped.sum() if clipped.sum() > 0 else np.zeros(2)
    unl, meta, params = linear_problem(W, x_unl, q, x_meta, y)
    np.testing.assert_allclose(l2rw_weights(unl, meta, params).numpy(), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(l2rw_weights_virtual_step(unl, meta, params).numpy(), expected, atol=1e-6)


def test_all_disagreeing_gives_all_zero():
    # Both pseudo-labels point away from the meta label: both alignments negative.
    unl, meta, params = linear_problem([[0.0, 0.0], [0.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]],
                                       [[0.2, 0.8], [0.1, 0.9]], [[1.0, 0.0]], [0])
    assert l2rw_weights(unl, meta, params).tolist() == [0.0, 0.0]
    assert l2rw_weights_virtual_step(unl, meta, params).tolist() == [0.0, 0.0]


def test_weights_do_not_touch_parameter_grads():
    unl, meta, params = linear_problem([[0.3, -0.2], [0.1, 0.4]], [[1.0, 0.0], [0.5, 1.0]],
                                       [[0.9, 0.1], [0.6, 0.4]], [[1.0, 0.5]], [0])
    params["W"].requires_grad_(True)
    l2rw_weights(unl, meta, params)
    assert params["W"].grad is None


def test_normalise():
    assert normalise(torch.tensor([-1.0, -2.0, 0.0])).tolist() == [0.0, 0.0, 0.0]
    torch.testing.assert_close(normalise(torch.tensor([1.0, -1.0, 3.0])), torch.tensor([0.25, 0.0, 0.75]))
    w = normalise(torch.tensor([0.5, 2.0, 1.5]))
    assert math.isclose(w.sum().item(), 1.0, rel_tol=1e-6) and (w >= 0).all()


def test_kl_per_example_matches_manual():
    q = torch.tensor([[0.7, 0.3, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.0, 0.0, 1.0]])
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 0.0, 0.0], [1.0, -2.0, 3.0]])
    p = torch.softmax(logits, -1)
    manual = [sum(qi * math.log(qi / pi) for qi, pi in zip(qr.tolist(), pr.tolist()) if qi > 0)
              for qr, pr in zip(q, p)]
    torch.testing.assert_close(kl_per_example(q, logits), torch.tensor(manual), atol=1e-6, rtol=1e-5)
    assert abs(kl_per_example(q[1:2], logits[1:2]).item()) < 1e-7  # identical distributions
    assert torch.isfinite(kl_per_example(q, logits)).all()  # 0 * log 0 = 0


def test_fast_weights_equal_literal_virtual_step_on_tiny_bert():
    tok = make_tokenizer()
    verbalizer = Verbalizer({"neg": "terrible", "pos": "great"}, tok)
    model = ListModel(tiny_config(), verbalizer.token_ids, make_backbone()).eval()
    enc = PromptEncoder("{text} it was {mask} .", tok, 32)
    unl_batch = collate([enc.encode({"text": t}) for t in ["great movie", "bad film", "love the plot",
                                                           "boring and bad", "fun and great", "hate it"]], 0)
    meta_batch = collate([enc.encode({"text": t}) for t in ["good film", "awful acting", "excellent acting"]], 0)
    meta_y = torch.tensor([1, 0, 1])
    gen = torch.Generator().manual_seed(0)
    nonzero_cases = 0
    for _ in range(4):
        q = torch.softmax(torch.randn(6, 2, generator=gen) * 2, -1)
        unl = lambda p: kl_per_example(q, model.logits(unl_batch, p))  # noqa: E731
        meta = lambda p: F.cross_entropy(model.logits(meta_batch, p), meta_y)  # noqa: E731
        with model.eager_attention():
            fast = l2rw_weights(unl, meta, model.trainable_state())
            literal = l2rw_weights_virtual_step(unl, meta, model.trainable_state())
        torch.testing.assert_close(fast, literal, atol=2e-4, rtol=1e-3)
        assert (fast >= 0).all()
        if fast.sum() > 0:
            nonzero_cases += 1
            assert math.isclose(fast.sum().item(), 1.0, rel_tol=1e-5)
            assert (fast == 0).any() or fast.std() > 0  # not all equal
    assert nonzero_cases >= 2
    assert all(p.grad is None for p in model.trainable_state().values())


def _probe_setup(tuning: str = "adapter"):
    """Tiny BERT with dropout off, so train-mode and eval-mode passes are the same function."""
    from transformers import BertConfig, BertForMaskedLM

    from list_core.trainer import ListTrainer

    tok = make_tokenizer()
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok.get_vocab()), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0)
    # On the CPU whatever LIST_TEST_DEVICE says: these compare two ways of computing the same numbers at fp32
    # tolerances, which bf16 autocast on a GPU does not keep.
    trainer = ListTrainer(tiny_config(tuning=tuning, device="cpu"), backbone=(BertForMaskedLM(cfg), tok, True))
    trainer.setup(["text"])
    unl = trainer.prepare([{"text": t} for t in ["great movie", "bad film", "love the plot", "boring and bad",
                                                  "fun and great", "hate it"]], labeled=False)
    meta = trainer.prepare([{"text": "good film", "label": "pos"}, {"text": "awful acting", "label": "neg"},
                            {"text": "excellent acting", "label": "pos"}], labeled=True)
    return trainer, trainer._collate(unl.encoded), trainer._collate(meta.encoded), torch.tensor(meta.labels)


@pytest.mark.parametrize("tuning", ["adapter", "head"])
def test_probe_directional_derivatives_equal_forward_mode_ad(tuning):
    from list_core.reweight import jvp_directional, meta_gradient

    trainer, unl_batch, meta_batch, meta_y = _probe_setup(tuning)
    model = trainer.model_.eval()
    assert model.supports_probe()
    q = torch.softmax(torch.randn(6, 2, generator=torch.Generator().manual_seed(1)) * 2, -1)
    direction = meta_gradient(lambda p: F.cross_entropy(model.logits(meta_batch, p), meta_y),
                              model.trainable_state())
    probe = model.directional_derivatives(unl_batch, lambda lg: kl_per_example(q, lg), direction)
    with model.eager_attention():
        exact = jvp_directional(lambda p: kl_per_example(q, model.logits(unl_batch, p)), model.trainable_state(),
                                direction)
    torch.testing.assert_close(probe, exact, atol=1e-5, rtol=1e-4)
    assert probe.abs().max() > 0
    assert all(m.probe is None for m in model.modules() if hasattr(m, "probe"))  # probes removed afterwards


def test_fused_reweighted_loss_matches_literal_algorithm_and_loss():
    trainer, unl_batch, meta_batch, meta_y = _probe_setup()
    model = trainer.model_
    gen = torch.Generator().manual_seed(2)
    for _ in range(3):
        q = torch.softmax(torch.randn(6, 2, generator=gen) * 2, -1)
        loss, w = trainer.reweighted_loss(unl_batch, q, meta_batch, meta_y)
        assert model.training  # left ready for the update
        model.eval()
        with model.eager_attention():
            literal = l2rw_weights_virtual_step(lambda p: kl_per_example(q, model.logits(unl_batch, p)),
                                                lambda p: F.cross_entropy(model.logits(meta_batch, p), meta_y),
                                                model.trainable_state())
        torch.testing.assert_close(w, literal, atol=2e-4, rtol=1e-3)
        expected = (w * kl_per_example(q, model.logits(unl_batch))).sum()
        torch.testing.assert_close(loss.detach(), expected.detach(), atol=1e-6, rtol=1e-5)
        # the probe leaves parameter gradients as those of the weighted loss
        params = list(model.trainable_state().values())
        got = torch.autograd.grad(loss, params, allow_unused=True)
        want = torch.autograd.grad(expected, params, allow_unused=True)
        for a, b in zip(got, want):
            if a is None or b is None:
                assert a is None and b is None or (a if a is not None else b).abs().max() == 0
            else:
                torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-4)


def test_probe_not_offered_for_full_tuning():
    trainer, *_ = _probe_setup("full")
    assert not trainer.model_.supports_probe()


def test_probe_method_refused_for_full_tuning():
    from list_core.config import ConfigError
    from list_core.trainer import ListTrainer

    with pytest.raises(ConfigError, match="probe"):
        ListTrainer(tiny_config(tuning="full", reweight_method="probe"), backbone=make_backbone()).setup(["text"])
