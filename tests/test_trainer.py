"""The self-training loop on the tiny BERT: events, metrics, determinism, ablations, input errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.conftest import comparable, make_backbone, same, tiny_config, toy_rows, unlabeled_rows
from list_core.trainer import ListTrainer, classification_metrics

ITERATION_KEYS = {"iteration", "accuracy", "macro_f1", "mean_weight", "seconds", "eval_source", "train_loss",
                  "pseudo_label_distribution", "mean_confidence", "zero_weight_share", "teacher_student_agreement"}


def fit(config=None, labeled=None, unlabeled=None, eval_set=None, **overrides):
    events: list[dict] = []
    trainer = ListTrainer(config or tiny_config(**overrides), callbacks=[events.append], backbone=make_backbone())
    trainer.fit(toy_rows(6) if labeled is None else labeled, unlabeled_rows() if unlabeled is None else unlabeled,
                eval_set)
    return trainer, events



def test_fit_end_to_end_events_and_metrics():
    trainer, events = fit(iterations=2)
    types = [e["type"] for e in events]
    for kind in ("info", "stage", "progress", "iteration", "examples", "done"):
        assert kind in types, kind
    assert types[-1] == "done"
    stages = [(e["stage"], e["iteration"]) for e in events if e["type"] == "stage"]
    assert stages[:2] == [("encode", 0), ("teacher", 0)]
    for it in (1, 2):
        assert [s for s, i in stages if i == it] == ["pseudo-label", "student", "finetune", "evaluate"]
    progress_stages = {e["stage"] for e in events if e["type"] == "progress"}
    assert {"teacher", "pseudo-label", "warmup", "reweight", "finetune", "evaluate"} <= progress_stages
    for e in events:
        if e["type"] == "progress":
            assert 0 < e["step"] <= e["total"]

    its = [e for e in events if e["type"] == "iteration"]
    assert [e["iteration"] for e in its] == [0, 1, 2]
    assert [row["iteration"] for row in trainer.history_] == [0, 1, 2]
    assert {"iteration", "accuracy", "macro_f1", "seconds", "mean_weight", "eval_source"} <= set(its[0]["metrics"])
    for e in its[1:]:
        assert ITERATION_KEYS <= set(e["metrics"]), ITERATION_KEYS - set(e["metrics"])
        assert set(e["state"]) == set(trainer.model_.trainable_state())
        m = e["metrics"]
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["mean_confidence"] <= 1
        assert math.isclose(sum(m["pseudo_label_distribution"].values()), 1.0)
        assert m["eval_source"].startswith("held-out")  # no eval set: said plainly

    examples = [e for e in events if e["type"] == "examples"]
    assert [e["iteration"] for e in examples] == [1, 2]
    rec = examples[0]["records"]
    n = len(rec["text"])
    assert n == 16  # unlabeled_per_iteration
    for key in ("id", "text", "pseudo_label", "confidence", "weight", "iteration"):
        assert key in rec
    assert set(rec["pseudo_label"]) <= {"neg", "pos"}
    conf = np.asarray(rec["confidence"])
    assert ((conf >= 0.5) & (conf <= 1)).all()
    w = np.asarray(rec["weight"])
    seen = np.asarray(rec["reweighted_steps"])
    assert np.isnan(w[seen == 0]).all() and not np.isnan(w[seen > 0]).any() and (w[seen > 0] >= 0).all()
    assert (seen > 0).any()


def test_eval_set_is_used_when_given():
    eval_set = [{**r, "text": f"{r['text']} {i}"} for i, r in enumerate(toy_rows(3, seed=5))]  # none labeled
    trainer, _ = fit(iterations=1, eval_set=eval_set)
    assert trainer.history_[0]["eval_source"] == "eval set"
    assert trainer.info_["n_eval"] == 6 and trainer.info_["n_train"] == 12


def test_same_seed_is_deterministic():
    a, ea = fit(iterations=1)
    b, eb = fit(iterations=1)
    assert same(comparable(a.history_), comparable(b.history_))
    for k, v in a.model_.trainable_state().items():
        assert torch.equal(v, b.model_.trainable_state()[k]), k
    ra = [e for e in ea if e["type"] == "examples"][0]["records"]
    rb = [e for e in eb if e["type"] == "examples"][0]["records"]
    np.testing.assert_array_equal(ra["weight"], rb["weight"])
    np.testing.assert_array_equal(ra["confidence"], rb["confidence"])


def test_different_seed_differs():
    a, _ = fit(iterations=1, seed=0)
    b, _ = fit(iterations=1, seed=1)
    assert any(not torch.equal(v, b.model_.trainable_state()[k]) for k, v in a.model_.trainable_state().items())


def test_no_reweighting_ablation():
    trainer, events = fit(reweight=False)
    rec = [e for e in events if e["type"] == "examples"][0]["records"]
    assert np.isnan(np.asarray(rec["weight"])).all()
    assert (np.asarray(rec["reweighted_steps"]) == 0).all()
    assert not any(e["type"] == "progress" and e["stage"] == "reweight" for e in events)
    row = trainer.history_[1]
    assert row["reweighted_steps"] == 0 and row["warmup_steps"] == 4
    assert row["mean_weight"] is None or math.isnan(row["mean_weight"])


def test_hard_labels_change_training():
    soft, _ = fit(hard_labels=False)
    hard, _ = fit(hard_labels=True)
    assert comparable(hard.history_)[1]["iteration"] == 1
    assert any(not torch.equal(v, hard.model_.trainable_state()[k]) for k, v in soft.model_.trainable_state().items())


def test_no_self_training():
    trainer, events = fit(iterations=0)
    assert [r["iteration"] for r in trainer.history_] == [0]
    assert not any(e["type"] == "examples" for e in events)
    assert not any(e["type"] == "stage" and e["stage"] == "student" for e in events)


def test_no_unlabeled_data_skips_self_training():
    trainer, events = fit(iterations=2, unlabeled=[])
    assert [r["iteration"] for r in trainer.history_] == [0]
    assert any(e["type"] == "log" and "self-training skipped" in e["message"] for e in events)



def teacher_steps(events) -> int:
    return max(e["total"] for e in events if e["type"] == "progress" and e["stage"] == "teacher")


@pytest.mark.parametrize("epochs, min_steps, max_steps, expected", [
    (2, 0, 0, 6),     # 12 labels / batch 4 = 3 steps an epoch, 2 epochs
    (2, 10, 0, 10),   # the floor lifts a handful of labels to enough updates
    (5, 10, 0, 15),   # epochs above the floor are kept
    (2, 10, 8, 8),    # the cap wins over the floor
])
def test_teacher_steps_floor_and_cap(epochs, min_steps, max_steps, expected):
    _, events = fit(iterations=0, teacher_epochs=epochs, teacher_min_steps=min_steps, teacher_max_steps=max_steps)
    assert teacher_steps(events) == expected


def test_teacher_floor_needs_epochs():
    # teacher_epochs = 0 means no teacher tuning at all, floor or not (prototype rows only).
    _, events = fit(iterations=0, teacher_epochs=0, teacher_min_steps=10)
    assert not any(e["type"] == "progress" and e["stage"] == "teacher" for e in events)


def test_finetune_stage_only_when_it_runs():
    _, events = fit(student_finetune_epochs=0)
    stages = [e["stage"] for e in events if e["type"] == "stage" and e["iteration"] == 1]
    assert stages == ["pseudo-label", "student", "evaluate"]

@pytest.mark.parametrize("student_init", ["fresh", "teacher"])
def test_student_init(student_init):
    # No student steps and no fine-tuning: the student after iteration 1 is exactly its starting point.
    trainer, events = fit(student_init=student_init, student_steps=0, student_finetune_epochs=0)
    states = {e["iteration"]: e["state"] for e in events if e["type"] == "iteration"}
    start = states[0] if student_init == "teacher" else trainer.model_.initial_state_
    changed_by_teacher = any(not torch.equal(states[0][k], trainer.model_.initial_state_[k]) for k in states[0])
    assert changed_by_teacher
    for k, v in states[1].items():
        assert torch.equal(v, start[k]), k


def test_prototype_rows():
    trainer, _ = fit(row_init="prototypes", iterations=0, teacher_epochs=0)
    rows = trainer.model_.head.rows.detach().cpu()
    label_rows = make_backbone()[0].get_output_embeddings().weight[trainer.verbalizer_.token_ids].detach()
    assert not torch.allclose(rows, label_rows)
    torch.testing.assert_close(rows.norm(dim=-1), label_rows.norm(dim=-1).mean().expand(2), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("tuning", ["head", "full", "classic"])
def test_other_tuning_modes_run(tuning):
    trainer, _ = fit(tuning=tuning)
    assert [r["iteration"] for r in trainer.history_] == [0, 1]
    assert all(0 <= r["accuracy"] <= 1 for r in trainer.history_)


def test_missing_class_in_labeled_is_a_clear_error():
    only_pos = [r for r in toy_rows(6) if r["label"] == "pos"]
    with pytest.raises(ValueError, match=r"no labeled example for class\(es\) \['neg'\]"):
        fit(labeled=only_pos)


def test_unknown_label_is_a_clear_error():
    rows = toy_rows(4) + [{"text": "great movie", "label": "neutral"}]
    with pytest.raises(ValueError, match="'neutral'.*not one of the verbalizer's labels"):
        fit(labeled=rows)


def test_missing_template_column_is_a_clear_error():
    from list_core.prompts import PromptError

    with pytest.raises(PromptError, match="{review}"):
        fit(template="{review} it was {mask} .")


def test_stop_flag_cancels():
    from list_core.runs import Cancelled

    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 3

    trainer = ListTrainer(tiny_config(), stop=stop, backbone=make_backbone())
    with pytest.raises(Cancelled):
        trainer.fit(toy_rows(6), unlabeled_rows())


def test_classification_metrics():
    m = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], 2)
    assert m["accuracy"] == 0.75
    assert math.isclose(m["macro_f1"], (2 / 3 + 0.8) / 2)
    assert classification_metrics([0, 1], [0, 0], 2)["macro_f1"] == pytest.approx(1 / 3)


def test_unlabeled_texts_that_are_already_labeled_are_not_pseudo_labeled():
    from list_core.trainer import ListTrainer

    labeled = toy_rows(4)
    pool = [{"text": r["text"], "id": 100 + i} for i, r in enumerate(labeled)] + unlabeled_rows()
    events = []
    trainer = ListTrainer(tiny_config(), callbacks=[events.append], backbone=make_backbone())
    trainer.fit(labeled, pool)
    labeled_texts = {r["text"] for r in labeled}
    records = [e["records"] for e in events if e["type"] == "examples"][0]
    assert not labeled_texts & set(records["text"])
    assert any("already labeled" in e.get("message", "") for e in events if e["type"] == "log")


def test_teacher_ensemble_pseudo_labels_with_the_members_mean_and_keeps_the_most_agreeing_member():
    import torch.nn.functional as F

    eval_set = [{**r, "text": f"{r['text']} {i}"} for i, r in enumerate(toy_rows(3, seed=5))]  # none labeled
    trainer, events = fit(teachers=3, student_steps=0, student_finetune_epochs=0, eval_set=eval_set)
    first = trainer.history_[0]
    assert first["teachers"] == 3 and len(first["teacher_agreement"]) == 3
    assert first["chosen_teacher"] == int(np.argmax(first["teacher_agreement"]))
    assert 0 <= first["ensemble_accuracy"] <= 1
    it0 = next(e for e in events if e["type"] == "iteration" and e["iteration"] == 0)
    from list_core.trainer import _unpack_members

    members = _unpack_members(it0["resume_state"])
    assert len(members) == 3
    # Different seeds give different members, and the kept teacher is the chosen member.
    assert any(not torch.equal(members[0][k], members[1][k]) for k in members[0])
    for k, v in it0["state"].items():
        assert torch.equal(v, members[first["chosen_teacher"]][k]), k
    # The first iteration's pseudo-label confidences are those of the members' mean probabilities.
    records = next(e for e in events if e["type"] == "examples")["records"]
    pool = {r["id"]: r for r in [{"id": i, **row} for i, row in enumerate(unlabeled_rows())]}
    sample = trainer.prepare([pool[i] for i in records["id"]], labeled=False)
    mean = torch.stack([F.softmax(trainer.predict_logits(sample, m), -1) for m in members]).mean(0)
    np.testing.assert_allclose(records["confidence"], mean.max(-1).values.numpy(), rtol=1e-5)
    assert records["pseudo_label"] == [trainer.verbalizer_.labels[c] for c in mean.argmax(-1).tolist()]


def test_single_teacher_is_unchanged_by_the_ensemble_option():
    one, _ = fit(teachers=1)
    assert "teachers" not in one.history_[0]
    again, events = fit()
    assert same(comparable(one.history_), comparable(again.history_))
    assert next(e for e in events if e["type"] == "iteration")["resume_state"] == {}


def test_teacher_min_steps_is_validated_and_in_the_quick_preset_only():
    from list_core.config import ConfigError, ListConfig

    with pytest.raises(ConfigError, match="teacher_min_steps"):
        tiny_config(teacher_min_steps=-1)
    assert ListConfig.from_preset("quick").teacher_min_steps == 120
    assert ListConfig.from_preset("paper").teacher_min_steps == 0  # the authors' schedule is left as published


def test_self_training_without_pool_texts_is_refused_and_the_teacher_alone_is_not():
    """unlabeled_per_iteration = 0 with iterations > 0 ran 'done' self-training iterations that learned from no
    pool text; it is refused, saying what to set. At iterations = 0 it is allowed, and several teachers are no
    longer scored on an empty sample (their agreement was NaN, stored as null)."""
    from list_core.config import ConfigError

    with pytest.raises(ConfigError, match=r"unlabeled_per_iteration = 0 .* set iterations = 0"):
        tiny_config(unlabeled_per_iteration=0)
    trainer, _ = fit(iterations=0, unlabeled_per_iteration=0, teachers=3)
    first = trainer.history_[0]
    assert first["teachers"] == 3 and first["chosen_teacher"] == 0 and "teacher_agreement" not in first
    assert len(trainer.history_) == 1


def test_warmup_steps_counts_the_plain_distillation_steps_of_the_student():
    """One count for the trainer's loop and the run's progress bars: the warm-up's share of the student's steps,
    or all of them when re-weighting is off."""
    assert tiny_config(student_steps=60, warmup_fraction=0.5).warmup_steps == 30
    assert tiny_config(student_steps=7, warmup_fraction=0.6).warmup_steps == 4
    assert tiny_config(student_steps=60, warmup_fraction=0.5, reweight=False).warmup_steps == 60
    assert tiny_config(student_steps=60, warmup_fraction=0.0).warmup_steps == 0


def test_supervised_contrastive_loss_matches_its_definition():
    from list_core.trainer import supervised_contrastive_loss

    z = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0], [-1.0, 0.0]])
    y = torch.tensor([0, 0, 1, 2])  # anchors 0 and 1 have a same-class mate; 2 and 3 have none and are skipped
    t = 0.5
    sim = (torch.nn.functional.normalize(z, dim=-1) @ torch.nn.functional.normalize(z, dim=-1).t()) / t
    expected = []
    for a, p in ((0, 1), (1, 0)):
        others = [j for j in range(4) if j != a]
        expected.append(-(sim[a, p] - torch.logsumexp(sim[a, others], 0)))
    torch.testing.assert_close(supervised_contrastive_loss(z, y, t), torch.stack(expected).mean())
    # Tight classes cost less than the same points with the labels crossed; no positive pair at all costs 0.
    tight = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    assert (supervised_contrastive_loss(tight, torch.tensor([0, 0, 1, 1]), t)
            < supervised_contrastive_loss(tight, torch.tensor([0, 1, 0, 1]), t))
    lone = torch.randn(3, 2, requires_grad=True)
    loss = supervised_contrastive_loss(lone, torch.tensor([0, 1, 2]), t)
    loss.backward()
    assert loss.item() == 0.0 and lone.grad is not None


def test_contrastive_weight_changes_the_teacher_and_zero_leaves_it_alone():
    plain, _ = fit(iterations=0)
    zero, _ = fit(iterations=0, contrastive_weight=0.0, contrastive_temperature=0.1)  # temperature unused at 0
    mixed, _ = fit(iterations=0, contrastive_weight=0.9)
    for k, v in plain.model_.trainable_state().items():
        assert torch.equal(v, zero.model_.trainable_state()[k]), k
    assert any(not torch.equal(v, mixed.model_.trainable_state()[k]) for k, v in plain.model_.trainable_state().items())
    again, _ = fit(iterations=0, contrastive_weight=0.9)  # and it is as deterministic as the rest
    for k, v in mixed.model_.trainable_state().items():
        assert torch.equal(v, again.model_.trainable_state()[k]), k


@pytest.mark.parametrize("bad", [dict(contrastive_weight=1.0), dict(contrastive_weight=-0.1),
                                 dict(contrastive_temperature=0.0)])
def test_contrastive_settings_are_validated(bad):
    from list_core.config import ConfigError

    with pytest.raises(ConfigError, match=next(iter(bad))):
        tiny_config(**bad)


# --- the Python API (list_core.classifier.ListClassifier) ----------------------------------------------------------

def classifier(verbalizer=None, **overrides):
    """A ListClassifier with the tiny config's settings (fit and load take the tiny BERT as `backbone`)."""
    from list_core.classifier import ListClassifier

    values = tiny_config(**overrides).to_dict()
    template, words = values.pop("template"), values.pop("verbalizer")
    del values["model"], values["preset"]
    return ListClassifier(template, verbalizer or words, preset="quick", **values)


def texts_and_labels(n_per_class=6):
    rows = toy_rows(n_per_class)
    return [r["text"] for r in rows], [r["label"] for r in rows]


def test_classifier_predicts_the_labels_it_was_fitted_with(tmp_path):
    """Labels 0/1 (the usual form of a labeled dataset): predict answers 0/1 too, before and after save/load (it
    answered the strings '0'/'1', so `predict(X) == y` was all False and sklearn's metrics refused the mix)."""
    from list_core.classifier import ListClassifier

    texts, labels = texts_and_labels()
    y = np.array([int(label == "pos") for label in labels])
    clf = classifier(verbalizer={0: "terrible", 1: "great"}).fit((texts, y), backbone=make_backbone())
    pred = clf.predict(texts)
    assert clf.classes_.tolist() == [0, 1] and pred.dtype.kind == "i"
    assert (pred == y).mean() == clf.score(texts, y) == clf.score(texts, [str(v) for v in y])
    loaded = ListClassifier.load(clf.save(tmp_path / "m"), backbone=make_backbone())
    assert loaded.classes_.tolist() == [0, 1] and loaded.predict(texts).tolist() == pred.tolist()
    import pandas as pd

    frame = clf.fit(pd.DataFrame({"text": texts, "label": y}), backbone=make_backbone())  # a DataFrame's column too
    assert frame.classes_.tolist() == [0, 1]
    named = classifier().fit((texts, labels), backbone=make_backbone())  # string labels are unchanged
    assert named.classes_.tolist() == ["neg", "pos"] and named.predict(["great movie"]).dtype.kind == "U"


def test_classifier_refuses_rows_without_the_templates_text():
    """A DataFrame whose text column is named otherwise ('review' for {text}), or a NaN text, is an error, not a row
    classified as the bare template or as the word 'nan' (the pool, the eval set and predict did that silently)."""
    import pandas as pd

    texts, labels = texts_and_labels()
    clf = classifier()
    with pytest.raises(ValueError, match=r"row 0 has no column 'text'.*\['review'\]"):
        clf.fit((texts, labels), pd.DataFrame({"review": [r["text"] for r in unlabeled_rows()]}),
                backbone=make_backbone())
    with pytest.raises(ValueError, match="row 0 has no column 'text'"):
        clf.fit((texts, labels), eval_set=pd.DataFrame({"review": ["great film"], "label": ["pos"]}),
                backbone=make_backbone())
    clf.fit((texts, labels), backbone=make_backbone())
    with pytest.raises(ValueError, match="row 0 has no column 'text'"):
        clf.predict(pd.DataFrame({"review": ["great phone"]}))
    with pytest.raises(ValueError, match=r"row 1 has no text in 'text' \(None, NaN\)"):
        clf.predict_proba(pd.DataFrame({"text": ["great phone", np.nan]}))
    assert clf.predict(pd.DataFrame({"text": ["great phone", ""]})).shape == (2,)  # an empty text is a text


def test_classifier_used_before_fit_says_so(tmp_path):
    """predict / predict_proba / score / save before fit: a NotFittedError that says what to do (a ValueError and
    an AttributeError, as scikit-learn's), not "object has no attribute 'classes_'"."""
    clf = classifier()
    for call in (lambda: clf.predict(["great"]), lambda: clf.predict_proba(["great"]),
                 lambda: clf.score(["great"], ["pos"]), lambda: clf.save(tmp_path / "m")):
        with pytest.raises(ValueError, match="not fitted yet: call fit") as caught:
            call()
        assert isinstance(caught.value, AttributeError) and type(caught.value).__name__ == "NotFittedError"
    assert not (tmp_path / "m").exists()


def test_classifier_saved_on_a_gpu_loads_where_there_is_none(tmp_path, monkeypatch):
    """save() writes the device it trained on; a model fitted with device='cuda' loads on a machine without a GPU
    (it failed with "device 'cuda' was asked for but no CUDA GPU is available"), as the exported zip does."""
    import json

    from list_core.classifier import ListClassifier

    clf = classifier().fit(texts_and_labels(), backbone=make_backbone())
    path = clf.save(tmp_path / "m")
    spec = json.loads((path / "config.json").read_text())
    spec["config"]["device"] = "cuda"  # what save() writes after fit(device='cuda')
    (path / "config.json").write_text(json.dumps(spec))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    loaded = ListClassifier.load(path, backbone=make_backbone())
    assert str(loaded.model_.device_) == "cpu"
    np.testing.assert_array_equal(loaded.predict_proba(["great movie"]), clf.predict_proba(["great movie"]))


@pytest.mark.parametrize("preset", ["quick", "custom"])
def test_a_loaded_classifier_refits_with_the_settings_it_was_saved_with(tmp_path, preset):
    """fit() on a loaded model trains as the saved one was trained (it used the preset's defaults, and a run of the
    app's Custom preset could not be refit: "unknown preset 'custom'")."""
    import json

    from list_core.classifier import ListClassifier

    data = texts_and_labels()
    clf = classifier(seed=7).fit(data, backbone=make_backbone())
    path = clf.save(tmp_path / "m")
    spec = json.loads((path / "config.json").read_text())
    spec["config"]["preset"] = preset
    (path / "config.json").write_text(json.dumps(spec))
    loaded = ListClassifier.load(path, backbone=make_backbone())
    loaded.fit(data, backbone=make_backbone())
    assert loaded.config_.to_dict() == {**clf.config_.to_dict(), "preset": preset}
    np.testing.assert_array_equal(loaded.predict_proba(data[0]), clf.predict_proba(data[0]))


def test_a_classifier_saved_with_self_training_on_no_pool_text_still_loads(tmp_path):
    """A model saved before ListConfig refused unlabeled_per_iteration = 0 with iterations > 0 loads (its
    iterations saw no pool text, so it is its teacher): a refit trains the teacher alone instead of failing."""
    import json

    from list_core.classifier import ListClassifier

    clf = classifier().fit(texts_and_labels(), backbone=make_backbone())
    path = clf.save(tmp_path / "m")
    spec = json.loads((path / "config.json").read_text())
    spec["config"]["unlabeled_per_iteration"] = 0
    (path / "config.json").write_text(json.dumps(spec))
    loaded = ListClassifier.load(path, backbone=make_backbone())
    assert loaded.config_.iterations == 0 and loaded.config_.unlabeled_per_iteration == 0
    np.testing.assert_array_equal(loaded.predict_proba(["great movie"]), clf.predict_proba(["great movie"]))


def test_a_damaged_saved_classifier_gives_a_clear_error(tmp_path):
    import shutil

    from list_core.classifier import ListClassifier

    good = classifier().fit(texts_and_labels(), backbone=make_backbone()).save(tmp_path / "good")
    cases = {"config.json": (b'{"config": {"template": "{text', r"config.json is damaged"),
             "model.safetensors": (b"not a safetensors file", r"model.safetensors could not be loaded")}
    for name, (content, message) in cases.items():
        bad = tmp_path / name
        shutil.copytree(good, bad)
        (bad / name).write_bytes(content)
        with pytest.raises(ValueError, match=message):
            ListClassifier.load(bad, backbone=make_backbone())


def test_a_failed_refit_keeps_the_fitted_model_with_its_own_config(tmp_path):
    """A refit that fails or is interrupted leaves the model and the config it was trained with: save() used to
    write the new config next to the old weights, which then could not be loaded."""
    from list_core.classifier import ListClassifier

    data = texts_and_labels()
    clf = classifier().fit(data, backbone=make_backbone())
    before = clf.predict_proba(data[0])
    clf.overrides["adapter_dim"] = 8

    def interrupt(event):
        if event["type"] == "progress":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        clf.fit(data, callbacks=[interrupt], backbone=make_backbone())
    assert clf.config_.adapter_dim == 4
    loaded = ListClassifier.load(clf.save(tmp_path / "m"), backbone=make_backbone())
    np.testing.assert_array_equal(loaded.predict_proba(data[0]), before)


def test_eval_rows_that_are_labeled_examples_are_left_out_of_the_evaluation():
    """fit(labeled, unlabeled, eval_set) measured accuracy on eval rows that were also labeled (trained on) texts, as
    the CLI and the app no longer do; they are left out, with a log line, and with none left the run falls back to
    labeled examples held out of training."""
    labeled = toy_rows(6)
    fresh = [{"text": "battery works 7", "label": "pos"}, {"text": "awful phone 7", "label": "neg"}]
    trainer, events = fit(iterations=0, labeled=labeled, eval_set=fresh + labeled[:3] + labeled[-2:])
    assert trainer.info_["n_eval"] == 2 and trainer.history_[0]["eval_source"] == "eval set"
    logs = [e["message"] for e in events if e["type"] == "log"]
    assert any(m.startswith("5 evaluation rows are labeled examples: left out") for m in logs), logs
    trainer, events = fit(iterations=0, labeled=labeled, eval_set=labeled[:4])
    assert trainer.history_[0]["eval_source"] != "eval set"
    assert any("held out of training instead" in e["message"] for e in events if e["type"] == "log")


@pytest.mark.parametrize("missing", [None, float("nan"), " "])
def test_a_labeled_row_without_a_label_is_refused_by_name(missing):
    """A NaN label (a DataFrame with an empty label cell) was read as the class 'nan': "label 'nan' is not one of
    the verbalizer's labels". The row is named, with what to do."""
    import pandas as pd

    texts, labels = texts_and_labels()
    labels[3] = missing
    with pytest.raises(ValueError, match=r"labeled row 3 has no label .*dropna"):
        classifier().fit((texts, labels), backbone=make_backbone())
    frame = pd.DataFrame({"text": texts, "label": labels})
    with pytest.raises(ValueError, match=r"labeled row 3 has no label"):
        classifier().fit(frame, backbone=make_backbone())
    with pytest.raises(ValueError, match=r"labeled row 3 has no label"):
        classifier().fit((texts[:3] + texts[4:], labels[:3] + labels[4:]), eval_set=frame, backbone=make_backbone())


def test_a_classifier_on_a_model_given_by_a_relative_path_loads_from_another_directory(tmp_path, saved_model_dir,
                                                                                       monkeypatch):
    """ListClassifier(model='./tiny-bert') saved the path as given, so load() from any other directory failed to
    find the body. It is saved as an absolute path."""
    import json
    import os

    from list_core.classifier import ListClassifier

    monkeypatch.chdir(saved_model_dir.parent)
    clf = classifier()
    clf.model = os.path.join(".", saved_model_dir.name)
    clf.fit(texts_and_labels(), backbone=make_backbone())
    path = clf.save(tmp_path / "m")
    assert json.loads((path / "config.json").read_text())["config"]["model"] == str(saved_model_dir)
    monkeypatch.chdir(tmp_path)
    loaded = ListClassifier.load(path)  # the body from the saved path, not a backbone handed in
    np.testing.assert_allclose(loaded.predict_proba(["great movie"]), clf.predict_proba(["great movie"]), atol=1e-6)


def test_a_loaded_classifier_keeps_its_history(tmp_path):
    """history_ (the per-iteration metrics) was lost after save/load; save() writes it beside the model."""
    from list_core.classifier import ListClassifier

    clf = classifier(iterations=1).fit(texts_and_labels(), [r["text"] for r in unlabeled_rows()],
                                       backbone=make_backbone())
    loaded = ListClassifier.load(clf.save(tmp_path / "m"), backbone=make_backbone())
    assert len(clf.history_) == 2
    assert same(loaded.history_, clf.history_)


def test_a_misspelt_classifier_setting_is_refused_at_construction_with_the_near_names():
    """ListClassifier(studnet_steps=3) made a classifier and then failed at fit() with a bare TypeError from the
    config; the command line's --set said 'did you mean student_steps?'. Now the constructor says so."""
    from list_core.classifier import ListClassifier

    with pytest.raises(TypeError, match="unknown setting 'studnet_steps'; did you mean student_steps"):
        ListClassifier("{text} It was {mask}.", {"neg": "bad", "pos": "good"}, studnet_steps=3)
    assert ListClassifier("{text} It was {mask}.", {"neg": "bad", "pos": "good"}, student_steps=3).overrides == {
        "student_steps": 3}


def test_a_pair_with_one_blank_text_is_refused_not_answered_from_the_other(tmp_path):
    """The API answered a pair whose hypothesis was blank from its premise alone; the CLI and the app give such rows
    no prediction. predict now names the row and the blank field, as it does for None and NaN."""
    from list_core.classifier import _as_rows

    fields = ("premise", "hypothesis")
    assert len(_as_rows([{"premise": "a", "hypothesis": "b"}], fields)) == 1
    with pytest.raises(ValueError, match=r"row 1 has no text in 'hypothesis' \(None, NaN, or blank: a pair needs"):
        _as_rows([{"premise": "a", "hypothesis": "b"}, {"premise": "a", "hypothesis": "  "}], fields)
    assert _as_rows(["  "], ("text",))[0]["text"] == "  "  # one blank text of a one-text template stays the user's


def test_loading_a_directory_names_the_file_it_lacks(tmp_path):
    """A directory with config.json but no model.safetensors said 'has no config.json and model.safetensors'."""
    from list_core.classifier import ListClassifier

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError) as err:
        ListClassifier.load(tmp_path)
    assert "has no model.safetensors;" in str(err.value) and "config.json" not in str(err.value).split(";")[0]
