"""Label spreading of pseudo-labels (`list_core.propagation`) and its use in the trainer."""

from __future__ import annotations

import pytest
import torch

from list_core.propagation import knn_graph, spread_labels
from tests.conftest import tiny_config


def clusters(n_per: int = 20, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two tight, far-apart clusters in 8 dimensions: rows [0, n_per) are class 0, the rest class 1."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.zeros(2, 8)
    centres[0, 0], centres[1, 1] = 5.0, 5.0
    x = torch.cat([centres[c] + 0.3 * torch.randn(n_per, 8, generator=g) for c in (0, 1)])
    return x, torch.arange(2).repeat_interleave(n_per)


def test_knn_graph_is_symmetric_without_self_loops_and_the_same_in_chunks():
    x, _ = clusters()
    w = knn_graph(x, k=4).to_dense()
    assert torch.equal(w, w.t())
    assert torch.all(w.diagonal() == 0) and torch.all(w >= 0)
    assert ((w > 0).sum(1) >= 4).all()  # each row keeps its own k neighbours (and gains those that chose it)
    torch.testing.assert_close(knn_graph(x, k=4, chunk=7).to_dense(), w)


def test_spreading_corrects_teacher_mistakes_that_the_graph_contradicts():
    x, y = clusters()
    teacher = torch.nn.functional.one_hot(y, 2).float() * 0.8 + 0.1
    wrong = torch.tensor([3, 25, 31])
    teacher[wrong] = teacher[wrong].flip(1)  # confidently wrong on three texts
    labeled = torch.tensor([0, 1, 20, 21])
    pool = torch.tensor([i for i in range(40) if i not in labeled.tolist()])
    out = spread_labels(x[pool], teacher[pool], x[labeled], y[labeled], k=5, alpha=0.9)
    assert out.shape == (len(pool), 2)
    torch.testing.assert_close(out.sum(1), torch.ones(len(pool)))
    assert (teacher[pool].argmax(1) != y[pool]).sum() == 3
    assert torch.equal(out.argmax(1), y[pool])  # all three corrected, none broken
    # alpha near 0 keeps the teacher's labels: spreading is what changed them
    assert torch.equal(spread_labels(x[pool], teacher[pool], x[labeled], y[labeled], k=5, alpha=0.01).argmax(1),
                       teacher[pool].argmax(1))


def test_uniform_prior_labels_from_the_labeled_examples_and_keeps_the_teacher_where_none_reach():
    x, y = clusters()
    teacher = torch.full((40, 2), 0.5)
    teacher[:, 0] += torch.linspace(-0.1, 0.1, 40)  # arbitrary, recognisable teacher rows
    teacher[:, 1] = 1 - teacher[:, 0]
    labeled = torch.tensor([0])  # class 0's cluster only: nothing labeled reaches the other cluster
    pool = torch.arange(1, 40)
    out = spread_labels(x[pool], teacher[pool], x[labeled], y[labeled], k=3, alpha=0.9, prior="uniform")
    first, second = pool < 20, pool >= 20
    assert (out[first].argmax(1) == 0).all()
    torch.testing.assert_close(out[second], teacher[pool][second])


def test_bad_prior_is_refused():
    x, y = clusters(4)
    with pytest.raises(ValueError, match="prior"):
        spread_labels(x[2:], torch.full((6, 2), 0.5), x[:2], y[:2], prior="labels")


@pytest.mark.parametrize("bad", [dict(propagation=1.0), dict(propagation=-0.5), dict(propagation_k=0),
                                 dict(propagation_prior="labels")])
def test_propagation_settings_are_validated(bad):
    from list_core.config import ConfigError

    with pytest.raises(ConfigError, match=next(iter(bad))):
        tiny_config(**bad)


def test_trainer_spreads_over_the_training_labels_only_and_stays_deterministic(monkeypatch):
    import list_core.trainer as trainer_module
    from tests.test_trainer import fit

    seen = []
    original = trainer_module.spread_labels

    def spy(pool_states, probs, labeled_states, labeled_y, **kw):
        seen.append((len(pool_states), len(labeled_states), kw))
        return original(pool_states, probs, labeled_states, labeled_y, **kw)

    monkeypatch.setattr(trainer_module, "spread_labels", spy)
    plain, _ = fit(iterations=1)
    spread, events = fit(iterations=1, propagation=0.9, propagation_k=3)
    assert len(seen) == 1
    n_pool, n_labeled, kw = seen[0]
    assert n_pool == 16 and n_labeled == spread.info_["n_train"]  # the held-out rows are never spread from
    assert kw == {"k": 3, "alpha": 0.9, "prior": "teacher"}
    row = spread.history_[1]
    assert 0.0 <= row["propagation_changed"] <= 1.0 and "propagation_changed" not in plain.history_[1]
    records = [e for e in events if e["type"] == "examples"][0]["records"]
    again, events_again = fit(iterations=1, propagation=0.9, propagation_k=3)
    assert records["confidence"].tolist() == [e for e in events_again if e["type"] == "examples"][0][
        "records"]["confidence"].tolist()
    for k, v in spread.model_.trainable_state().items():
        assert torch.equal(v, again.model_.trainable_state()[k]), k
